import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../support/gateway-process.ts';
import { answerConsent, browse, callbackParams, OAuthBrowser } from '../support/oauth.ts';
import { A, B, botPath, filesPath, OWNER_A, OWNER_B, pkcePair, startOAuthFixture, type OAuthFixture } from '../support/oauth-fixture.ts';

// The rate-limit test runs last: it spends this gateway's registrations for the address.
describe('the gateway as OAuth 2.1 authorization server: what it refuses', () => {
  let f: OAuthFixture;
  beforeAll(async () => {
    f = await startOAuthFixture();
  });
  afterAll(() => f?.stop());

  /** A fresh browser's authorization request as the client whose metadata document is at `clientId`, for the files endpoint. */
  function authorizeAs(clientId: string) {
    const pkce = pkcePair();
    return new OAuthBrowser(f.gateway.url).get(
      f.authorizeUrl({
        client_id: clientId,
        redirect_uri: 'http://127.0.0.1:5000/callback',
        response_type: 'code',
        scope: 'mcp',
        resource: f.url(filesPath),
        state: 's',
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
      }),
    );
  }

  it('refuses a metadata document whose client_id is not its own URL, issuing nothing', async () => {
    const listed = `${f.docs.url}/clients/liar.json`;
    f.docs.documents.set('/clients/liar.json', {
      client_id: `${f.docs.url}/clients/someone-else.json`,
      client_name: 'Liar',
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    });
    const response = await authorizeAs(listed);
    expect(response.status).toBe(400);
    expect(response.location).toBeNull();
    expect(response.text).toContain('client_id metadata document client_id does not match');
    expect((await f.connectedClients(OWNER_A)).text).not.toContain('Liar');
  });

  it('tells the person, and logs for the operator, why a metadata document could not be fetched, and what to do', async () => {
    const missing = `${f.docs.url}/clients/missing.json`;
    const response = await authorizeAs(missing);
    expect(response.status).toBe(400);
    expect(response.text).toContain('client_id metadata document fetch failed');
    expect(response.text).toContain('BOTGATE_OAUTH_METADATA_DOCUMENTS=off');
    const logged = (line: string) => line.includes('could not be fetched (unexpected response status 404)') && line.includes(missing);
    await pollUntil('the gateway to log why', async () => (f.gateway.output().split('\n').some(logged) ? true : undefined));
  });

  it('binds a token to the one endpoint it was issued for', async () => {
    const redirectUri = 'http://127.0.0.1:21001/cb';
    const clientId = await f.register(redirectUri);
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(botPath) });
    const issued = await f.redeem(clientId, redirectUri, code, verifier);
    expect(issued.status).toBe(200);
    const accessToken = issued.body.access_token;
    expect(await f.toolNames(botPath, accessToken)).toEqual(['ask']);
    for (const other of [filesPath, `/t/${A}/mcp`, `/t/${B}/mcp/bots/helper`, `/t/${B}/mcp`]) {
      const refused = await f.mcpPost(other, accessToken);
      expect({ other, status: refused.status }).toEqual({ other, status: 401 });
      expect(refused.challenge).toContain('error="invalid_token"');
      expect(refused.challenge).toContain(`resource_metadata="${f.url(`/.well-known/oauth-protected-resource${other}`)}"`);
    }
    // A resource that is not one of this gateway's MCP endpoints gets no code at all.
    const pkce = pkcePair();
    const browser = new OAuthBrowser(f.gateway.url);
    for (const resource of [undefined, 'https://elsewhere.example/t/oauth-a/mcp', f.url('/api/v1/me')]) {
      const stop = await browse(
        browser,
        f.authorizeUrl({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource, state: 'r', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
        OWNER_A,
      );
      if (stop.kind !== 'callback') throw new Error(`expected an error callback for ${resource}`);
      expect(callbackParams(stop.url)).toMatchObject({ code: null, error: 'invalid_target' });
    }
  });

  it('refuses a request without PKCE, with plain PKCE, or to an unregistered redirect URI, issuing nothing', async () => {
    const redirectUri = 'http://127.0.0.1:21002/cb';
    const clientId = await f.register(redirectUri, 'PKCE tester');
    const browser = new OAuthBrowser(f.gateway.url);
    const base = { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: f.url(filesPath), state: 'p' };
    for (const pkce of [{}, { code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }]) {
      const stop = await browse(browser, f.authorizeUrl({ ...base, ...pkce }), OWNER_A);
      if (stop.kind !== 'callback') throw new Error('expected an error callback');
      expect(callbackParams(stop.url)).toMatchObject({ code: null, error: 'invalid_request' });
    }
    const pkce = pkcePair();
    const unregistered = await browser.get(f.authorizeUrl({ ...base, redirect_uri: 'http://evil.example/cb', code_challenge: pkce.challenge, code_challenge_method: 'S256' }));
    expect(unregistered.status).toBe(400);
    expect(unregistered.location).toBeNull();
    expect(unregistered.text).toContain('redirect_uri');
    expect((await f.connectedClients(OWNER_A)).text).not.toContain('PKCE tester');
  });

  it('redeems a code once and only with its verifier; a replay revokes what the first redemption issued', async () => {
    const redirectUri = 'http://127.0.0.1:21003/cb';
    const clientId = await f.register(redirectUri);
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(filesPath) });

    const wrong = await f.redeem(clientId, redirectUri, code, pkcePair().verifier);
    expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const missing = await f.token({ grant_type: 'authorization_code', client_id: clientId, redirect_uri: redirectUri, code });
    expect(missing.status).toBe(400);

    const issued = await f.redeem(clientId, redirectUri, code, verifier);
    expect(issued.status).toBe(200);
    // Ten minutes: BOTGATE_OAUTH_ACCESS_TOKEN_TTL's default.
    expect(issued.body).toMatchObject({ token_type: 'Bearer', scope: 'mcp', expires_in: 600 });
    expect(await f.toolNames(filesPath, issued.body.access_token)).toContain('read_file');

    const replay = await f.redeem(clientId, redirectUri, code, verifier);
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await f.mcpPost(filesPath, issued.body.access_token)).status).toBe(401);
    expect(await f.refresh(clientId, issued.body.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it("refuses to connect a person to another tenant's endpoint, whatever the form says", async () => {
    const redirectUri = 'http://127.0.0.1:21008/cb';
    const clientId = await f.register(redirectUri, 'Cross-tenant client');
    const pkce = pkcePair();
    const browser = new OAuthBrowser(f.gateway.url);
    const stop = await browse(
      browser,
      f.authorizeUrl({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: f.url(`/t/${B}/mcp`), state: 'x', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
      OWNER_A,
    );
    if (stop.kind !== 'page') throw new Error('expected the refusal page');
    expect(stop.page.status).toBe(403);
    expect(stop.page.text).toContain('not a member of the tenant <code>oauth-b</code>');
    expect(stop.page.text).not.toContain('value="approve"');

    for (const tenant of [f.tenantA.id, f.tenantB.id]) {
      const forged = await answerConsent(browser, stop.page, 'approve', { tenant });
      expect(forged.response.status).toBe(403);
      expect(forged.stop).toBeUndefined();
    }
    const denied = await answerConsent(browser, stop.page, 'deny');
    if (denied.stop?.kind !== 'callback') throw new Error('expected the callback');
    expect(callbackParams(denied.stop.url)).toMatchObject({ code: null, error: 'access_denied' });
    expect((await f.connectedClients(OWNER_A)).text).not.toContain('Cross-tenant client');
    expect((await f.connectedClients(OWNER_B)).text).not.toContain('Cross-tenant client');
  });

  it('changes nothing when the consent form comes without its CSRF token', async () => {
    const redirectUri = 'http://127.0.0.1:21009/cb';
    const clientId = await f.register(redirectUri, 'CSRF target');
    const pkce = pkcePair();
    const browser = new OAuthBrowser(f.gateway.url);
    const stop = await browse(
      browser,
      f.authorizeUrl({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: f.url(filesPath), state: 'c', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
      OWNER_A,
    );
    if (stop.kind !== 'page') throw new Error('expected the consent page');
    for (const csrf of ['', 'forged-token']) {
      const forged = await answerConsent(browser, stop.page, 'approve', { csrf_token: csrf });
      expect(forged.response.status).toBe(403);
      expect(forged.response.location).toBeNull();
    }
    expect((await f.connectedClients(OWNER_A)).text).not.toContain('CSRF target');
    const approved = await answerConsent(browser, stop.page, 'approve');
    if (approved.stop?.kind !== 'callback') throw new Error('expected the callback');
    expect(callbackParams(approved.stop.url).code).toBeTruthy();
  });

  it('answers metadata and parameters the database cannot store with an OAuth error, not a server error', async () => {
    const registerNamed = (clientName: string) =>
      fetch(f.url('/oauth/reg'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: clientName, redirect_uris: ['http://127.0.0.1:1/cb'], token_endpoint_auth_method: 'none', application_type: 'native' }),
      });
    for (const [clientName, why] of [
      ['Tool \u0000 client', 'must not contain the NUL character'],
      ['Half \uD800 client', 'must not contain a lone UTF-16 surrogate'],
    ] as const) {
      const refused = await registerNamed(clientName);
      expect(refused.status).toBe(400);
      const body = (await refused.json()) as { error: string; error_description: string };
      expect(body.error).toBe('invalid_client_metadata');
      expect(body.error_description).toContain(`client_name ${why}`);
    }

    const pkce = pkcePair();
    const unknownClient = { client_id: 'no\u0000such-client', redirect_uri: 'http://127.0.0.1:1/cb', response_type: 'code', scope: 'mcp', state: 's' };
    const authorize = await new OAuthBrowser(f.gateway.url).get(
      f.authorizeUrl({ ...unknownClient, resource: f.url(filesPath), code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
    );
    expect(authorize.status).toBe(400);
    expect(authorize.location).toBeNull();

    const token = await fetch(f.url('/oauth/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'a\u0000b', client_id: 'no\u0000such-client', code_verifier: pkce.verifier }),
    });
    expect(token.status).toBe(401);
    expect(((await token.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('refuses to register a client whose redirects are a dangerous scheme, or a web client coming back by an app scheme, registering nothing', async () => {
    const register = (metadata: Record<string, unknown>) =>
      fetch(f.url('/oauth/reg'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: 'Refused', token_endpoint_auth_method: 'none', ...metadata }),
      });
    const refusals = [
      [{ redirect_uris: ['javascript:alert(1)'] }, 'must not use the javascript URI scheme'],
      // Its web redirect makes it a web client, which an app's scheme cannot reach.
      [{ redirect_uris: ['https://app.example/cb', 'cursor://anysphere.cursor-mcp/oauth/callback'] }, 'must only contain web uris'],
    ] as const;
    for (const [metadata, why] of refusals) {
      const refused = await register(metadata);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: expect.stringMatching(/^invalid_(redirect_uri|client_metadata)$/), error_description: expect.stringContaining(why) });
    }
  });

  it('issues no token to a client whose key set is at an address the operator has not allowed (the fetch is refused)', async () => {
    const redirectUri = 'http://127.0.0.1:21021/cb';
    const registered = await fetch(f.url('/oauth/reg'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Keys at the metadata address',
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'https://169.254.169.254/latest/keys.json',
        application_type: 'native',
      }),
    });
    // Registered: the key set is fetched only when the client proves itself, and that fetch is refused.
    expect(registered.status).toBe(201);
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(filesPath) });
    const { privateKey } = await generateKeyPair('ES256');
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(f.url('/oauth/token'))
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const refused = await f.token({
      grant_type: 'authorization_code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code,
      code_verifier: verifier,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: 'invalid_client' });
    expect(refused.body).not.toHaveProperty('access_token');
  });

  it('rate-limits dynamic registration per address', async () => {
    const statuses: number[] = [];
    const retryAfter = new Set<string | null>();
    for (let i = 0; i < 25; i += 1) {
      const response = await fetch(f.url('/oauth/reg'), {
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
