import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventJson } from '../support/http.ts';
import { openRawEventStream } from '../support/mcp-listener.ts';
import { browse, callbackParams, OAuthBrowser } from '../support/oauth.ts';
import { A, botPath, filesPath, MEMBER_A, pkcePair, startOAuthFixture, type OAuthFixture } from '../support/oauth-fixture.ts';

describe('the gateway as OAuth 2.1 authorization server: refresh, revocation and approvals', () => {
  let f: OAuthFixture;
  beforeAll(async () => {
    f = await startOAuthFixture();
  });
  afterAll(() => f?.stop());

  it('rotates refresh tokens: a refreshed-away token is refused, and its reuse revokes the grant', async () => {
    const redirectUri = 'http://127.0.0.1:21004/cb';
    const clientId = await f.register(redirectUri);
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(filesPath) });
    const first = (await f.redeem(clientId, redirectUri, code, verifier)).body;

    const second = await f.refresh(clientId, first.refresh_token!);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect((await f.mcpPost(filesPath, second.body.access_token)).status).toBe(200);
    expect((await f.mcpPost(botPath, second.body.access_token)).status).toBe(401);

    expect(await f.refresh(clientId, first.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await f.mcpPost(filesPath, second.body.access_token)).status).toBe(401);
    expect(await f.refresh(clientId, second.body.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('revokes: a revoked refresh token takes its access tokens with it', async () => {
    const redirectUri = 'http://127.0.0.1:21005/cb';
    const clientId = await f.register(redirectUri);
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(filesPath) });
    const issued = (await f.redeem(clientId, redirectUri, code, verifier)).body;
    expect((await f.mcpPost(filesPath, issued.access_token)).status).toBe(200);

    expect(await f.revoke(clientId, issued.refresh_token!, 'refresh_token')).toEqual({ status: 200, error: undefined });
    expect((await f.mcpPost(filesPath, issued.access_token)).status).toBe(401);
    expect(await f.refresh(clientId, issued.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('revokes an access token at once, with the refresh tokens of its grant (RFC 7009 §2.1); the approval stays', async () => {
    const redirectUri = 'http://127.0.0.1:21011/cb';
    const clientId = await f.register(redirectUri, 'Client revoking a token');
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(filesPath), credentials: MEMBER_A });
    const issued = (await f.redeem(clientId, redirectUri, code, verifier)).body;
    const other = await f.register('http://127.0.0.1:21012/cb', 'Bystander client');
    const bystander = await f.manualCode({ clientId: other, redirectUri: 'http://127.0.0.1:21012/cb', resource: f.url(filesPath), credentials: MEMBER_A });
    const untouched = (await f.redeem(other, 'http://127.0.0.1:21012/cb', bystander.code, bystander.verifier)).body;
    expect((await f.mcpPost(filesPath, issued.access_token)).status).toBe(200);

    expect(await f.revoke(clientId, issued.access_token, 'access_token')).toEqual({ status: 200, error: undefined });
    const refused = await f.mcpPost(filesPath, issued.access_token);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toContain('error="invalid_token"');
    // oidc-provider ends the grant's refresh tokens too, as RFC 7009 allows: the client signs in again.
    expect(await f.refresh(clientId, issued.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // The person's approval (the grant) is not withdrawn, and another client's tokens are not touched.
    expect((await f.connectedClients(MEMBER_A)).text).toContain('Client revoking a token');
    expect((await f.mcpPost(filesPath, untouched.access_token)).status).toBe(200);
    expect((await f.refresh(other, untouched.refresh_token!)).status).toBe(200);
  });

  it('ends a stream held open with an access token once the token is revoked', async () => {
    const redirectUri = 'http://127.0.0.1:21013/cb';
    const clientId = await f.register(redirectUri, 'Client listening');
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(filesPath), credentials: MEMBER_A });
    const issued = (await f.redeem(clientId, redirectUri, code, verifier)).body;
    const stream = await openRawEventStream(f.url(filesPath), issued.access_token);
    expect(stream.status).toBe(200);

    expect(await f.revoke(clientId, issued.access_token, 'access_token')).toEqual({ status: 200, error: undefined });
    expect(await stream.ended).toBe('ended');
  });

  it("ignores a revocation of another client's tokens: they keep working", async () => {
    const redirectUri = 'http://127.0.0.1:21013/cb';
    const victim = await f.register(redirectUri, 'Victim client');
    const attacker = await f.register('http://127.0.0.1:21014/cb', 'Attacker client');
    const { code, verifier } = await f.manualCode({ clientId: victim, redirectUri, resource: f.url(filesPath) });
    const issued = (await f.redeem(victim, redirectUri, code, verifier)).body;

    for (const [value, hint] of [[issued.access_token, 'access_token'], [issued.refresh_token!, 'refresh_token']] as const) {
      // RFC 7009: the answer is the same as for a revoked token, and says nothing about the token.
      expect(await f.revoke(attacker, value, hint)).toEqual({ status: 200, error: undefined });
      expect(await f.revoke('no-such-client', value, hint)).toMatchObject({ status: 401, error: 'invalid_client' });
    }
    expect((await f.mcpPost(filesPath, issued.access_token)).status).toBe(200);
    const refreshed = await f.refresh(victim, issued.refresh_token!);
    expect(refreshed.status).toBe(200);
    expect((await f.mcpPost(filesPath, refreshed.body.access_token)).status).toBe(200);
  });

  it('lets a person withdraw an approval on the connected clients page, with its CSRF token', async () => {
    const redirectUri = 'http://127.0.0.1:21006/cb';
    const clientId = await f.register(redirectUri, 'Client to withdraw');
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(filesPath), credentials: MEMBER_A });
    const issued = (await f.redeem(clientId, redirectUri, code, verifier)).body;

    const browser = new OAuthBrowser(f.gateway.url);
    const listed = await browse(browser, '/oauth/consents', MEMBER_A);
    if (listed.kind !== 'page') throw new Error('expected the consents page');
    const row = new RegExp(`Client to withdraw[\\s\\S]*?action="(/oauth/consents/[0-9a-f-]+/revoke)"`).exec(listed.page.text);
    if (!row?.[1]) throw new Error(`no withdraw button: ${listed.page.text}`);
    const forged = await browser.post(row[1], {});
    expect(forged.status).toBe(403);
    expect((await f.mcpPost(filesPath, issued.access_token)).status).toBe(200);

    const withdrawn = await browser.post(row[1], { csrf_token: /name="csrf_token" value="([^"]+)"/.exec(listed.page.text)?.[1] ?? '' });
    expect(withdrawn.status).toBe(303);
    expect((await f.mcpPost(filesPath, issued.access_token)).status).toBe(401);
    expect(await f.refresh(clientId, issued.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await f.connectedClients(MEMBER_A)).text).not.toContain('Client to withdraw');
    const events = (await f.owner().get<{ events: AuditEventJson[] }>('/api/v1/audit?action=oauth.consent.revoke')).body.events;
    expect(events.find((e) => e.resource_id === clientId)).toMatchObject({ actor: { type: 'user', id: f.memberId } });
  });

  it('remembers consent per person and client for a client that redirects to the web', async () => {
    const redirectUri = 'https://connector.example/callback';
    const first = await f.manualCode({ clientId: 'web-connector', redirectUri, resource: f.url(`/t/${A}/mcp`), scope: 'mcp' });
    expect((await f.redeem('web-connector', redirectUri, first.code, first.verifier)).status).toBe(200);

    // Same browser, same person: no consent page this time.
    const pkce = pkcePair();
    const again = await browse(
      first.browser,
      f.authorizeUrl({ client_id: 'web-connector', redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: f.url(`/t/${A}/mcp`), state: 'again', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
    );
    if (again.kind !== 'callback') throw new Error(`expected the callback without consent, got ${again.page.status}: ${again.page.text.slice(0, 300)}`);
    const { code } = callbackParams(again.url);
    const issued = await f.redeem('web-connector', redirectUri, code!, pkce.verifier);
    expect((await f.mcpPost(`/t/${A}/mcp`, issued.body.access_token)).status).toBe(200);
    expect((await f.mcpPost(filesPath, issued.body.access_token)).status).toBe(401);

    // Another person in the same browser is asked: consent is per person.
    const other = new OAuthBrowser(f.gateway.url);
    const asked = await browse(
      other,
      f.authorizeUrl({ client_id: 'web-connector', redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: f.url(`/t/${A}/mcp`), state: 'm', code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
      MEMBER_A,
    );
    expect(asked.kind).toBe('page');
  });

  it("lists everything a client's approval holds: what was approved earlier stays listed after a narrower request", async () => {
    const redirectUri = 'https://connector.example/callback';
    for (const scope of ['mcp', 'mcp:read']) {
      const approved = await f.manualCode({ clientId: 'web-connector', redirectUri, resource: f.url(botPath), scope, credentials: MEMBER_A });
      expect((await f.redeem('web-connector', redirectUri, approved.code, approved.verifier)).status).toBe(200);
    }
    const page = (await f.connectedClients(MEMBER_A)).text;
    const row = page.split('<tr>').find((r) => r.includes('Web Connector') && r.includes(f.url(botPath)));
    expect(row).toContain('<code>mcp</code>');
    expect(row).toContain('<code>mcp:read</code>');
    const events = (await f.owner().get<{ events: AuditEventJson[] }>('/api/v1/audit?action=oauth.consent.grant')).body.events;
    const latest = events.find((e) => e.resource_id === 'web-connector' && (e.after as { resource: string }).resource === f.url(botPath));
    expect(latest?.after).toMatchObject({ scopes: ['mcp', 'mcp:read'] });
  });
});
