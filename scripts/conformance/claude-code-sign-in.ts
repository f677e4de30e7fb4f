// Claude Code's own OAuth sign-in to the gateway, as a person following the README does it:
// `claude mcp login {name}` (what /mcp → the server → Authenticate runs in a session), in a terminal
// of its own (tmux: the command refuses to run without one). Its browser is a stub that notes the URL
// it is given; the person's side (sign-in, consent) is the tests' scripted browser, which lands on
// Claude Code's loopback callback.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerConsent, browse, formAction, makeLoopbackCertificate, OAuthBrowser, startDocumentServer } from '../../test/support/oauth.ts';
import { runCommand } from './client-checks.ts';
import type { Running } from './processes.ts';

const STEP_TIMEOUT_MS = 60_000;
const DOCUMENT_PATH = '/oauth/claude-code-client-metadata';

export interface ClientMetadataDocument extends Running {
  /** The certificate the document is served with; the gateway trusts it through NODE_EXTRA_CA_CERTS. */
  certFile: string;
}

/**
 * Claude Code's client ID metadata document on a loopback https server: the gateway cannot fetch
 * https://claude.ai/oauth/claude-code-client-metadata here, so Claude Code is pointed at this copy with
 * its own MCP_OAUTH_CLIENT_METADATA_URL. The copy is the published document, its `client_id` being
 * its own URL: no `application_type`, and loopback redirects without a port, which Claude Code
 * calls back on whatever port it listens on (the gateway reads it as a native app's).
 */
export async function startClaudeCodeClientDocument(): Promise<ClientMetadataDocument> {
  const tls = await makeLoopbackCertificate();
  const server = await startDocumentServer(tls);
  const url = `${server.url}${DOCUMENT_PATH}`;
  server.documents.set(DOCUMENT_PATH, {
    client_id: url,
    client_name: 'Claude Code',
    redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
  return {
    url,
    certFile: tls.certFile,
    stop: async () => {
      await server.close();
      await fs.rm(tls.dir, { recursive: true, force: true });
    },
  };
}

/** Polls `read` every 200 ms until it returns a value; throws, naming `what`, after `timeoutMs`. */
export async function waitFor<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

/** What a person reads on a page: its text without markup. */
const readable = (html: string) =>
  html
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * The person's side in the browser: signs in, approves the client on the consent page, and returns
 * where the gateway sends the browser back to; a page that stops them (a refusal) is thrown as read.
 */
async function approveAsPerson(gatewayUrl: string, authorization: URL, person: { email: string; password: string }): Promise<URL> {
  const browser = new OAuthBrowser(gatewayUrl);
  let stop = await browse(browser, authorization.toString(), person);
  if (stop.kind === 'page' && formAction(stop.page.text) !== undefined) {
    const answered = await answerConsent(browser, stop.page, 'approve');
    stop = answered.stop ?? { kind: 'page', page: answered.response, url: '' };
  }
  if (stop.kind === 'page') throw new Error(`the browser stopped on a page of the gateway (${stop.page.status}): ${readable(stop.page.text).slice(0, 300)}`);
  return stop.url;
}

/** A command in a tmux server of its own (socket and state in `home`); its pane stays readable after it exits. */
async function openTerminal(home: string, command: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  const env = { ...options.env };
  delete env['TMUX'];
  const tmux = async (...args: string[]) => {
    const printed = await runCommand('tmux', ['-S', path.join(home, 'tmux.sock'), '-f', '/dev/null', ...args], { env, timeoutMs: 10_000 });
    if (printed.code !== 0) throw new Error(`tmux ${args[0]} exited with ${printed.code}: ${printed.text}`);
    return printed.text;
  };
  await tmux('start-server', ';', 'set-option', '-g', 'remain-on-exit', 'on', ';', 'new-session', '-d', '-x', '200', '-y', '50', '-c', options.cwd, ...command);
  return {
    /** The screen as text, wrapped lines joined. */
    screen: () => tmux('capture-pane', '-p', '-J'),
    /**
     * How the command ended, once it has: its exit status, or the signal that ended it. tmux may
     * mark the pane dead a moment before it records either, and then reads `ended`.
     */
    ending: async () => {
      const [dead, status = '', signal = ''] = (await tmux('display-message', '-p', '#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}')).trim().split(':');
      if (dead !== '1') return undefined;
      return status ? `exit status ${status}` : signal ? `signal ${signal}` : 'ended';
    },
    close: () => tmux('kill-server').then(() => undefined),
  };
}

/**
 * Signs `person` in to the gateway for the Claude Code server `server` with `claude mcp login`, run
 * with `env` (HOME and the like) in `cwd`; BROWSER is set here. Returns the authorization URL Claude
 * Code opened; throws, with Claude Code's screen, at the step that did not happen.
 */
export async function signInWithClaudeCode(options: {
  claude: string;
  server: string;
  home: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  gatewayUrl: string;
  person: { email: string; password: string };
}): Promise<URL> {
  const opened = path.join(options.home, 'browser-opened.txt');
  const browser = path.join(options.home, 'browser.sh');
  await fs.rm(opened, { force: true });
  await fs.writeFile(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${opened}'\n`, { mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...options.env, BROWSER: browser };
  // No desktop session: Claude Code's opener falls back to BROWSER, never to a real browser.
  for (const name of ['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_CURRENT_DESKTOP']) delete env[name];
  const terminal = await openTerminal(options.home, [options.claude, 'mcp', 'login', options.server], { cwd: options.cwd, env });
  try {
    const authorization = new URL(await waitFor('Claude Code to open the browser', async () => (await fs.readFile(opened, 'utf8').catch(() => '')).trim() || undefined));
    // The person signs in to the gateway and approves Claude Code; the browser then lands on Claude Code's callback.
    const callback = await approveAsPerson(options.gatewayUrl, authorization, options.person);
    const landed = await fetch(callback);
    if (landed.status !== 200) throw new Error(`Claude Code's callback ${callback.origin}${callback.pathname} answered ${landed.status}`);
    const signedIn = `Authenticated with "${options.server}"`;
    // Done when the command has ended, or says it signed in (it may linger a moment on its prompt).
    const ending = await waitFor('`claude mcp login` to finish', async () => (await terminal.ending()) ?? ((await terminal.screen()).includes(signedIn) ? 'signed in' : undefined));
    const failed = /^exit status [1-9]/.test(ending) || ending.startsWith('signal');
    if (failed || !(await terminal.screen()).includes(signedIn)) throw new Error(`\`claude mcp login\` ended: ${ending}`);
    return authorization;
  } catch (error) {
    const screen = await terminal.screen().catch(() => '');
    throw new Error(`${error instanceof Error ? error.message : String(error)}; Claude Code's screen:\n${screen.trim().slice(-1_000)}`, { cause: error });
  } finally {
    await terminal.close().catch(() => undefined);
  }
}
