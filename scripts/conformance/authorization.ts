// The suite's `authorization` command against the gateway's own OAuth 2.1 authorization server.
//
// 0.2.0-alpha.12 has two authorization-server scenarios:
// - authorization-server-metadata-endpoint: GETs the RFC 8414 metadata of the issuer and checks it.
// - authorization-code-grant: builds an authorization request (PKCE S256, state, resource) for a
//   client registered beforehand, prints its URL for a person to open in a browser, and waits on
//   http://127.0.0.1:{port}/callback; then checks the response (state, code, iss), redeems the
//   code and checks the token response.
// The browser step is the only part not done by the suite: here a scripted browser signs a
// member of the tenant in on the gateway's /login and approves its consent page, as a person
// would, then delivers the redirect to the suite's callback server.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { answerConsent, browse, OAuthBrowser } from '../../test/support/oauth.ts';
import type { CheckStatus } from './compare.ts';
import { freePort, operatorCommand, stopChild, type RunningGateway } from './processes.ts';
import type { SuitePackage, Tooling } from './tooling.ts';

/** The suite waits 5 minutes for the browser; the scripted one takes a second. */
const SUITE_TIMEOUT_MS = 60_000;
/** The revision whose checks are kept (the suite filters checks by the revision that introduced them). */
const SPEC_VERSION = '2026-07-28';

export interface AuthorizationCheck {
  scenario: string;
  id: string;
  status: CheckStatus;
  message: string | undefined;
}

export interface AuthorizationRun {
  checks: AuthorizationCheck[];
  /** Checks that failed, and scenarios that reported nothing. */
  failures: AuthorizationCheck[];
  /** What went wrong in the scripted browser step, if anything did. */
  browserError: string | undefined;
  /** The authorization request the suite built, and where the gateway sent the browser back to. */
  redirects: { request?: string; callback?: string };
}

interface ServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  registration_endpoint?: string;
}

/** The scenarios this suite version has for authorization servers, each of which must report. */
export const AUTHORIZATION_SCENARIOS = ['authorization-server-metadata-endpoint', 'authorization-code-grant'] as const;

async function json<T>(response: Response, what: string): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Registers the suite's client dynamically (RFC 7591), with the loopback redirect its callback server listens on. */
async function registerClient(metadata: ServerMetadata, redirectUri: string): Promise<string> {
  if (!metadata.registration_endpoint) throw new Error('the authorization server metadata names no registration_endpoint');
  const response = await fetch(metadata.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'MCP conformance suite',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    }),
  });
  return (await json<{ client_id: string }>(response, 'dynamic client registration')).client_id;
}

/**
 * What a person does with the URL the suite prints: opens it, signs in, approves,
 * and the browser follows the redirect to the suite's callback server.
 */
async function approveInBrowser(
  issuer: string,
  authorizationUrl: string,
  credentials: { email: string; password: string },
  redirects: AuthorizationRun['redirects'],
): Promise<void> {
  const browser = new OAuthBrowser(issuer);
  let stop = await browse(browser, authorizationUrl, credentials);
  if (stop.kind === 'page') {
    const answered = await answerConsent(browser, stop.page, 'approve');
    if (!answered.stop) throw new Error(`the consent page did not accept the approval: ${answered.response.status} ${answered.response.text.slice(0, 300)}`);
    stop = answered.stop;
  }
  if (stop.kind !== 'callback') throw new Error(`the flow stopped on a page of the gateway: ${stop.page.status} ${stop.url}: ${stop.page.text.slice(0, 300)}`);
  redirects.callback = stop.url.toString();
  const delivered = await fetch(stop.url, { redirect: 'manual' });
  await delivered.text();
  if (delivered.status !== 200) throw new Error(`the suite's callback server answered ${delivered.status} for ${stop.url.toString()}`);
}

/** Reads `authorization-server-<scenario>-<timestamp>/checks.json` from the suite's output directory. */
function readChecks(outputDir: string): AuthorizationCheck[] {
  const checks: AuthorizationCheck[] = [];
  for (const entry of fs.readdirSync(outputDir).sort()) {
    const scenario = /^authorization-server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)?.[1];
    if (scenario === undefined) continue;
    let raw: { id: string; status: CheckStatus; errorMessage?: string }[];
    try {
      raw = JSON.parse(fs.readFileSync(path.join(outputDir, entry, 'checks.json'), 'utf8')) as typeof raw;
    } catch {
      // The suite makes the directory first and writes its checks when the scenario ends: it was stopped before.
      continue;
    }
    for (const check of raw) checks.push({ scenario, id: check.id, status: check.status, message: check.errorMessage });
  }
  return checks;
}

/**
 * Runs `conformance authorization` against the gateway's issuer: a member of
 * `tenant` to sign in as, a dynamically registered client for the suite, and
 * the MCP endpoint of the tenant as the resource (RFC 8707; the gateway issues
 * no token without one).
 */
export async function runAuthorizationSuite(options: {
  tooling: Tooling;
  suite: SuitePackage;
  gateway: RunningGateway;
  tenant: string;
  outputDir: string;
}): Promise<AuthorizationRun> {
  const { tooling, suite, gateway, tenant, outputDir } = options;
  fs.mkdirSync(outputDir, { recursive: true });
  const credentials = { email: `person@${tenant}.example`, password: randomBytes(18).toString('base64url') };
  await operatorCommand(gateway, 'user.create', { tenant, email: credentials.email, role: 'member', password: credentials.password });
  const metadata = await json<ServerMetadata>(await fetch(`${gateway.url}/.well-known/oauth-authorization-server`), 'the metadata endpoint');
  const port = await freePort();
  const clientId = await registerClient(metadata, `http://127.0.0.1:${port}/callback`);
  const resource = `${gateway.url}/t/${tenant}/mcp`;

  const args = [
    tooling.entry(suite), 'authorization', '--url', gateway.url, '--client-id', clientId, '--resource', resource,
    '--port', String(port), '--spec-version', SPEC_VERSION, '-o', outputDir,
  ];
  const log = fs.createWriteStream(path.join(outputDir, 'output.txt'));
  const child = spawn(tooling.node, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(log, { end: false });

  let browserError: string | undefined;
  const redirects: AuthorizationRun['redirects'] = {};
  let browsing: Promise<void> | undefined;
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    log.write(chunk);
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      // The authorization request the suite built, printed for a person to open.
      const url = URL.parse(line.trim());
      if (browsing || !url || `${url.origin}${url.pathname}` !== metadata.authorization_endpoint) continue;
      redirects.request = url.toString();
      browsing = approveInBrowser(metadata.issuer, url.toString(), credentials, redirects).catch((error: unknown) => {
        browserError = error instanceof Error ? error.message : String(error);
        // Without the callback the suite would wait its full 5 minutes.
        void stopChild(child);
      });
    }
  });

  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': every line of its output has been read by then.
    child.once('close', (code) => resolve(code));
  });
  const timer = setTimeout(() => {
    browserError ??= `the suite did not finish within ${SUITE_TIMEOUT_MS / 1000} s`;
    child.kill('SIGKILL');
  }, SUITE_TIMEOUT_MS);
  const code = await exited.finally(() => clearTimeout(timer));
  await browsing;
  log.end();
  if (code !== 0 && code !== 1 && browserError === undefined) throw new Error(`the authorization suite exited with ${code}; see ${outputDir}/output.txt`);

  const checks = readChecks(outputDir);
  const failures = checks.filter((check) => check.status === 'FAILURE');
  for (const scenario of AUTHORIZATION_SCENARIOS) {
    const reported = checks.filter((check) => check.scenario === scenario);
    // A scenario that reports nothing, or only that it skipped, was not run as set up here: that is ours to fix.
    if (reported.length === 0 || reported.every((check) => check.status === 'SKIPPED')) {
      failures.push({ scenario, id: scenario, status: 'FAILURE', message: browserError ? 'stopped: the scripted browser step failed' : (reported[0]?.message ?? 'the scenario reported no checks') });
    }
  }
  return { checks, failures, browserError, redirects };
}

/** A message on one line, cut short: some carry a page of HTML. */
const oneLine = (message: string | undefined) => (message ? `: ${message.replace(/\s+/g, ' ').slice(0, 300)}` : '');

/** Prints one row per check, then the message of each check that did not pass. */
export function printAuthorizationRun(title: string, run: AuthorizationRun): void {
  console.log(`\n${title}`);
  const rows = run.checks.map((check) => [check.scenario, check.id, check.status]);
  const header = ['scenario', 'check', 'gateway'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd();
  console.log(`  ${line(header)}`);
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('   ')}`);
  for (const row of rows) console.log(`  ${line(row)}`);
  const passed = run.checks.filter((check) => check.status === 'SUCCESS').length;
  console.log(`  checks passed: ${passed}/${run.checks.length}`);
  for (const check of run.checks) {
    if (check.status !== 'SUCCESS' && check.status !== 'FAILURE') console.log(`  · ${check.scenario} / ${check.id}: ${check.status}${oneLine(check.message)}`);
  }
  for (const failure of run.failures) console.log(`  ✗ ${failure.scenario} / ${failure.id}: ${failure.status}${oneLine(failure.message)}`);
  if (run.browserError) console.log(`  ✗ scripted browser step${oneLine(run.browserError)}`);
  if (run.failures.length > 0 || run.browserError) {
    if (run.redirects.request) console.log(`    the suite's authorization request: ${run.redirects.request}`);
    if (run.redirects.callback) console.log(`    the gateway sent the browser back to: ${run.redirects.callback}`);
  }
}
