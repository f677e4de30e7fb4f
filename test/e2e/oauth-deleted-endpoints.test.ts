import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventJson } from '../support/http.ts';
import { answerConsent, browse, OAuthBrowser } from '../support/oauth.ts';
import { A, filesPath, MEMBER_A, pkcePair, startOAuthFixture, type OAuthFixture } from '../support/oauth-fixture.ts';

const scratchPath = `/t/${A}/mcp/servers/scratch`;
const tempBotPath = `/t/${A}/mcp/bots/temp`;
const againPath = `/t/${A}/mcp/servers/again`;

// An approval is given for an endpoint's URL, which names the server or bot by slug: one created
// later under a deleted one's slug must not be reached by the clients approved for the old one.
describe('deleting a server or a bot withdraws the OAuth approvals given for its endpoint', () => {
  let f: OAuthFixture;
  beforeAll(async () => {
    f = await startOAuthFixture();
  });
  afterAll(() => f?.stop());

  async function createScratchAndTemp() {
    expect((await f.owner().post('/api/v1/servers', { json: { slug: 'scratch', kind: 'filesystem' } })).status).toBe(201);
    const bot = { slug: 'temp', model: 'claude-sonnet-4-5', description: 'Answers questions.', system_prompt: 'Be brief.' };
    expect((await f.owner().post('/api/v1/bots', { json: bot })).status).toBe(201);
  }

  /** A client approved by the member for `path`, and the tokens it was issued. */
  async function approvedClient(path: string, name: string, port: number) {
    const redirectUri = `http://127.0.0.1:${port}/cb`;
    const clientId = await f.register(redirectUri, name);
    const { code, verifier } = await f.manualCode({ clientId, redirectUri, resource: f.url(path), credentials: MEMBER_A });
    const issued = (await f.redeem(clientId, redirectUri, code, verifier)).body;
    expect((await f.mcpPost(path, issued.access_token)).status).toBe(200);
    return { clientId, issued };
  }

  it('refuses the old tokens on a server and a bot recreated under the same slugs, and audits the withdrawals', async () => {
    await createScratchAndTemp();
    const onServer = await approvedClient(scratchPath, 'Client of the scratch server', 23001);
    const onBot = await approvedClient(tempBotPath, 'Client of the temp bot', 23002);
    const bystander = await approvedClient(filesPath, 'Client of the files server', 23003);

    expect((await f.owner().delete('/api/v1/servers/scratch')).status).toBe(204);
    expect((await f.owner().delete('/api/v1/bots/temp')).status).toBe(204);
    await createScratchAndTemp();

    for (const [path, { clientId, issued }] of [
      [scratchPath, onServer],
      [tempBotPath, onBot],
    ] as const) {
      const refused = await f.mcpPost(path, issued.access_token);
      expect(refused.status).toBe(401);
      expect(refused.challenge).toContain('error="invalid_token"');
      expect(await f.refresh(clientId, issued.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    }
    const page = (await f.connectedClients(MEMBER_A)).text;
    expect(page).not.toContain('Client of the scratch server');
    expect(page).not.toContain('Client of the temp bot');

    // Another endpoint's approval, by the same person, is untouched.
    expect(page).toContain('Client of the files server');
    expect((await f.mcpPost(filesPath, bystander.issued.access_token)).status).toBe(200);
    expect((await f.refresh(bystander.clientId, bystander.issued.refresh_token!)).status).toBe(200);

    const me = (await f.owner().get<{ key: { id: string } }>('/api/v1/me')).body;
    const events = (await f.owner().get<{ events: AuditEventJson[] }>('/api/v1/audit?action=oauth.consent.revoke')).body.events;
    for (const [path, { clientId }] of [
      [scratchPath, onServer],
      [tempBotPath, onBot],
    ] as const) {
      expect(events.find((e) => e.resource_id === clientId)).toMatchObject({
        actor: { type: 'api_key', id: me.key.id },
        before: { resource: f.url(path), scopes: ['mcp'] },
      });
    }
    expect(events.find((e) => e.resource_id === bystander.clientId)).toBeUndefined();
  });

  it('asks the person again before a remembered client reaches a server recreated under the slug', async () => {
    expect((await f.owner().post('/api/v1/servers', { json: { slug: 'again', kind: 'filesystem' } })).status).toBe(201);
    // The operator's pre-registered client: its approvals are remembered (a self-registered client is asked each time).
    const redirectUri = 'https://connector.example/callback';
    const approved = await f.manualCode({ clientId: 'web-connector', redirectUri, resource: f.url(againPath), scope: 'mcp', credentials: MEMBER_A });
    const issued = (await f.redeem('web-connector', redirectUri, approved.code, approved.verifier)).body;
    const authorize = () => {
      const pkce = pkcePair();
      const params = { client_id: 'web-connector', redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: f.url(againPath), state: 's' };
      return f.authorizeUrl({ ...params, code_challenge: pkce.challenge, code_challenge_method: 'S256' });
    };
    expect((await browse(new OAuthBrowser(f.gateway.url), authorize(), MEMBER_A)).kind).toBe('callback');

    expect((await f.owner().delete('/api/v1/servers/again')).status).toBe(204);
    expect((await f.owner().post('/api/v1/servers', { json: { slug: 'again', kind: 'filesystem' } })).status).toBe(201);
    const asked = await browse(new OAuthBrowser(f.gateway.url), authorize(), MEMBER_A);
    if (asked.kind !== 'page') throw new Error(`expected the consent page, was sent back to ${asked.url.toString()}`);
    expect(asked.page.status).toBe(200);
    expect(asked.page.text).toContain('Web Connector');
    expect(asked.page.text).toContain('the server again of tenant');
    expect((await f.mcpPost(againPath, issued.access_token)).status).toBe(401);
  });

  it('refuses to approve a client for a server or bot the tenant does not have, and records nothing', async () => {
    const redirectUri = 'http://127.0.0.1:23005/cb';
    const clientId = await f.register(redirectUri, 'Client of what is not there');
    const authorize = (path: string) => {
      const pkce = pkcePair();
      const params = { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp', resource: f.url(path), state: 's' };
      return f.authorizeUrl({ ...params, code_challenge: pkce.challenge, code_challenge_method: 'S256' });
    };
    for (const [path, text] of [
      [`/t/${A}/mcp/servers/later`, 'has no server later'],
      [`/t/${A}/mcp/bots/later`, 'has no bot later'],
    ] as const) {
      const stop = await browse(new OAuthBrowser(f.gateway.url), authorize(path), MEMBER_A);
      if (stop.kind !== 'page') throw new Error(`expected a refusal, was sent back to ${stop.url.toString()}`);
      expect(stop.page.status).toBe(404);
      expect(stop.page.text).toContain(text);
    }

    // Deleted while the person looked at the consent page: approving it then is refused.
    expect((await f.owner().post('/api/v1/servers', { json: { slug: 'brief', kind: 'filesystem' } })).status).toBe(201);
    const browser = new OAuthBrowser(f.gateway.url);
    const consent = await browse(browser, authorize(`/t/${A}/mcp/servers/brief`), MEMBER_A);
    if (consent.kind !== 'page') throw new Error('expected the consent page');
    expect(consent.page.status).toBe(200);
    expect((await f.owner().delete('/api/v1/servers/brief')).status).toBe(204);
    const { response } = await answerConsent(browser, consent.page, 'approve');
    expect(response.status).toBe(404);
    expect(response.text).toContain('has no server brief');

    expect((await f.connectedClients(MEMBER_A)).text).not.toContain('Client of what is not there');
    const grants = (await f.owner().get<{ events: AuditEventJson[] }>('/api/v1/audit?action=oauth.consent.grant')).body.events;
    expect(grants.find((e) => e.resource_id === clientId)).toBeUndefined();
  });
});
