import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startEverything, stopEverything } from '../support/everything-server.ts';
import { childEnv, makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { approveInBrowser, OAuthBrowser } from '../support/oauth.ts';

// mcp-remote is the stdio-to-HTTP bridge Claude Desktop users run for remote MCP servers. Here the
// real bridge runs as Claude Desktop starts it (a local stdio server), driven by the 2025-era client.
const BRIDGE = createRequire(import.meta.url).resolve('mcp-remote/dist/proxy.js');
const PASSWORD = 'correct horse battery staple';
const TOKEN_TTL_S = 2;

const textOf = (result: object) => ('content' in result ? (result.content as Array<{ text?: string }>) : []).map((c) => c.text ?? '').join('\n');

interface Bridge {
  client: Client;
  /** Starts the bridge and connects to it over its stdin and stdout. */
  connect(): Promise<void>;
  /** What the bridge wrote to stderr so far: its log. */
  log(): string;
}

describe('mcp-remote, the bridge Claude Desktop runs, in front of the gateway', () => {
  let gateway: GatewayProcess;
  let upstream: ChildProcess | undefined;
  let dataDir: string;
  let work: string;
  let key: string;
  let owner: { id: string; email: string };
  let opened: string;
  let browserStub: string;
  let signedIn: { client: Client; at: number } | undefined;
  const bridges: Client[] = [];
  const endpoint = () => `${gateway.url}/t/desk/mcp`;

  /**
   * Starts the bridge for `url` as Claude Desktop's config would, with `args` after the URL and
   * `env` for it; `BROWSER` is where it sends a person to sign in. Its tokens live in `work`.
   */
  function bridge(url: string, args: string[], env: Record<string, string>): Bridge {
    const environment = childEnv({ MCP_REMOTE_CONFIG_DIR: path.join(work, 'mcp-auth'), ...env });
    // No desktop session: the bridge's opener falls back to BROWSER, never to a real browser.
    for (const name of ['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_CURRENT_DESKTOP']) delete environment[name];
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BRIDGE, url, ...args],
      env: environment as Record<string, string>,
      stderr: 'pipe',
    });
    let log = '';
    transport.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    const client = new Client({ name: 'claude-desktop-e2e', version: '1.0.0' });
    bridges.push(client);
    return { client, connect: () => client.connect(transport), log: () => log };
  }

  async function toolCallEvents(count: number): Promise<AuditEventJson[]> {
    return pollUntil(`${count} tool.call audit events`, async () => {
      const events = (await apiClient(gateway.url, key).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100')).body.events;
      return events.length >= count ? events : undefined;
    });
  }

  beforeAll(async () => {
    dataDir = await makeDataDir();
    work = await fs.mkdtemp(path.join(dataDir, 'desktop-'));
    // The person's browser: it notes each page the bridge opens.
    opened = path.join(work, 'opened.txt');
    browserStub = path.join(work, 'browser.sh');
    await fs.writeFile(browserStub, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${opened}'\n`, { mode: 0o700 });
    const port = await freePort();
    upstream = await startEverything(port);
    // Access tokens that expire within the test, so that a restarted bridge must refresh.
    gateway = await startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8', BOTGATE_OAUTH_ACCESS_TOKEN_TTL: String(TOKEN_TTL_S) } });
    const seeded = await seedTenant(dataDir, 'desk');
    key = seeded.key.secret;
    owner = { id: seeded.ownerId, email: 'owner@desk.example' };
    await operatorCommand(dataDir, 'server.create', { tenant: 'desk', slug: 'files', kind: 'filesystem' });
    await operatorCommand(dataDir, 'server.create', { tenant: 'desk', slug: 'everything', kind: 'remote', config: { url: `http://127.0.0.1:${port}/mcp` } });
  });

  afterAll(async () => {
    await Promise.allSettled(bridges.map((client) => client.close()));
    await Promise.all([gateway?.stop(), stopEverything(upstream)]);
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('connects with an API key in a header, as the README shows, and uses the tenant’s tools', async () => {
    // The key stays out of the command line: the bridge puts ${AUTH} from its environment into the header.
    const b = bridge(endpoint(), ['--header', 'Authorization:${AUTH}'], { AUTH: `Bearer ${key}` });
    await b.connect();

    expect(b.client.getServerVersion()).toMatchObject({ name: 'botgate/desk' });
    const names = (await b.client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['files__write_file', 'files__read_file', 'everything__echo']));
    const written = await b.client.callTool({ name: 'files__write_file', arguments: { path: 'from-desktop.txt', content: 'written through the bridge' } });
    expect(written.isError).toBeFalsy();
    const read = await b.client.callTool({ name: 'files__read_file', arguments: { path: 'from-desktop.txt' } });
    expect(textOf(read)).toBe('written through the bridge');
    expect(textOf(await b.client.callTool({ name: 'everything__echo', arguments: { message: 'hello' } }))).toBe('Echo: hello');
    const prompts = (await b.client.listPrompts()).prompts.map((prompt) => prompt.name);
    expect(prompts).toContain('everything__simple-prompt');
    // The file is where the tenant's filesystem server keeps it.
    expect(await fs.readFile(path.join(dataDir, 'files', 'desk', 'files', 'from-desktop.txt'), 'utf8')).toBe('written through the bridge');

    const events = await toolCallEvents(3);
    expect(events.slice(0, 3).map((event) => [(event.after as { tool: string }).tool, event.actor.type])).toEqual([
      ['echo', 'api_key'],
      ['read_file', 'api_key'],
      ['write_file', 'api_key'],
    ]);
  });

  it('signs a person in through the browser (OAuth: discovery, registration, PKCE) and acts as that person', async () => {
    const b = bridge(endpoint(), [], { BROWSER: browserStub });
    const connecting = b.connect();

    // The person's browser gets the gateway's authorization page; they sign in and approve.
    const authorization = await pollUntil('the bridge to open the browser', async () => {
      const text = await fs.readFile(opened, 'utf8').catch(() => '');
      return text.trim() || undefined;
    });
    const url = new URL(authorization);
    expect(url.origin).toBe(gateway.url);
    expect(url.searchParams.get('resource')).toBe(endpoint());
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    const { callback } = await approveInBrowser(new OAuthBrowser(gateway.url), url, { email: owner.email, password: PASSWORD });
    // The browser lands on the bridge's loopback callback, which finishes the sign-in.
    expect((await fetch(callback)).status).toBe(200);
    await connecting;
    signedIn = { client: b.client, at: Date.now() };

    expect(textOf(await b.client.callTool({ name: 'everything__echo', arguments: { message: 'signed in' } }))).toBe('Echo: signed in');
    const [latest] = await toolCallEvents(4);
    expect(latest).toMatchObject({ actor: { type: 'user', id: owner.id }, after: { server: 'everything', tool: 'echo', outcome: 'ok' } });
    expect(b.log()).toContain('Connected to remote server');
  });

  it('keeps the person signed in when Claude Desktop restarts the bridge: the expired access token is refreshed, no browser opens', async () => {
    if (!signedIn) throw new Error('no sign-in from the previous test');
    const { at } = signedIn;
    await signedIn.client.close();
    await pollUntil('the access token to expire', async () => (Date.now() - at > (TOKEN_TTL_S + 1) * 1000 ? true : undefined), { intervalMs: 200 });

    const b = bridge(endpoint(), [], { BROWSER: browserStub });
    await b.connect();

    expect(textOf(await b.client.callTool({ name: 'everything__echo', arguments: { message: 'still me' } }))).toBe('Echo: still me');
    const [latest] = await toolCallEvents(5);
    expect(latest).toMatchObject({ actor: { type: 'user', id: owner.id }, after: { tool: 'echo', arguments: { message: 'still me' } } });
    // The browser was opened once, for the first sign-in only.
    expect((await fs.readFile(opened, 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(b.log()).toContain('Refreshed the access token');
  });
});
