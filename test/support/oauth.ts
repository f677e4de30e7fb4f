import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  auth,
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type OAuthTokens,
} from '@modelcontextprotocol/client';

/**
 * An MCP client's OAuth state, in memory: what Claude Desktop or VS Code keep
 * on disk. The "browser" step is left to the test: `redirectToAuthorization`
 * only records the URL.
 */
export class MemoryOAuthProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  discovery: OAuthDiscoveryState | undefined;
  authorizationUrl: URL | undefined;
  readonly clientMetadataUrl: string | undefined;

  /** How the client proves itself at the token endpoint, when not as a public client (private_key_jwt, say). */
  readonly addClientAuthentication: OAuthClientProvider['addClientAuthentication'];

  constructor(
    readonly redirectUrl: string,
    options: { clientMetadataUrl?: string; clientName?: string; addClientAuthentication?: OAuthClientProvider['addClientAuthentication'] } = {},
  ) {
    this.clientMetadataUrl = options.clientMetadataUrl;
    this.addClientAuthentication = options.addClientAuthentication;
    this.clientMetadata = {
      client_name: options.clientName ?? 'E2E MCP client',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  readonly clientMetadata: OAuthClientMetadata;
  state = () => randomBytes(12).toString('base64url');
  clientInformation = () => this.client;
  saveClientInformation = (info: OAuthClientInformationMixed) => {
    this.client = info;
  };
  tokens = () => this.saved;
  saveTokens = (tokens: OAuthTokens) => {
    this.saved = tokens;
  };
  redirectToAuthorization = (url: URL) => {
    this.authorizationUrl = url;
  };
  saveCodeVerifier = (verifier: string) => {
    this.verifier = verifier;
  };
  codeVerifier = () => this.verifier;
  discoveryState = () => this.discovery;
  saveDiscoveryState = (state: OAuthDiscoveryState) => {
    this.discovery = state;
  };
}

export interface PageResponse {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

/**
 * A browser for the sign-in and consent pages: a cookie jar, forms posted urlencoded, redirects
 * not followed. With `nodes`, requests for the gateway go to each node in turn, as a load
 * balancer would send them, and `baseUrl` is the public URL they all answer for.
 */
export class OAuthBrowser {
  readonly cookies = new Map<string, string>();
  #turn = 0;

  constructor(
    readonly baseUrl: string,
    readonly nodes: readonly string[] = [],
  ) {}

  /** The URL a request for `url` is sent to. */
  private target(url: string): string {
    const absolute = url.startsWith('http') ? url : `${this.baseUrl}${url}`;
    if (this.nodes.length === 0 || !absolute.startsWith(this.baseUrl)) return absolute;
    const node = this.nodes[this.#turn++ % this.nodes.length] ?? this.baseUrl;
    return `${node}${absolute.slice(this.baseUrl.length)}`;
  }

  async request(method: string, url: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<PageResponse> {
    const absolute = this.target(url);
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(absolute, {
      method,
      redirect: 'manual',
      headers: { ...(cookie && { cookie }), ...init.headers },
      body: init.body,
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      const value = pair.slice(index + 1);
      const expired = /expires=Thu, 01 Jan 1970/i.test(line) || value === '';
      if (expired) this.cookies.delete(pair.slice(0, index));
      else this.cookies.set(pair.slice(0, index), value);
    }
    return { status: response.status, headers: response.headers, text: await response.text(), location: response.headers.get('location') };
  }

  get(url: string): Promise<PageResponse> {
    return this.request('GET', url);
  }

  post(url: string, fields: Record<string, string>): Promise<PageResponse> {
    return this.request('POST', url, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

/** The value of an input of a page, by name. */
export function inputValue(html: string, name: string): string | undefined {
  const match = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html);
  return match?.[1]?.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
}

/** The action of the first form of a page. */
export function formAction(html: string): string | undefined {
  return /<form[^>]*action="([^"]*)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
}

/** Where a page's meta refresh goes, if it has one. */
function metaRefresh(html: string): string | undefined {
  return /<meta http-equiv="refresh" content="0;url=([^"]*)">/.exec(html)?.[1]?.replaceAll('&amp;', '&');
}

/** Where a browser stopped: on a page of the gateway, or sent back to the client's redirect URI. */
export type Stop = { kind: 'page'; page: PageResponse; url: string } | { kind: 'callback'; url: URL };

/**
 * Follows redirects and meta refreshes from `url` as a browser would, signing
 * in on the way when the sign-in page comes up, until it reaches a page of the
 * gateway that needs a person (consent, a refusal) or leaves for the client.
 */
export async function browse(browser: OAuthBrowser, url: string, credentials?: { email: string; password: string }): Promise<Stop> {
  let next = url;
  for (let hops = 0; hops < 20; hops += 1) {
    const absolute = new URL(next, browser.baseUrl);
    // Leaving the gateway's origin is reaching the client's redirect. The tests' redirect URIs use ports below
    // Linux's ephemeral range (32768-60999), so none can be the port the gateway was given (it listens on port 0).
    if (absolute.origin !== new URL(browser.baseUrl).origin) return { kind: 'callback', url: absolute };
    const page = await browser.get(absolute.toString());
    if (page.status >= 300 && page.status < 400 && page.location) {
      next = page.location;
      continue;
    }
    const refresh = page.status === 200 ? metaRefresh(page.text) : undefined;
    if (refresh) {
      next = refresh;
      continue;
    }
    if (absolute.pathname === '/login' && credentials) {
      const signedIn = await browser.post('/login', {
        csrf_token: inputValue(page.text, 'csrf_token') ?? '',
        return_to: inputValue(page.text, 'return_to') ?? '/',
        email: credentials.email,
        password: credentials.password,
      });
      if (signedIn.status !== 303 || !signedIn.location) throw new Error(`sign-in failed: ${signedIn.status} ${signedIn.text.slice(0, 300)}`);
      next = signedIn.location;
      credentials = undefined;
      continue;
    }
    return { kind: 'page', page, url: absolute.toString() };
  }
  throw new Error(`too many redirects from ${url}`);
}

/** Posts a consent page's form with `decision`, then follows on; `fields` override the page's values. */
export async function answerConsent(
  browser: OAuthBrowser,
  consent: PageResponse,
  decision: 'approve' | 'deny',
  fields: Record<string, string> = {},
): Promise<{ response: PageResponse; stop?: Stop }> {
  const action = formAction(consent.text);
  if (!action) throw new Error(`no form on the page: ${consent.text.slice(0, 300)}`);
  const form: Record<string, string> = { csrf_token: inputValue(consent.text, 'csrf_token') ?? '', decision };
  const tenant = inputValue(consent.text, 'tenant');
  if (tenant !== undefined) form['tenant'] = tenant;
  const response = await browser.post(action, { ...form, ...fields });
  if (response.status === 303 && response.location) return { response, stop: await browse(browser, response.location) };
  return { response };
}

/** The code, state and issuer of an authorization response. */
export function callbackParams(url: URL): { code: string | null; state: string | null; iss: string | null; error: string | null } {
  return {
    code: url.searchParams.get('code'),
    state: url.searchParams.get('state'),
    iss: url.searchParams.get('iss'),
    error: url.searchParams.get('error'),
  };
}

/**
 * The person's side of an authorization, as a client's `redirectToAuthorization`
 * would hand it to the browser: sign in, approve, and land on the client's
 * redirect URI. Returns that callback with its code.
 */
export async function approveInBrowser(
  browser: OAuthBrowser,
  authorizationUrl: URL,
  credentials: { email: string; password: string },
): Promise<{ callback: URL; code: string; iss: string | null }> {
  let stop = await browse(browser, authorizationUrl.toString(), credentials);
  if (stop.kind === 'page') {
    const answered = await answerConsent(browser, stop.page, 'approve');
    if (!answered.stop) throw new Error(`consent was not accepted: ${answered.response.status} ${answered.response.text.slice(0, 300)}`);
    stop = answered.stop;
  }
  if (stop.kind !== 'callback') throw new Error(`the flow stopped on a page: ${stop.page.status} ${stop.page.text.slice(0, 500)}`);
  const { code, iss } = callbackParams(stop.url);
  if (!code) throw new Error(`no code in the callback: ${stop.url.toString()}`);
  return { callback: stop.url, code, iss };
}

/**
 * The whole flow the way a desktop client runs it: the SDK's `auth()`
 * discovers, registers (or uses its metadata document) and builds the
 * authorization URL; the person signs in and approves in the "browser"; the
 * SDK exchanges the code. Returns the callback it received.
 */
export async function connectWithOAuth(options: {
  provider: MemoryOAuthProvider;
  serverUrl: string;
  browser: OAuthBrowser;
  credentials: { email: string; password: string };
  scope?: string;
}): Promise<URL> {
  const { provider, serverUrl, browser } = options;
  const started = await auth(provider, { serverUrl, ...(options.scope && { scope: options.scope }) });
  if (started !== 'REDIRECT' || !provider.authorizationUrl) throw new Error(`expected a redirect to the authorization server, got ${started}`);
  const { callback, code, iss } = await approveInBrowser(browser, provider.authorizationUrl, options.credentials);
  const finished = await auth(provider, { serverUrl, authorizationCode: code, ...(iss && { iss }) });
  if (finished !== 'AUTHORIZED') throw new Error(`the code exchange did not authorize: ${finished}`);
  return callback;
}

/** A raw MCP request (tools/list unless told) with a bearer token: status, `WWW-Authenticate` and body. */
export async function postMcp(
  url: string,
  accessToken: string,
  body: unknown = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
): Promise<{ status: number; challenge: string | null; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(body),
  });
  return { status: response.status, challenge: response.headers.get('www-authenticate'), text: await response.text() };
}

/** A self-signed certificate for 127.0.0.1, made with openssl; the gateway trusts it through NODE_EXTRA_CA_CERTS. */
export async function makeLoopbackCertificate(): Promise<{ dir: string; certFile: string; cert: Buffer; key: Buffer }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { dir, certFile, cert: await fs.readFile(certFile), key: await fs.readFile(keyFile) };
}

/** An https server on 127.0.0.1 that serves JSON documents by path: client ID metadata documents. */
export async function startDocumentServer(tls: { cert: Buffer; key: Buffer }): Promise<{
  url: string;
  documents: Map<string, unknown>;
  fetches: string[];
  close(): Promise<void>;
}> {
  const documents = new Map<string, unknown>();
  const fetches: string[] = [];
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    fetches.push(req.url ?? '');
    const document = documents.get(req.url ?? '');
    if (document === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    documents,
    fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
