import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, seedTenant } from '../support/http.ts';
import { answerConsent, browse, callbackParams, OAuthBrowser, postMcp } from '../support/oauth.ts';

const PUBLIC_URL = 'http://botgate.test';
const PASSWORD = 'correct horse battery staple';

// Two gateway replicas on one PostgreSQL database behind an imaginary load balancer at
// PUBLIC_URL: every step of a flow may land on either, and the state is all in the database.
describe.skipIf(!TEST_DATABASE_URL)('OAuth across gateway replicas', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  const gateways: GatewayProcess[] = [];
  const dataDirs: string[] = [];
  const nodes = () => gateways.map((g) => g.url);
  const tenant = 'replica-co';
  const filesPath = `/t/${tenant}/mcp/servers/files`;

  beforeAll(async () => {
    database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    dataDirs.push(await makeDataDir(), await makeDataDir());
    const env = { BOTGATE_SECRET_KEY: randomBytes(32).toString('hex'), PUBLIC_URL };
    // Started together on an empty database: both race to make the signing key.
    const started = await Promise.allSettled(dataDirs.map((dataDir) => startGateway({ dataDir, databaseUrl: database?.url, env })));
    for (const result of started) if (result.status === 'fulfilled') gateways.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const seeded = await seedTenant(dataDirs[0] ?? '', tenant);
    const created = await apiClient(gateways[0]?.url ?? '', seeded.key.secret).post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } });
    if (created.status !== 201) throw new Error(`setup: ${JSON.stringify(created.body)}`);
  });

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await database?.drop();
    await Promise.all(dataDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  it('makes one signing key for all replicas, kept sealed in the database', async () => {
    const jwks = await Promise.all(nodes().map(async (node) => (await (await fetch(`${node}/oauth/jwks`)).json()) as { keys: Array<{ kid: string; d?: string }> }));
    expect(jwks[0]?.keys).toHaveLength(1);
    expect(jwks[1]?.keys.map((k) => k.kid)).toEqual(jwks[0]?.keys.map((k) => k.kid));
    expect(jwks[0]?.keys[0]?.d).toBeUndefined();
    const client = new Client({ connectionString: database?.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ sealed_jwk: string }>('select sealed_jwk from oauth_signing_keys');
      expect(rows).toHaveLength(1);
      expect(rows[0]?.sealed_jwk).toMatch(/^v1:/);
      expect(rows[0]?.sealed_jwk).not.toContain('"d"');
    } finally {
      await client.end();
    }
  });

  const post = (node: string, path: string, form: Record<string, string>) =>
    fetch(`${node}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  const list = (node: string, token: string) => postMcp(`${node}${filesPath}`, token);

  /** A client registered on the first replica gets tokens, every browser request going to the other replica than the one before. */
  async function authorizeAcrossReplicas(redirectUri: string): Promise<{ clientId: string; code: string; tokens: { access_token: string; refresh_token: string } }> {
    const [first, second] = nodes() as [string, string];
    const registered = await fetch(`${first}/oauth/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Replica client', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', application_type: 'native' }),
    });
    const { client_id: clientId } = (await registered.json()) as { client_id: string };

    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${PUBLIC_URL}/oauth/auth`);
    for (const [name, value] of Object.entries({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'mcp offline_access',
      resource: `${PUBLIC_URL}${filesPath}`,
      state: 'replicas',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })) {
      authorize.searchParams.set(name, value);
    }
    const browser = new OAuthBrowser(PUBLIC_URL, nodes());
    const consent = await browse(browser, authorize.toString(), { email: `owner@${tenant}.example`, password: PASSWORD });
    if (consent.kind !== 'page') throw new Error('expected the consent page');
    const { stop } = await answerConsent(browser, consent.page, 'approve');
    if (stop?.kind !== 'callback') throw new Error('expected the callback');
    const { code, iss } = callbackParams(stop.url);
    expect(iss).toBe(PUBLIC_URL);

    const exchanged = await post(second, '/oauth/token', { grant_type: 'authorization_code', client_id: clientId, redirect_uri: redirectUri, code: code ?? '', code_verifier: verifier });
    expect(exchanged.status).toBe(200);
    return { clientId, code: code ?? '', tokens: (await exchanged.json()) as { access_token: string; refresh_token: string } };
  }

  it('serves each step of a flow from whichever replica the request lands on', async () => {
    const [first, second] = nodes() as [string, string];
    const { clientId, tokens } = await authorizeAcrossReplicas('http://127.0.0.1:22000/cb');
    for (const node of nodes()) expect((await list(node, tokens.access_token)).status).toBe(200);

    // Rotated on one replica; the old refresh token replayed on the other revokes the grant everywhere.
    const refreshed = (await (await post(first, '/oauth/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: tokens.refresh_token })).json()) as {
      access_token: string;
    };
    expect((await list(second, refreshed.access_token)).status).toBe(200);
    expect((await post(second, '/oauth/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: tokens.refresh_token })).status).toBe(400);
    for (const node of nodes()) expect((await list(node, refreshed.access_token)).status).toBe(401);
  });

  it('ends an access token revoked on one replica on every replica at once', async () => {
    const [first] = nodes() as [string, string];
    const { clientId, tokens } = await authorizeAcrossReplicas('http://127.0.0.1:22001/cb');
    for (const node of nodes()) expect((await list(node, tokens.access_token)).status).toBe(200);

    const revoked = await post(first, '/oauth/token/revocation', { token: tokens.access_token, token_type_hint: 'access_token', client_id: clientId });
    expect(revoked.status).toBe(200);
    for (const node of nodes()) expect((await list(node, tokens.access_token)).status).toBe(401);
  });

  it('keeps no code or token it issued in the database, only their digests', async () => {
    const [first] = nodes() as [string, string];
    const { clientId, code, tokens } = await authorizeAcrossReplicas('http://127.0.0.1:22002/cb');
    const refreshed = (await (await post(first, '/oauth/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: tokens.refresh_token })).json()) as {
      access_token: string;
      refresh_token: string;
    };
    expect((await list(first, refreshed.access_token)).status).toBe(200);
    const client = new Client({ connectionString: database?.url });
    await client.connect();
    try {
      // Everything the flow left behind (interactions, sessions, the grant, codes and tokens), as a dump would show it.
      const { rows } = await client.query('select * from oauth_models');
      const dump = JSON.stringify(rows);
      for (const value of [code, tokens.access_token, tokens.refresh_token, refreshed.access_token, refreshed.refresh_token]) expect(dump).not.toContain(value);
    } finally {
      await client.end();
    }
  });
});
