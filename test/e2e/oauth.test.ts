import { auth, Client, createPrivateKeyJwtAuth, StreamableHTTPClientTransport, UnauthorizedError, type CallToolResult } from '@modelcontextprotocol/client';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { UnauthorizedError as V1UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textReply } from '../fakes/anthropic.ts';
import { pollUntil } from '../support/gateway-process.ts';
import type { AuditEventJson } from '../support/http.ts';
import { connectFullV2 } from '../support/mcp-full-clients.ts';
import { answerConsent, approveInBrowser, browse, callbackParams, connectWithOAuth, MemoryOAuthProvider, OAuthBrowser } from '../support/oauth.ts';
import { A, botPath, filesPath, KEYED_AGENT_JWKS, MEMBER_A, OWNER_A, startOAuthFixture, textOf, type OAuthFixture } from '../support/oauth-fixture.ts';

describe('the gateway as OAuth 2.1 authorization server for MCP clients', () => {
  let f: OAuthFixture;
  beforeAll(async () => {
    f = await startOAuthFixture();
  });
  afterAll(() => f?.stop());

  it('publishes RFC 8414 and RFC 9728 metadata, and MCP paths challenge with them', async () => {
    const metadata = (await (await fetch(f.url('/.well-known/oauth-authorization-server'))).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: f.gateway.url,
      authorization_endpoint: f.url('/oauth/auth'),
      token_endpoint: f.url('/oauth/token'),
      registration_endpoint: f.url('/oauth/reg'),
      revocation_endpoint: f.url('/oauth/token/revocation'),
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
    expect(metadata['scopes_supported']).toEqual(expect.arrayContaining(['mcp', 'mcp:read']));

    const prm = await fetch(f.url(`/.well-known/oauth-protected-resource${botPath}`));
    expect(await prm.json()).toEqual({
      resource: f.url(botPath),
      authorization_servers: [f.gateway.url],
      scopes_supported: ['mcp', 'mcp:read'],
      bearer_methods_supported: ['header'],
      resource_name: `Botgate MCP endpoint ${botPath}`,
    });
    expect((await fetch(f.url('/.well-known/oauth-protected-resource/api/v1/me'))).status).toBe(404);

    const anonymous = await fetch(f.url(botPath), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${f.url(`/.well-known/oauth-protected-resource${botPath}`)}", scope="mcp"`);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('connects a member with dynamic registration: the bot lists and answers over the token', async () => {
    const provider = new MemoryOAuthProvider('http://127.0.0.1:33418/callback', { clientName: 'Claude Code (e2e)' });
    const browser = new OAuthBrowser(f.gateway.url);
    const started = await auth(provider, { serverUrl: f.url(botPath) });
    expect(started).toBe('REDIRECT');
    const authorization = provider.authorizationUrl!;
    expect(authorization.searchParams.get('resource')).toBe(f.url(botPath));
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    const consent = await browse(browser, authorization.toString(), MEMBER_A);
    if (consent.kind !== 'page') throw new Error('expected the consent page');
    expect(consent.page.status).toBe(200);
    expect(consent.page.text).toContain('Claude Code (e2e)');
    expect(consent.page.text).toContain('127.0.0.1:33418');
    expect(consent.page.text).toContain(f.url(botPath));
    expect(consent.page.text).toContain('the bot helper of tenant oauth-a');
    expect(consent.page.text).toContain('registered itself');
    expect(consent.page.headers.get('content-security-policy')).toContain("form-action 'self' http://127.0.0.1:33418");
    const { stop } = await answerConsent(browser, consent.page, 'approve');
    if (stop?.kind !== 'callback') throw new Error('expected the callback');
    const params = callbackParams(stop.url);
    expect(params).toMatchObject({ iss: f.gateway.url, state: authorization.searchParams.get('state') });
    expect(await auth(provider, { serverUrl: f.url(botPath), authorizationCode: params.code!, iss: params.iss! })).toBe('AUTHORIZED');

    // Opaque: the token tells the client nothing of the person or the tenant; the gateway keeps that.
    expect(provider.saved!.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Without a challenge to go by, the SDK asks for every scope the endpoint's metadata lists.
    expect(provider.saved!.scope?.split(' ')).toContain('mcp');
    expect(provider.saved!.refresh_token).toBeTruthy();

    const client = new Client({ name: 'e2e-oauth', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(f.url(botPath)), { authProvider: provider }));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['ask']);
    f.fake.script(textReply('Friday, says the helper.'));
    const answer = await client.callTool({ name: 'ask', arguments: { message: 'When is the launch?' } });
    expect(textOf(answer)).toContain('Friday, says the helper.');
    await client.close();

    // The call is the member's own, in the tenant's audit trail.
    const audited = await pollUntil('the ask call audited', async () => {
      const events = (await f.owner().get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=50')).body.events;
      return events.find((e) => e.actor.type === 'user' && e.actor.id === f.memberId);
    });
    expect(audited.after).toMatchObject({ tool: 'ask', outcome: 'ok' });
  });

  it('connects a client identified by its metadata document, on a loopback redirect with any port', async () => {
    const clientId = `${f.docs.url}/clients/desktop.json`;
    f.docs.documents.set('/clients/desktop.json', {
      client_id: clientId,
      client_name: 'Desktop (metadata document)',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    });
    const provider = new MemoryOAuthProvider('http://127.0.0.1:29152/callback', { clientMetadataUrl: clientId });
    const browser = new OAuthBrowser(f.gateway.url);
    await connectWithOAuth({ provider, serverUrl: f.url(filesPath), browser, credentials: OWNER_A });
    expect(provider.client?.client_id).toBe(clientId);
    expect(f.docs.fetches).toContain('/clients/desktop.json');

    const client = new Client({ name: 'e2e-oauth-cimd', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(f.url(filesPath)), { authProvider: provider }));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['read_file', 'write_file']));
    expect(textOf(await client.callTool({ name: 'read_file', arguments: { path: 'notes.txt' } }))).toContain('The launch is on Friday.');
    await client.close();

    const page = (await f.connectedClients(OWNER_A)).text;
    expect(page).toContain('Desktop (metadata document)');
    expect(page).toContain(f.url(filesPath));
  });

  it("connects a client whose metadata document names no application type and only portless loopback redirects, as Claude Code's does", async () => {
    const clientId = `${f.docs.url}/clients/cli.json`;
    f.docs.documents.set('/clients/cli.json', {
      client_id: clientId,
      client_name: 'CLI (metadata document, no application type)',
      redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    const provider = new MemoryOAuthProvider('http://127.0.0.1:50123/callback', { clientMetadataUrl: clientId });
    const callback = await connectWithOAuth({ provider, serverUrl: f.url(filesPath), browser: new OAuthBrowser(f.gateway.url), credentials: OWNER_A });
    expect(callback.origin).toBe('http://127.0.0.1:50123');
    const client = new Client({ name: 'e2e-oauth-cli', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(f.url(filesPath)), { authProvider: provider }));
    expect(textOf(await client.callTool({ name: 'read_file', arguments: { path: 'notes.txt' } }))).toContain('The launch is on Friday.');
    await client.close();
  });

  it("connects a client whose metadata document also lists a grant the gateway does not offer, as VS Code's does, on another loopback port", async () => {
    const clientId = `${f.docs.url}/clients/editor.json`;
    f.docs.documents.set('/clients/editor.json', {
      client_id: clientId,
      client_name: 'Editor (metadata document with the device flow)',
      redirect_uris: ['http://127.0.0.1:33418/', 'https://editor.example/redirect'],
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    });
    // Its usual port taken, the editor listens on another.
    const provider = new MemoryOAuthProvider('http://127.0.0.1:50125/', { clientMetadataUrl: clientId });
    await connectWithOAuth({ provider, serverUrl: f.url(filesPath), browser: new OAuthBrowser(f.gateway.url), credentials: OWNER_A });
    expect(provider.saved?.refresh_token).toBeTruthy();
    const client = new Client({ name: 'e2e-oauth-editor', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(f.url(filesPath)), { authProvider: provider }));
    expect(textOf(await client.callTool({ name: 'read_file', arguments: { path: 'notes.txt' } }))).toContain('The launch is on Friday.');
    await client.close();
  });

  it("connects a client that proves itself with a signed assertion (private_key_jwt) under its document's key set, as ChatGPT's does", async () => {
    const clientId = `${f.docs.url}/clients/assistant.json`;
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    f.docs.documents.set('/clients/assistant-jwks.json', { keys: [{ ...(await exportJWK(publicKey)), kid: 'assistant-1', alg: 'RS256', use: 'sig' }] });
    f.docs.documents.set('/clients/assistant.json', {
      client_id: clientId,
      client_name: 'Assistant (private_key_jwt)',
      redirect_uris: ['https://assistant.example/connector_oauth_redirect'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      jwks_uri: `${f.docs.url}/clients/assistant-jwks.json`,
    });
    const signed = (key: string) => createPrivateKeyJwtAuth({ issuer: clientId, subject: clientId, privateKey: key, alg: 'RS256' });
    const provider = new MemoryOAuthProvider('https://assistant.example/connector_oauth_redirect', {
      clientMetadataUrl: clientId,
      addClientAuthentication: signed(await exportPKCS8(privateKey)),
    });
    await connectWithOAuth({ provider, serverUrl: f.url(filesPath), browser: new OAuthBrowser(f.gateway.url), credentials: OWNER_A });
    expect(f.docs.fetches).toContain('/clients/assistant-jwks.json');
    expect(await f.toolNames(filesPath, provider.saved!.access_token)).toEqual(expect.arrayContaining(['read_file']));

    // Another key's assertion, or none, does not redeem a code.
    const { privateKey: otherKey } = await generateKeyPair('RS256', { extractable: true });
    for (const addClientAuthentication of [signed(await exportPKCS8(otherKey)), undefined]) {
      const impostor = new MemoryOAuthProvider('https://assistant.example/connector_oauth_redirect', { clientMetadataUrl: clientId, addClientAuthentication });
      await expect(connectWithOAuth({ provider: impostor, serverUrl: f.url(filesPath), browser: new OAuthBrowser(f.gateway.url), credentials: OWNER_A })).rejects.toThrow(
        /invalid_client|client authentication failed/i,
      );
      expect(impostor.saved).toBeUndefined();
    }
  });

  it('connects a client the operator registered with a key set (private_key_jwt), and no other key redeems its code', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    f.docs.documents.set(KEYED_AGENT_JWKS, { keys: [{ ...(await exportJWK(publicKey)), kid: 'agent-1', alg: 'ES256', use: 'sig' }] });
    const agent = async (key: Parameters<typeof exportPKCS8>[0]) => {
      const provider = new MemoryOAuthProvider('https://agent.example/callback', {
        addClientAuthentication: createPrivateKeyJwtAuth({ issuer: 'keyed-agent', subject: 'keyed-agent', privateKey: await exportPKCS8(key), alg: 'ES256' }),
      });
      provider.client = { client_id: 'keyed-agent' };
      return provider;
    };
    const provider = await agent(privateKey);
    await connectWithOAuth({ provider, serverUrl: f.url(filesPath), browser: new OAuthBrowser(f.gateway.url), credentials: OWNER_A });
    expect(await f.toolNames(filesPath, provider.saved!.access_token)).toEqual(expect.arrayContaining(['read_file']));

    const impostor = await agent((await generateKeyPair('ES256', { extractable: true })).privateKey);
    await expect(connectWithOAuth({ provider: impostor, serverUrl: f.url(filesPath), browser: new OAuthBrowser(f.gateway.url), credentials: OWNER_A })).rejects.toThrow(
      /invalid_client|client authentication failed/i,
    );
    expect(impostor.saved).toBeUndefined();
  });

  it('holds a metadata document that says it is a web client to its redirects exactly, port included', async () => {
    const clientId = `${f.docs.url}/clients/web.json`;
    f.docs.documents.set('/clients/web.json', {
      client_id: clientId,
      client_name: 'Web app on loopback',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'web',
    });
    const provider = new MemoryOAuthProvider('http://127.0.0.1:50124/callback', { clientMetadataUrl: clientId });
    expect(await auth(provider, { serverUrl: f.url(filesPath) })).toBe('REDIRECT');
    const stop = await browse(new OAuthBrowser(f.gateway.url), provider.authorizationUrl!.toString(), OWNER_A);
    if (stop.kind !== 'page') throw new Error(`expected a refusal page, got the callback ${stop.url.toString()}`);
    expect(stop.page.status).toBe(400);
    expect(stop.page.text).toContain('redirect_uri did not match');
  });

  it('registers a desktop app that comes back by its own scheme, as Cursor does, with or without naming a type, and gives it a code there', async () => {
    const redirectUri = 'cursor://anysphere.cursor-mcp/oauth/callback';
    const registered: Array<{ client_id: string; application_type: string }> = [];
    for (const declared of [{}, { application_type: 'web' }]) {
      const response = await fetch(f.url('/oauth/reg'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'Desktop editor',
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
          ...declared,
        }),
      });
      expect(response.status).toBe(201);
      registered.push((await response.json()) as { client_id: string; application_type: string });
    }
    expect(registered.map((client) => client.application_type)).toEqual(['native', 'native']);

    const clientId = registered[0]!.client_id;
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(filesPath) });
    const issued = await f.redeem(clientId, redirectUri, code, verifier);
    expect(issued.status).toBe(200);
    expect(await f.toolNames(filesPath, issued.body.access_token)).toEqual(expect.arrayContaining(['read_file']));
  });

  it('gives a request without scope the default scope mcp, which the person approves', async () => {
    const redirectUri = 'http://127.0.0.1:21002/cb';
    const clientId = await f.register(redirectUri);
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(botPath), scope: null });
    const issued = await f.redeem(clientId, redirectUri, code, verifier);
    expect(issued.status).toBe(200);
    expect(issued.body.scope).toBe('mcp');
    expect(await f.toolNames(botPath, issued.body.access_token)).toEqual(['ask']);
  });

  it("gives an mcp:read token the read-only tools only, and answers another tool's call with 403 insufficient_scope", async () => {
    const redirectUri = 'http://127.0.0.1:21007/cb';
    const clientId = await f.register(redirectUri);
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(filesPath), scope: 'mcp:read', credentials: MEMBER_A });
    const issued = (await f.redeem(clientId, redirectUri, code, verifier)).body;
    expect(issued.scope).toBe('mcp:read');

    const client = await connectFullV2(f.url(filesPath), issued.access_token);
    const names = (await client.listTools()).map((t) => t.name);
    expect(names).toContain('read_file');
    expect(names).not.toContain('write_file');
    expect(textOf(await client.callTool('read_file', { path: 'notes.txt' }))).toContain('Friday');
    await client.close();

    const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'write_file', arguments: { path: 'notes.txt', content: 'overwritten' } } };
    const refused = await f.mcpPost(filesPath, issued.access_token, call);
    expect(refused.status).toBe(403);
    expect(refused.challenge).toContain('error="insufficient_scope"');
    expect(refused.challenge).toContain('scope="mcp"');
    expect(refused.challenge).toContain(`resource_metadata="${f.url(`/.well-known/oauth-protected-resource${filesPath}`)}"`);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'forbidden' } });

    const files = await connectFullV2(f.url(filesPath), f.ownerKey);
    expect(textOf(await files.callTool('read_file', { path: 'notes.txt' }))).toBe('The launch is on Friday.');
    await files.close();
  });

  it('lets the SDK client step up from mcp:read to mcp when a call needs it', async () => {
    const provider = new MemoryOAuthProvider('http://127.0.0.1:21010/callback', { clientName: 'Step-up client' });
    const browser = new OAuthBrowser(f.gateway.url);
    await connectWithOAuth({ provider, serverUrl: f.url(filesPath), browser, credentials: MEMBER_A, scope: 'mcp:read' });
    expect(provider.saved?.scope).toBe('mcp:read');

    const transport = new StreamableHTTPClientTransport(new URL(f.url(filesPath)), { authProvider: provider });
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
    const files = await connectFullV2(f.url(filesPath), f.ownerKey);
    expect(textOf(await files.callTool('read_file', { path: 'stepped-up.txt' }))).toBe('written after step-up');
    await files.close();
  });

  it('connects the v1 SDK client: 401, discovery, dynamic registration, PKCE in the browser, then tools/list', async () => {
    const provider = new MemoryOAuthProvider('http://127.0.0.1:21015/callback', { clientName: 'v1 SDK client' });
    const seen: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const target = new URL(input instanceof Request ? input.url : input.toString());
      seen.push(`${init?.method ?? 'GET'} ${target.pathname} ${response.status}`);
      return response;
    };
    const tenantPath = `/t/${A}/mcp`;
    const first = new V1Transport(new URL(f.url(tenantPath)), { authProvider: provider, fetch: recording });
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
    expect(authorization.searchParams.get('resource')).toBe(f.url(tenantPath));
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');

    const { code } = await approveInBrowser(new OAuthBrowser(f.gateway.url), authorization, MEMBER_A);
    await first.finishAuth(code);
    expect(seen).toContain('POST /oauth/token 200');
    const client = new V1Client({ name: 'e2e-v1-oauth', version: '1.0.0' });
    await client.connect(new V1Transport(new URL(f.url(tenantPath)), { authProvider: provider }));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['files__read_file', 'bot__helper']));
    const read = await client.callTool({ name: 'files__read_file', arguments: { path: 'notes.txt' } });
    expect(textOf(read as CallToolResult)).toContain('Friday');
    await client.close();
  });
});
