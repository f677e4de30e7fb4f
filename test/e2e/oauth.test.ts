import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { auth, Client, StreamableHTTPClientTransport, UnauthorizedError, type CallToolResult } from '@modelcontextprotocol/client';
import { UnauthorizedError as V1UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '../fakes/anthropic.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { connectFullV2 } from '../support/mcp-full-clients.ts';
import {
  answerConsent,
  approveInBrowser,
  browse,
  callbackParams,
  connectWithOAuth,
  makeLoopbackCertificate,
  MemoryOAuthProvider,
  OAuthBrowser,
  postMcp,
  startDocumentServer,
  type PageResponse,
} from '../support/oauth.ts';

const API_KEY = 'sk-ant-e2e-oauth';
const PASSWORD = 'correct horse battery staple';
const A = 'oauth-a';
const B = 'oauth-b';
const OWNER_A = { email: `owner@${A}.example`, password: PASSWORD };
const MEMBER_A = { email: `member@${A}.example`, password: PASSWORD };
const OWNER_B = { email: `owner@${B}.example`, password: PASSWORD };

interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

const pkcePair = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** Setup steps must succeed; a failure stops the suite with the response. */
function must(response: { status: number; body: unknown }, status: number): void {
  if (response.status !== status) throw new Error(`setup: expected ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
}

const textOf = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

describe('the gateway as OAuth 2.1 authorization server for MCP clients', () => {
  let gateway: GatewayProcess;
  let fake: FakeAnthropic;
  let dataDir: string;
  let tls: Awaited<ReturnType<typeof makeLoopbackCertificate>>;
  let docs: Awaited<ReturnType<typeof startDocumentServer>>;
  let ownerKey: string;
  let memberId: string;
  let tenantA: { id: string };
  let tenantB: { id: string };
  const url = (path: string) => `${gateway.url}${path}`;
  const botPath = `/t/${A}/mcp/bots/helper`;
  const filesPath = `/t/${A}/mcp/servers/files`;
  const owner = () => apiClient(gateway.url, ownerKey);

  beforeAll(async () => {
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
        ]),
      },
    });
    const seededA = await seedTenant(dataDir, A);
    tenantA = seededA.tenant;
    ownerKey = seededA.key.secret;
    tenantB = (await seedTenant(dataDir, B)).tenant;
    memberId = (await operatorCommand<{ user: { id: string } }>(dataDir, 'user.create', { tenant: A, email: MEMBER_A.email, role: 'member', password: PASSWORD })).user.id;
    must(await owner().post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } }), 201);
    const files = await connectFullV2(url(filesPath), ownerKey);
    await files.callTool('write_file', { path: 'notes.txt', content: 'The launch is on Friday.' });
    await files.close();
    must(await owner().post('/api/v1/bots', { json: { slug: 'helper', model: 'claude-sonnet-4-5', description: 'Answers questions.', system_prompt: 'Be brief.' } }), 201);
  });

  afterAll(async () => {
    await gateway?.stop();
    await fake?.close();
    await docs?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
    if (tls) await fs.rm(tls.dir, { recursive: true, force: true });
  });

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
    const browser = new OAuthBrowser(gateway.url);
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
    expect(params.iss).toBe(gateway.url);
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
    const browser = new OAuthBrowser(gateway.url);
    const stop = await browse(browser, '/oauth/consents', credentials);
    if (stop.kind !== 'page') throw new Error('the consents page redirected away');
    return stop.page;
  }

  it('publishes RFC 8414 and RFC 9728 metadata, and MCP paths challenge with them', async () => {
    const metadata = (await (await fetch(url('/.well-known/oauth-authorization-server'))).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: gateway.url,
      authorization_endpoint: url('/oauth/auth'),
      token_endpoint: url('/oauth/token'),
      registration_endpoint: url('/oauth/reg'),
      revocation_endpoint: url('/oauth/token/revocation'),
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
    expect(metadata['scopes_supported']).toEqual(expect.arrayContaining(['mcp', 'mcp:read']));

    const prm = await fetch(url(`/.well-known/oauth-protected-resource${botPath}`));
    expect(await prm.json()).toEqual({
      resource: url(botPath),
      authorization_servers: [gateway.url],
      scopes_supported: ['mcp', 'mcp:read'],
      bearer_methods_supported: ['header'],
      resource_name: `Botgate MCP endpoint ${botPath}`,
    });
    expect((await fetch(url('/.well-known/oauth-protected-resource/api/v1/me'))).status).toBe(404);

    const anonymous = await fetch(url(botPath), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${url(`/.well-known/oauth-protected-resource${botPath}`)}", scope="mcp"`);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('connects a member with dynamic registration: the bot lists and answers over the token', async () => {
    const provider = new MemoryOAuthProvider('http://127.0.0.1:33418/callback', { clientName: 'Claude Code (e2e)' });
    const browser = new OAuthBrowser(gateway.url);
    const started = await auth(provider, { serverUrl: url(botPath) });
    expect(started).toBe('REDIRECT');
    const authorization = provider.authorizationUrl!;
    expect(authorization.searchParams.get('resource')).toBe(url(botPath));
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    const consent = await browse(browser, authorization.toString(), MEMBER_A);
    if (consent.kind !== 'page') throw new Error('expected the consent page');
    expect(consent.page.status).toBe(200);
    expect(consent.page.text).toContain('Claude Code (e2e)');
    expect(consent.page.text).toContain('127.0.0.1:33418');
    expect(consent.page.text).toContain(url(botPath));
    expect(consent.page.text).toContain('the bot helper of tenant oauth-a');
    expect(consent.page.text).toContain('registered itself');
    expect(consent.page.headers.get('content-security-policy')).toContain("form-action 'self' http://127.0.0.1:33418");
    const { stop } = await answerConsent(browser, consent.page, 'approve');
    if (stop?.kind !== 'callback') throw new Error('expected the callback');
    const params = callbackParams(stop.url);
    expect(params).toMatchObject({ iss: gateway.url, state: authorization.searchParams.get('state') });
    expect(await auth(provider, { serverUrl: url(botPath), authorizationCode: params.code!, iss: params.iss! })).toBe('AUTHORIZED');

    // Opaque: the token tells the client nothing of the person or the tenant; the gateway keeps that.
    expect(provider.saved!.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Without a challenge to go by, the SDK asks for every scope the endpoint's metadata lists.
    expect(provider.saved!.scope?.split(' ')).toContain('mcp');
    expect(provider.saved!.refresh_token).toBeTruthy();

    const client = new Client({ name: 'e2e-oauth', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(url(botPath)), { authProvider: provider }));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['ask']);
    fake.script(textReply('Friday, says the helper.'));
    const answer = await client.callTool({ name: 'ask', arguments: { message: 'When is the launch?' } });
    expect(textOf(answer)).toContain('Friday, says the helper.');
    await client.close();

    // The call is the member's own, in the tenant's audit trail.
    const audited = await pollUntil('the ask call audited', async () => {
      const events = (await owner().get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=50')).body.events;
      return events.find((e) => e.actor.type === 'user' && e.actor.id === memberId);
    });
    expect(audited.after).toMatchObject({ tool: 'ask', outcome: 'ok' });
  });

  it('connects a client identified by its metadata document, on a loopback redirect with any port', async () => {
    const clientId = `${docs.url}/clients/desktop.json`;
    docs.documents.set('/clients/desktop.json', {
      client_id: clientId,
      client_name: 'Desktop (metadata document)',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    });
    const provider = new MemoryOAuthProvider('http://127.0.0.1:49152/callback', { clientMetadataUrl: clientId });
    const browser = new OAuthBrowser(gateway.url);
    await connectWithOAuth({ provider, serverUrl: url(filesPath), browser, credentials: OWNER_A });
    expect(provider.client?.client_id).toBe(clientId);
    expect(docs.fetches).toContain('/clients/desktop.json');

    const client = new Client({ name: 'e2e-oauth-cimd', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(url(filesPath)), { authProvider: provider }));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['read_file', 'write_file']));
    expect(textOf(await client.callTool({ name: 'read_file', arguments: { path: 'notes.txt' } }))).toContain('The launch is on Friday.');
    await client.close();

    const page = (await connectedClients(OWNER_A)).text;
    expect(page).toContain('Desktop (metadata document)');
    expect(page).toContain(url(filesPath));
  });

  it('refuses a metadata document whose client_id is not its own URL, issuing nothing', async () => {
    const listed = `${docs.url}/clients/liar.json`;
    docs.documents.set('/clients/liar.json', {
      client_id: `${docs.url}/clients/someone-else.json`,
      client_name: 'Liar',
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    });
    const pkce = pkcePair();
    const browser = new OAuthBrowser(gateway.url);
    const response = await browser.get(
      authorizeUrl({
        client_id: listed,
        redirect_uri: 'http://127.0.0.1:5000/callback',
        response_type: 'code',
        scope: 'mcp',
        resource: url(filesPath),
        state: 's',
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
      }),
    );
    expect(response.status).toBe(400);
    expect(response.location).toBeNull();
    expect(response.text).toContain('client_id metadata document client_id does not match');
    expect((await connectedClients(OWNER_A)).text).not.toContain('Liar');
  });

  it('gives a request without scope the default scope mcp, which the person approves', async () => {
    const redirectUri = 'http://127.0.0.1:41002/cb';
    const clientId = await register(redirectUri);
    const { code, verifier } = await manualCode({ clientId, redirectUri, resource: url(botPath), scope: null });
    const issued = await redeem(clientId, redirectUri, code, verifier);
    expect(issued.status).toBe(200);
    expect(issued.body.scope).toBe('mcp');
    expect(await toolNames(botPath, issued.body.access_token)).toEqual(['ask']);
  });

  it('binds a token to the one endpoint it was issued for', async () => {
    const redirectUri = 'http://127.0.0.1:41001/cb';
    const clientId = await register(redirectUri);
    const { code, verifier } = await manualCode({ clientId, redirectUri, resource: url(botPath) });
    const issued = await redeem(clientId, redirectUri, code, verifier);
    expect(issued.status).toBe(200);
    const accessToken = issued.body.access_token;
    expect(await toolNames(botPath, accessToken)).toEqual(['ask']);
    for (const other of [filesPath, `/t/${A}/mcp`, `/t/${B}/mcp/bots/helper`, `/t/${B}/mcp`]) {
      const refused = await mcpPost(other, accessToken);
      expect({ other, status: refused.status }).toEqual({ other, status: 401 });
      expect(refused.challenge).toContain('error="invalid_token"');
      expect(refused.challenge).toContain(`resource_metadata="${url(`/.well-known/oauth-protected-resource${other}`)}"`);
    }
    // A resource that is not one of this gateway's MCP endpoints gets no code at all.
    const pkce = pkcePair();
    const browser = new OAuthBrowser(gateway.url);
    for (const resource of [undefined, 'https://elsewhere.example/t/oauth-a/mcp', url('/api/v1/me')]) {
      const stop = await browse(
        browser,
        authorizeUrl({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource, state: 'r', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
        OWNER_A,
      );
      if (stop.kind !== 'callback') throw new Error(`expected an error callback for ${resource}`);
      expect(callbackParams(stop.url)).toMatchObject({ code: null, error: 'invalid_target' });
    }
  });

  it('refuses a request without PKCE, with plain PKCE, or to an unregistered redirect URI, issuing nothing', async () => {
    const redirectUri = 'http://127.0.0.1:41002/cb';
    const clientId = await register(redirectUri, 'PKCE tester');
    const browser = new OAuthBrowser(gateway.url);
    const base = { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: url(filesPath), state: 'p' };
    for (const pkce of [{}, { code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }]) {
      const stop = await browse(browser, authorizeUrl({ ...base, ...pkce }), OWNER_A);
      if (stop.kind !== 'callback') throw new Error('expected an error callback');
      expect(callbackParams(stop.url)).toMatchObject({ code: null, error: 'invalid_request' });
    }
    const pkce = pkcePair();
    const unregistered = await browser.get(authorizeUrl({ ...base, redirect_uri: 'http://evil.example/cb', code_challenge: pkce.challenge, code_challenge_method: 'S256' }));
    expect(unregistered.status).toBe(400);
    expect(unregistered.location).toBeNull();
    expect(unregistered.text).toContain('redirect_uri');
    expect((await connectedClients(OWNER_A)).text).not.toContain('PKCE tester');
  });

  it('redeems a code once and only with its verifier; a replay revokes what the first redemption issued', async () => {
    const redirectUri = 'http://127.0.0.1:41003/cb';
    const clientId = await register(redirectUri);
    const { code, verifier } = await manualCode({ clientId, redirectUri, resource: url(filesPath) });

    const wrong = await redeem(clientId, redirectUri, code, pkcePair().verifier);
    expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const missing = await token({ grant_type: 'authorization_code', client_id: clientId, redirect_uri: redirectUri, code });
    expect(missing.status).toBe(400);

    const issued = await redeem(clientId, redirectUri, code, verifier);
    expect(issued.status).toBe(200);
    // Ten minutes: BOTGATE_OAUTH_ACCESS_TOKEN_TTL's default.
    expect(issued.body).toMatchObject({ token_type: 'Bearer', scope: 'mcp', expires_in: 600 });
    expect(await toolNames(filesPath, issued.body.access_token)).toContain('read_file');

    const replay = await redeem(clientId, redirectUri, code, verifier);
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await mcpPost(filesPath, issued.body.access_token)).status).toBe(401);
    expect(await refresh(clientId, issued.body.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('rotates refresh tokens: a refreshed-away token is refused, and its reuse revokes the grant', async () => {
    const redirectUri = 'http://127.0.0.1:41004/cb';
    const clientId = await register(redirectUri);
    const { code, verifier } = await manualCode({ clientId, redirectUri, resource: url(filesPath) });
    const first = (await redeem(clientId, redirectUri, code, verifier)).body;

    const second = await refresh(clientId, first.refresh_token!);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect((await mcpPost(filesPath, second.body.access_token)).status).toBe(200);
    expect((await mcpPost(botPath, second.body.access_token)).status).toBe(401);

    expect(await refresh(clientId, first.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await mcpPost(filesPath, second.body.access_token)).status).toBe(401);
    expect(await refresh(clientId, second.body.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('revokes: a revoked refresh token takes its access tokens with it', async () => {
    const redirectUri = 'http://127.0.0.1:41005/cb';
    const clientId = await register(redirectUri);
    const { code, verifier } = await manualCode({ clientId, redirectUri, resource: url(filesPath) });
    const issued = (await redeem(clientId, redirectUri, code, verifier)).body;
    expect((await mcpPost(filesPath, issued.access_token)).status).toBe(200);

    expect(await revoke(clientId, issued.refresh_token!, 'refresh_token')).toEqual({ status: 200, error: undefined });
    expect((await mcpPost(filesPath, issued.access_token)).status).toBe(401);
    expect(await refresh(clientId, issued.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('revokes an access token at once, with the refresh tokens of its grant (RFC 7009 §2.1); the approval stays', async () => {
    const redirectUri = 'http://127.0.0.1:41011/cb';
    const clientId = await register(redirectUri, 'Client revoking a token');
    const { code, verifier } = await manualCode({ clientId, redirectUri, resource: url(filesPath), credentials: MEMBER_A });
    const issued = (await redeem(clientId, redirectUri, code, verifier)).body;
    const other = await register('http://127.0.0.1:41012/cb', 'Bystander client');
    const bystander = await manualCode({ clientId: other, redirectUri: 'http://127.0.0.1:41012/cb', resource: url(filesPath), credentials: MEMBER_A });
    const untouched = (await redeem(other, 'http://127.0.0.1:41012/cb', bystander.code, bystander.verifier)).body;
    expect((await mcpPost(filesPath, issued.access_token)).status).toBe(200);

    expect(await revoke(clientId, issued.access_token, 'access_token')).toEqual({ status: 200, error: undefined });
    const refused = await mcpPost(filesPath, issued.access_token);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toContain('error="invalid_token"');
    // oidc-provider ends the grant's refresh tokens too, as RFC 7009 allows: the client signs in again.
    expect(await refresh(clientId, issued.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // The person's approval (the grant) is not withdrawn, and another client's tokens are not touched.
    expect((await connectedClients(MEMBER_A)).text).toContain('Client revoking a token');
    expect((await mcpPost(filesPath, untouched.access_token)).status).toBe(200);
    expect((await refresh(other, untouched.refresh_token!)).status).toBe(200);
  });

  it("ignores a revocation of another client's tokens: they keep working", async () => {
    const redirectUri = 'http://127.0.0.1:41013/cb';
    const victim = await register(redirectUri, 'Victim client');
    const attacker = await register('http://127.0.0.1:41014/cb', 'Attacker client');
    const { code, verifier } = await manualCode({ clientId: victim, redirectUri, resource: url(filesPath) });
    const issued = (await redeem(victim, redirectUri, code, verifier)).body;

    for (const [value, hint] of [[issued.access_token, 'access_token'], [issued.refresh_token!, 'refresh_token']] as const) {
      // RFC 7009: the answer is the same as for a revoked token, and says nothing about the token.
      expect(await revoke(attacker, value, hint)).toEqual({ status: 200, error: undefined });
      expect(await revoke('no-such-client', value, hint)).toMatchObject({ status: 401, error: 'invalid_client' });
    }
    expect((await mcpPost(filesPath, issued.access_token)).status).toBe(200);
    const refreshed = await refresh(victim, issued.refresh_token!);
    expect(refreshed.status).toBe(200);
    expect((await mcpPost(filesPath, refreshed.body.access_token)).status).toBe(200);
  });

  it('lets a person withdraw an approval on the connected clients page, with its CSRF token', async () => {
    const redirectUri = 'http://127.0.0.1:41006/cb';
    const clientId = await register(redirectUri, 'Client to withdraw');
    const { code, verifier } = await manualCode({ clientId, redirectUri, resource: url(filesPath), credentials: MEMBER_A });
    const issued = (await redeem(clientId, redirectUri, code, verifier)).body;

    const browser = new OAuthBrowser(gateway.url);
    const listed = await browse(browser, '/oauth/consents', MEMBER_A);
    if (listed.kind !== 'page') throw new Error('expected the consents page');
    const row = new RegExp(`Client to withdraw[\\s\\S]*?action="(/oauth/consents/[0-9a-f-]+/revoke)"`).exec(listed.page.text);
    if (!row?.[1]) throw new Error(`no withdraw button: ${listed.page.text}`);
    const forged = await browser.post(row[1], {});
    expect(forged.status).toBe(403);
    expect((await mcpPost(filesPath, issued.access_token)).status).toBe(200);

    const withdrawn = await browser.post(row[1], { csrf_token: /name="csrf_token" value="([^"]+)"/.exec(listed.page.text)?.[1] ?? '' });
    expect(withdrawn.status).toBe(303);
    expect((await mcpPost(filesPath, issued.access_token)).status).toBe(401);
    expect(await refresh(clientId, issued.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await connectedClients(MEMBER_A)).text).not.toContain('Client to withdraw');
    const events = (await owner().get<{ events: AuditEventJson[] }>('/api/v1/audit?action=oauth.consent.revoke')).body.events;
    expect(events.find((e) => e.resource_id === clientId)).toMatchObject({ actor: { type: 'user', id: memberId } });
  });

  it("gives an mcp:read token the read-only tools only, and answers another tool's call with 403 insufficient_scope", async () => {
    const redirectUri = 'http://127.0.0.1:41007/cb';
    const clientId = await register(redirectUri);
    const { code, verifier } = await manualCode({ clientId, redirectUri, resource: url(filesPath), scope: 'mcp:read', credentials: MEMBER_A });
    const issued = (await redeem(clientId, redirectUri, code, verifier)).body;
    expect(issued.scope).toBe('mcp:read');

    const client = await connectFullV2(url(filesPath), issued.access_token);
    const names = (await client.listTools()).map((t) => t.name);
    expect(names).toContain('read_file');
    expect(names).not.toContain('write_file');
    expect(textOf(await client.callTool('read_file', { path: 'notes.txt' }))).toContain('Friday');
    await client.close();

    const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'write_file', arguments: { path: 'notes.txt', content: 'overwritten' } } };
    const refused = await mcpPost(filesPath, issued.access_token, call);
    expect(refused.status).toBe(403);
    expect(refused.challenge).toContain('error="insufficient_scope"');
    expect(refused.challenge).toContain('scope="mcp"');
    expect(refused.challenge).toContain(`resource_metadata="${url(`/.well-known/oauth-protected-resource${filesPath}`)}"`);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'forbidden' } });

    const files = await connectFullV2(url(filesPath), ownerKey);
    expect(textOf(await files.callTool('read_file', { path: 'notes.txt' }))).toBe('The launch is on Friday.');
    await files.close();
  });

  it('lets the SDK client step up from mcp:read to mcp when a call needs it', async () => {
    const provider = new MemoryOAuthProvider('http://127.0.0.1:41010/callback', { clientName: 'Step-up client' });
    const browser = new OAuthBrowser(gateway.url);
    await connectWithOAuth({ provider, serverUrl: url(filesPath), browser, credentials: MEMBER_A, scope: 'mcp:read' });
    expect(provider.saved?.scope).toBe('mcp:read');

    const transport = new StreamableHTTPClientTransport(new URL(url(filesPath)), { authProvider: provider });
    const client = new Client({ name: 'e2e-step-up', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(transport);
    const write = { name: 'write_file', arguments: { path: 'stepped-up.txt', content: 'written after step-up' } };
    // The 403 challenge names "mcp": the client asks the person again, for the wider scope.
    await expect(client.callTool(write)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.authorizationUrl?.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['mcp', 'mcp:read']));

    const consent = await browse(browser, provider.authorizationUrl!.toString());
    if (consent.kind !== 'page') throw new Error(`expected the consent page: ${consent.url.toString()} from ${provider.authorizationUrl!.toString()}`);
    const { stop } = await answerConsent(browser, consent.page, 'approve');
    if (stop?.kind !== 'callback') throw new Error('expected the callback');
    const { code, iss } = callbackParams(stop.url);
    await transport.finishAuth(code!, iss!);
    expect(provider.saved?.scope?.split(' ')).toContain('mcp');
    expect((await client.callTool(write)).isError).toBeFalsy();
    await client.close();
    const files = await connectFullV2(url(filesPath), ownerKey);
    expect(textOf(await files.callTool('read_file', { path: 'stepped-up.txt' }))).toBe('written after step-up');
    await files.close();
  });

  it('connects the v1 SDK client: 401, discovery, dynamic registration, PKCE in the browser, then tools/list', async () => {
    const provider = new MemoryOAuthProvider('http://127.0.0.1:41015/callback', { clientName: 'v1 SDK client' });
    const seen: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const target = new URL(input instanceof Request ? input.url : input.toString());
      seen.push(`${init?.method ?? 'GET'} ${target.pathname} ${response.status}`);
      return response;
    };
    const tenantPath = `/t/${A}/mcp`;
    const first = new V1Transport(new URL(url(tenantPath)), { authProvider: provider, fetch: recording });
    await expect(new V1Client({ name: 'e2e-v1-oauth', version: '1.0.0' }).connect(first)).rejects.toBeInstanceOf(V1UnauthorizedError);
    expect(seen).toEqual(
      expect.arrayContaining([
        `POST ${tenantPath} 401`,
        `GET /.well-known/oauth-protected-resource${tenantPath} 200`,
        'GET /.well-known/oauth-authorization-server 200',
        'POST /oauth/reg 201',
      ]),
    );
    const authorization = provider.authorizationUrl!;
    expect(authorization.searchParams.get('resource')).toBe(url(tenantPath));
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');

    const { code } = await approveInBrowser(new OAuthBrowser(gateway.url), authorization, MEMBER_A);
    await first.finishAuth(code);
    expect(seen).toContain('POST /oauth/token 200');
    const client = new V1Client({ name: 'e2e-v1-oauth', version: '1.0.0' });
    await client.connect(new V1Transport(new URL(url(tenantPath)), { authProvider: provider }));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['files__read_file', 'bot__helper']));
    const read = await client.callTool({ name: 'files__read_file', arguments: { path: 'notes.txt' } });
    expect(textOf(read as CallToolResult)).toContain('Friday');
    await client.close();
  });

  it("refuses to connect a person to another tenant's endpoint, whatever the form says", async () => {
    const redirectUri = 'http://127.0.0.1:41008/cb';
    const clientId = await register(redirectUri, 'Cross-tenant client');
    const pkce = pkcePair();
    const browser = new OAuthBrowser(gateway.url);
    const stop = await browse(
      browser,
      authorizeUrl({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: url(`/t/${B}/mcp`), state: 'x', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
      OWNER_A,
    );
    if (stop.kind !== 'page') throw new Error('expected the refusal page');
    expect(stop.page.status).toBe(403);
    expect(stop.page.text).toContain('not a member of the tenant <code>oauth-b</code>');
    expect(stop.page.text).not.toContain('value="approve"');

    for (const tenant of [tenantA.id, tenantB.id]) {
      const forged = await answerConsent(browser, stop.page, 'approve', { tenant });
      expect(forged.response.status).toBe(403);
      expect(forged.stop).toBeUndefined();
    }
    const denied = await answerConsent(browser, stop.page, 'deny');
    if (denied.stop?.kind !== 'callback') throw new Error('expected the callback');
    expect(callbackParams(denied.stop.url)).toMatchObject({ code: null, error: 'access_denied' });
    expect((await connectedClients(OWNER_A)).text).not.toContain('Cross-tenant client');
    expect((await connectedClients(OWNER_B)).text).not.toContain('Cross-tenant client');
  });

  it('changes nothing when the consent form comes without its CSRF token', async () => {
    const redirectUri = 'http://127.0.0.1:41009/cb';
    const clientId = await register(redirectUri, 'CSRF target');
    const pkce = pkcePair();
    const browser = new OAuthBrowser(gateway.url);
    const stop = await browse(
      browser,
      authorizeUrl({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: url(filesPath), state: 'c', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
      OWNER_A,
    );
    if (stop.kind !== 'page') throw new Error('expected the consent page');
    for (const csrf of ['', 'forged-token']) {
      const forged = await answerConsent(browser, stop.page, 'approve', { csrf_token: csrf });
      expect(forged.response.status).toBe(403);
      expect(forged.response.location).toBeNull();
    }
    expect((await connectedClients(OWNER_A)).text).not.toContain('CSRF target');
    const approved = await answerConsent(browser, stop.page, 'approve');
    if (approved.stop?.kind !== 'callback') throw new Error('expected the callback');
    expect(callbackParams(approved.stop.url).code).toBeTruthy();
  });

  it('remembers consent per person and client for a client that redirects to the web', async () => {
    const redirectUri = 'https://connector.example/callback';
    const first = await manualCode({ clientId: 'web-connector', redirectUri, resource: url(`/t/${A}/mcp`), scope: 'mcp' });
    expect((await redeem('web-connector', redirectUri, first.code, first.verifier)).status).toBe(200);

    // Same browser, same person: no consent page this time.
    const pkce = pkcePair();
    const again = await browse(
      first.browser,
      authorizeUrl({ client_id: 'web-connector', redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: url(`/t/${A}/mcp`), state: 'again', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
    );
    if (again.kind !== 'callback') throw new Error(`expected the callback without consent, got ${again.page.status}: ${again.page.text.slice(0, 300)}`);
    const { code } = callbackParams(again.url);
    const issued = await redeem('web-connector', redirectUri, code!, pkce.verifier);
    expect((await mcpPost(`/t/${A}/mcp`, issued.body.access_token)).status).toBe(200);
    expect((await mcpPost(filesPath, issued.body.access_token)).status).toBe(401);

    // Another person in the same browser is asked: consent is per person.
    const other = new OAuthBrowser(gateway.url);
    const asked = await browse(
      other,
      authorizeUrl({ client_id: 'web-connector', redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: url(`/t/${A}/mcp`), state: 'm', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
      MEMBER_A,
    );
    expect(asked.kind).toBe('page');
  });

  it('rate-limits dynamic registration per address', async () => {
    const statuses: number[] = [];
    const retryAfter = new Set<string | null>();
    for (let i = 0; i < 25; i += 1) {
      const response = await fetch(url('/oauth/reg'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: `flood ${i}`, redirect_uris: ['http://127.0.0.1:1/cb'], token_endpoint_auth_method: 'none', application_type: 'native' }),
      });
      statuses.push(response.status);
      if (response.status === 429) retryAfter.add(response.headers.get('retry-after'));
    }
    expect([...retryAfter]).toEqual(['3600']);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 201).length).toBeLessThan(25);
  });
});
