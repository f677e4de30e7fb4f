import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { expect } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic.ts';
import { makeDataDir, startGateway, type GatewayProcess } from './gateway-process.ts';
import { apiClient, operatorCommand, seedTenant } from './http.ts';
import { connectFullV2 } from './mcp-full-clients.ts';
import {
  answerConsent,
  browse,
  callbackParams,
  makeLoopbackCertificate,
  OAuthBrowser,
  postMcp,
  startDocumentServer,
  type PageResponse,
} from './oauth.ts';

const API_KEY = 'sk-ant-e2e-oauth';
const PASSWORD = 'correct horse battery staple';
/** The slugs of the two tenants the OAuth suites seed. */
export const A = 'oauth-a';
export const B = 'oauth-b';
/** The people who sign in: A's owner and a member of A, and B's owner. */
export const OWNER_A = { email: `owner@${A}.example`, password: PASSWORD };
export const MEMBER_A = { email: `member@${A}.example`, password: PASSWORD };
export const OWNER_B = { email: `owner@${B}.example`, password: PASSWORD };
/** Tenant A's bot `helper` and filesystem server `files` (whose notes.txt says the launch is on Friday). */
export const botPath = `/t/${A}/mcp/bots/helper`;
export const filesPath = `/t/${A}/mcp/servers/files`;
/** Where the key set of the pre-registered `keyed-agent` (private_key_jwt) is served, on the fixture's document server. */
export const KEYED_AGENT_JWKS = '/keys/keyed-agent.json';

/** A token endpoint's answer. */
export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

/** A fresh PKCE verifier and its S256 challenge. */
export const pkcePair = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** The text of a tool result. */
export const textOf = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

/** Setup steps must succeed; a failure stops the suite with the response. */
function must(response: { status: number; body: unknown }, status: number): void {
  if (response.status !== status) throw new Error(`setup: expected ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
}

/** The gateway of an OAuth suite, seeded, with the steps of a manually driven client bound to it. */
export type OAuthFixture = Awaited<ReturnType<typeof startOAuthFixture>>;

/**
 * Starts a gateway with a fake Anthropic and an https server for client ID
 * metadata documents, and seeds it: tenants A and B, a member of A, A's
 * filesystem server `files` with notes.txt and its bot `helper`. `stop()` ends
 * it all; a start that fails stops what it had started.
 */
export async function startOAuthFixture() {
  let tls: Awaited<ReturnType<typeof makeLoopbackCertificate>> | undefined;
  let docs: Awaited<ReturnType<typeof startDocumentServer>> | undefined;
  let fake: FakeAnthropic | undefined;
  let dataDir: string | undefined;
  let gateway: GatewayProcess | undefined;
  const stop = async () => {
    await gateway?.stop();
    await fake?.close();
    await docs?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
    if (tls) await fs.rm(tls.dir, { recursive: true, force: true });
  };
  try {
    tls = await makeLoopbackCertificate();
    docs = await startDocumentServer(tls);
    fake = await startFakeAnthropic({ apiKey: API_KEY });
    dataDir = await makeDataDir();
    gateway = await startGateway({
      dataDir,
      env: {
        ANTHROPIC_API_KEY: API_KEY,
        ANTHROPIC_BASE_URL: fake.url,
        // The test's metadata documents are served over https on 127.0.0.1: the operator allows
        // loopback for outbound fetches and trusts the test's certificate (Node's own setting).
        BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8',
        NODE_EXTRA_CA_CERTS: tls.certFile,
        BOTGATE_OAUTH_CLIENTS: JSON.stringify([
          { client_id: 'web-connector', client_name: 'Web Connector', redirect_uris: ['https://connector.example/callback'] },
          {
            client_id: 'keyed-agent',
            client_name: 'Keyed Agent',
            redirect_uris: ['https://agent.example/callback'],
            token_endpoint_auth_method: 'private_key_jwt',
            jwks_uri: `${docs.url}${KEYED_AGENT_JWKS}`,
          },
        ]),
      },
    });
    const seeded = await seedTenants(gateway, dataDir);
    const gatewayUrl = gateway.url;
    const owner = () => apiClient(gatewayUrl, seeded.ownerKey);
    return { ...clientSteps(gatewayUrl), ...seeded, gateway, fake, docs, owner, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Tenants A and B, a member of A, and A's filesystem server (with notes.txt) and bot. */
async function seedTenants(gateway: GatewayProcess, dataDir: string) {
  const seededA = await seedTenant(dataDir, A);
  const tenantA = seededA.tenant;
  const ownerKey = seededA.key.secret;
  const tenantB = (await seedTenant(dataDir, B)).tenant;
  const memberId = (await operatorCommand<{ user: { id: string } }>(dataDir, 'user.create', { tenant: A, email: MEMBER_A.email, role: 'member', password: PASSWORD })).user.id;
  const owner = apiClient(gateway.url, ownerKey);
  must(await owner.post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } }), 201);
  const files = await connectFullV2(`${gateway.url}${filesPath}`, ownerKey);
  await files.callTool('write_file', { path: 'notes.txt', content: 'The launch is on Friday.' });
  await files.close();
  must(await owner.post('/api/v1/bots', { json: { slug: 'helper', model: 'claude-sonnet-4-5', description: 'Answers questions.', system_prompt: 'Be brief.' } }), 201);
  return { tenantA, tenantB, ownerKey, memberId };
}

/** The steps of a client driven by hand against the gateway at `gatewayUrl`: registration, authorization, tokens, MCP calls. */
function clientSteps(gatewayUrl: string) {
  const url = (path: string) => `${gatewayUrl}${path}`;

  /** Registers a public client dynamically (RFC 7591), as older MCP clients do. */
  async function register(redirectUri: string, name = 'Manual client'): Promise<string> {
    const response = await fetch(url('/oauth/reg'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: name,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
      }),
    });
    const body = (await response.json()) as { client_id: string };
    expect(response.status).toBe(201);
    return body.client_id;
  }

  function authorizeUrl(params: Record<string, string | undefined>): string {
    const target = new URL(url('/oauth/auth'));
    for (const [name, value] of Object.entries(params)) if (value !== undefined) target.searchParams.set(name, value);
    return target.toString();
  }

  async function token(form: Record<string, string>): Promise<{ status: number; body: TokenResponse & { error?: string } }> {
    const response = await fetch(url('/oauth/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: response.status, body: (await response.json()) as TokenResponse & { error?: string } };
  }

  /** A code for a manually registered client, the person signing in and approving. */
  async function manualCode(options: { clientId: string; redirectUri: string; resource: string; scope?: string | null; credentials?: typeof OWNER_A }) {
    const pkce = pkcePair();
    const state = randomBytes(8).toString('hex');
    const browser = new OAuthBrowser(gatewayUrl);
    let stop = await browse(
      browser,
      authorizeUrl({
        client_id: options.clientId,
        redirect_uri: options.redirectUri,
        response_type: 'code',
        // null sends no scope at all.
        scope: options.scope === null ? undefined : (options.scope ?? 'mcp offline_access'),
        resource: options.resource,
        state,
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
      }),
      options.credentials ?? OWNER_A,
    );
    if (stop.kind === 'page') stop = (await answerConsent(browser, stop.page, 'approve')).stop ?? stop;
    if (stop.kind !== 'callback') throw new Error(`no callback: ${stop.page.status} ${stop.page.text.slice(0, 400)}`);
    const params = callbackParams(stop.url);
    expect(params.state).toBe(state);
    expect(params.iss).toBe(gatewayUrl);
    if (!params.code) throw new Error(`no code: ${stop.url.toString()}`);
    return { code: params.code, verifier: pkce.verifier, browser };
  }

  const redeem = (clientId: string, redirectUri: string, code: string, verifier: string) =>
    token({ grant_type: 'authorization_code', client_id: clientId, redirect_uri: redirectUri, code, code_verifier: verifier });

  const refresh = (clientId: string, refreshToken: string) => token({ grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken });

  /** RFC 7009 revocation, as the public client `clientId`: status and error, if any. */
  async function revoke(clientId: string, value: string, hint: 'access_token' | 'refresh_token') {
    const response = await fetch(url('/oauth/token/revocation'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: value, token_type_hint: hint, client_id: clientId }).toString(),
    });
    const text = await response.text();
    return { status: response.status, error: text ? (JSON.parse(text) as { error?: string }).error : undefined };
  }

  const mcpPost = (path: string, accessToken: string, body?: unknown) => postMcp(url(path), accessToken, body);

  async function toolNames(path: string, accessToken: string): Promise<string[]> {
    const client = await connectFullV2(url(path), accessToken);
    try {
      return (await client.listTools()).map((t) => t.name);
    } finally {
      await client.close();
    }
  }

  /** The clients a person has connected, as the connected-clients page lists them. */
  async function connectedClients(credentials: typeof OWNER_A): Promise<PageResponse> {
    const browser = new OAuthBrowser(gatewayUrl);
    const stop = await browse(browser, '/oauth/consents', credentials);
    if (stop.kind !== 'page') throw new Error('the consents page redirected away');
    return stop.page;
  }

  return { url, register, authorizeUrl, token, manualCode, redeem, refresh, revoke, mcpPost, toolNames, connectedClients };
}
