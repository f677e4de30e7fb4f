import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { createAccessTokenVerifier } from '../../src/gateway/oauth/access-token.ts';
import { createProvider } from '../../src/gateway/oauth/provider.ts';
import { deriveCookieKeys, SIGNING_ALG } from '../../src/gateway/oauth/signing-keys.ts';
import { withAuthenticator, withTenant, type Db } from '../../src/shared/db.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createTenancyModule, type OAuthStorage } from '../../src/tenancy/index.ts';
import { OAUTH_ROLE } from '../../src/tenancy/oauth.service.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const HOUR = 3600;
const noIndexes = { grantId: null, userCode: null, uid: null, expiresIn: HOUR };
const grantActive = async (oauth: OAuthStorage, grantId: string) => (await oauth.models.find('Grant', grantId)) !== undefined;

async function seedMember(db: Db) {
  const tenancy = createTenancyModule({ db });
  const tenant = await tenancy.tenants.create(operator, { slug: `oa-${randomUUID().slice(0, 8)}` });
  const { member } = await tenancy.members.add(tenant.id, operator, { email: `p-${randomUUID().slice(0, 8)}@example.com`, role: 'member', password: 'correct horse battery staple' });
  return { storage: tenancy.oauth, tenant, userId: member.userId };
}

/** Runs `statement` as the given role and returns the error message, or 'ok'. */
async function asRole(db: Db, role: string, statement: ReturnType<typeof sql>): Promise<string> {
  try {
    await db.transaction().execute(async (trx) => {
      await sql`select set_config('role', ${role}, true)`.execute(trx);
      await statement.execute(trx);
    });
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}

describeEachDatabase('OAuth storage', (use) => {
  const storage = (): OAuthStorage => createTenancyModule({ db: use().db }).oauth;

  it('keeps models by kind and id, lets one of two racing redemptions win, and revokes by grant', async () => {
    const oauth = storage();
    const grantId = `grant-${randomUUID()}`;
    await oauth.models.upsert('Grant', grantId, { accountId: 'a', clientId: 'c' }, noIndexes);
    await oauth.models.upsert('AuthorizationCode', 'code-1', { grantId, clientId: 'c' }, { ...noIndexes, grantId });
    await oauth.models.upsert('RefreshToken', 'rt-1', { grantId }, { ...noIndexes, grantId });
    // Same id, another kind: a different model.
    await oauth.models.upsert('RefreshToken', 'code-1', { other: true }, noIndexes);
    expect(await oauth.models.find('AuthorizationCode', 'code-1')).toEqual({ grantId, clientId: 'c' });

    const results = await Promise.all([oauth.models.consume('AuthorizationCode', 'code-1'), oauth.models.consume('AuthorizationCode', 'code-1')]);
    expect(results.map((r) => r.consumed).sort((a, b) => Number(a) - Number(b))).toEqual([false, true]);
    expect(results.every((r) => r.grantId === grantId)).toBe(true);
    expect((await oauth.models.find('AuthorizationCode', 'code-1'))?.['consumed']).toEqual(expect.any(Number));
    // A replaced payload keeps its consumption.
    await oauth.models.upsert('AuthorizationCode', 'code-1', { grantId, clientId: 'c', again: true }, { ...noIndexes, grantId });
    expect((await oauth.models.find('AuthorizationCode', 'code-1'))?.['consumed']).toEqual(expect.any(Number));

    await oauth.models.revokeByGrant('RefreshToken', grantId);
    expect(await oauth.models.find('RefreshToken', 'rt-1')).toBeUndefined();
    expect(await oauth.models.find('RefreshToken', 'code-1')).toEqual({ other: true });
    expect(await grantActive(oauth, grantId)).toBe(true);

    await oauth.destroyGrant(grantId);
    expect(await grantActive(oauth, grantId)).toBe(false);
    expect(await oauth.models.find('AuthorizationCode', 'code-1')).toBeUndefined();
  });

  it('finds an access token only while it and its grant are unexpired and unrevoked, in one query', async () => {
    const oauth = storage();
    const [live, expiring] = [`grant-${randomUUID()}`, `grant-${randomUUID()}`];
    await oauth.models.upsert('Grant', live, {}, noIndexes);
    await oauth.models.upsert('Grant', expiring, {}, noIndexes);
    const token = async (id: string, grantId: string | null, expiresIn = HOUR) => {
      await oauth.models.upsert('AccessToken', id, { grantId, aud: 'https://gw/t/x/mcp' }, { ...noIndexes, grantId, expiresIn });
      return oauth.models.findWithActiveGrant('AccessToken', id);
    };
    expect(await token('at-live', live)).toEqual({ grantId: live, aud: 'https://gw/t/x/mcp' });
    expect(await token('at-expired', live, 0)).toBeUndefined();
    expect(await token('at-orphan', null)).toBeUndefined();
    expect(await token('at-no-grant', `grant-${randomUUID()}`)).toBeUndefined();
    expect(await token('at-expiring', expiring)).toBeDefined();

    // The grant lapses before the token does: the token lapses with it.
    await oauth.models.upsert('Grant', expiring, {}, { ...noIndexes, expiresIn: 0 });
    expect(await oauth.models.findWithActiveGrant('AccessToken', 'at-expiring')).toBeUndefined();
    expect(await oauth.models.find('AccessToken', 'at-expiring')).toBeDefined();
    // Revoked one by one (the revocation endpoint), or with the grant.
    await oauth.models.destroy('AccessToken', 'at-live');
    expect(await oauth.models.findWithActiveGrant('AccessToken', 'at-live')).toBeUndefined();
    expect(await token('at-live-2', live)).toBeDefined();
    await oauth.destroyGrant(live);
    expect(await oauth.models.findWithActiveGrant('AccessToken', 'at-live-2')).toBeUndefined();
  });

  it('finds sessions by uid, hides what expired and deletes it', async () => {
    const oauth = storage();
    const uid = randomUUID();
    await oauth.models.upsert('Session', 's-1', { uid, accountId: 'a' }, { ...noIndexes, uid });
    expect(await oauth.models.findBy('Session', 'uid', uid)).toEqual({ uid, accountId: 'a' });
    await oauth.models.upsert('Interaction', 'gone', { x: 1 }, { ...noIndexes, expiresIn: 0 });
    await oauth.models.upsert('Client', 'forever', { client_id: 'forever' }, { ...noIndexes, expiresIn: undefined });
    expect(await oauth.models.find('Interaction', 'gone')).toBeUndefined();
    expect(await oauth.models.find('Client', 'forever')).toEqual({ client_id: 'forever' });
    expect(await oauth.deleteExpired()).toBeGreaterThanOrEqual(1);
    expect(await oauth.models.find('Client', 'forever')).toBeDefined();
  });

  it('keeps codes, access and refresh tokens under a digest, their value nowhere in the table, and finds, consumes and revokes them by it', async () => {
    const { db } = use();
    const { storage: oauth, tenant, userId } = await seedMember(db);
    // The gateway's own provider and adapter, as `serve` configures them, on this database.
    const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const resource = 'https://gw.example/t/x/mcp';
    const redirectUri = 'https://connector.example/callback';
    const { provider } = await createProvider({
      issuer: 'https://gw.example',
      storage: oauth,
      keys: { privateJwks: [{ ...signingKey, kid: 'k1', alg: SIGNING_ALG, use: 'sig' }] },
      cookieKeys: deriveCookieKeys(randomBytes(32)),
      clients: [{ client_id: 'connector', redirect_uris: [redirectUri] }],
      allowPrivateNetworks: [],
      accessTokenTtl: HOUR,
      metadataDocuments: true,
      logger: createLogger({ level: 'silent' }),
    });
    const client = await provider.Client.find('connector');
    if (!client) throw new Error('the configured client is missing');
    const grant = new provider.Grant({ accountId: userId, clientId: 'connector' });
    grant.addResourceScope(resource, 'mcp');
    const grantId = await grant.save();
    await oauth.consents.record(
      { ...operator, actor: { type: 'user', id: userId } },
      { userId, tenantId: tenant.id, clientId: 'connector', clientName: null, resource, scopes: ['mcp'], grantId },
    );
    const issued = { client, grantId, accountId: userId, scope: 'mcp', gty: 'authorization_code' };
    const code = await new provider.AuthorizationCode({ ...issued, resource, redirectUri, codeChallenge: 'x'.repeat(43), codeChallengeMethod: 'S256' }).save();
    const refreshToken = await new provider.RefreshToken({ ...issued, resource }).save();
    const accessToken = await new provider.AccessToken({ ...issued, aud: resource }).save();
    const values = [code, refreshToken, accessToken];

    // As the table's owner would dump it: every column of every row.
    const rows = (await sql<{ kind: string; id: string; payload: unknown; grant_id: string | null }>`select * from oauth_models`.execute(db)).rows;
    const issuedRows = rows.filter((row) => row.grant_id === grantId);
    expect(issuedRows.map((row) => row.kind).sort()).toEqual(['AccessToken', 'AuthorizationCode', 'RefreshToken']);
    for (const row of issuedRows) {
      expect(row.id).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
      expect(Object.keys(row.payload as object)).not.toContain('jti');
    }
    const dump = JSON.stringify(rows);
    for (const value of values) expect(dump).not.toContain(value);

    // Found by the value the client presents, with it as jti, as the provider and the resource server need.
    expect(await createAccessTokenVerifier((token) => provider.AccessToken.find(token))(accessToken, resource)).toMatchObject({ userId, tenantId: tenant.id, grantId });
    const [foundCode, foundRefresh, foundAccess] = await Promise.all([
      provider.AuthorizationCode.find(code),
      provider.RefreshToken.find(refreshToken),
      provider.AccessToken.find(accessToken),
    ]);
    expect([foundCode?.jti, foundRefresh?.jti, foundAccess?.jti]).toEqual(values);
    expect(foundCode).toMatchObject({ grantId, redirectUri, codeChallengeMethod: 'S256' });

    // Revoked by value (the revocation endpoint destroys the model it found).
    await foundAccess?.destroy();
    expect(await provider.AccessToken.find(accessToken)).toBeUndefined();
    // Revoked by grant (what revoking a refresh token does to the grant's access tokens).
    const another = await new provider.AccessToken({ ...issued, aud: resource }).save();
    await provider.AccessToken.revokeByGrantId(grantId);
    expect(await provider.AccessToken.find(another)).toBeUndefined();
    // Rotated: the consumed refresh token is still found, marked consumed.
    await foundRefresh?.consume();
    expect((await provider.RefreshToken.find(refreshToken))?.consumed).toEqual(expect.any(Number));
    // Redeemed once; the replay is refused and revokes the grant with all it issued.
    await foundCode?.consume();
    expect((await provider.AuthorizationCode.find(code))?.isValid).toBe(false);
    await expect(foundCode?.consume()).rejects.toMatchObject({ error: 'invalid_grant', error_detail: 'authorization code already used' });
    expect(await grantActive(oauth, grantId)).toBe(false);
    expect(await provider.RefreshToken.find(refreshToken)).toBeUndefined();
    expect(await provider.AuthorizationCode.find(code)).toBeUndefined();

    // A token stored under its value before digests were kept is no longer found by it.
    const legacy = randomBytes(32).toString('base64url');
    await oauth.models.upsert('RefreshToken', legacy, { jti: legacy, kind: 'RefreshToken' }, noIndexes);
    expect(await provider.RefreshToken.find(legacy)).toBeUndefined();
  });

  it('makes one signing key however many nodes ask for it at once', async () => {
    const oauth = storage();
    let made = 0;
    const create = async () => {
      made += 1;
      return { kid: `kid-${made}`, alg: 'ES256', sealedJwk: 'v1:sealed' };
    };
    const loaded = await Promise.all([oauth.signingKeys.loadOrCreate(create), oauth.signingKeys.loadOrCreate(create), oauth.signingKeys.loadOrCreate(create)]);
    expect(made).toBe(1);
    expect(new Set(loaded.map((keys) => keys.map((k) => k.kid).join()))).toEqual(new Set(['kid-1']));
  });

  it('counts hits in fixed windows', async () => {
    const oauth = storage();
    const key = `k-${randomUUID()}`;
    expect([await oauth.hit(key, HOUR), await oauth.hit(key, HOUR), await oauth.hit(key, HOUR)]).toEqual([1, 2, 3]);
    expect(await oauth.hit(`${key}-other`, HOUR)).toBe(1);
  });

  it("remembers a person's consent, revokes a replaced grant, and lets only that person withdraw it, audited", async () => {
    const { storage: oauth, tenant, userId } = await seedMember(use().db);
    const stranger = await seedMember(use().db);
    const context = { ...operator, actor: { type: 'user' as const, id: userId } };
    const first = `grant-${randomUUID()}`;
    await oauth.models.upsert('Grant', first, {}, noIndexes);
    const consent = { userId, tenantId: tenant.id, clientId: 'client-1', clientName: 'Client', resource: 'https://gw/t/x/mcp', scopes: ['mcp'], grantId: first };
    const recorded = await oauth.consents.record(context, consent);
    expect(await oauth.consents.find(userId, 'client-1', 'https://gw/t/x/mcp')).toMatchObject({ id: recorded.id, grantId: first, tenantId: tenant.id });

    const second = `grant-${randomUUID()}`;
    await oauth.models.upsert('Grant', second, {}, noIndexes);
    await oauth.consents.record(context, { ...consent, grantId: second, scopes: ['mcp', 'mcp:read'] });
    expect(await grantActive(oauth, first)).toBe(false);
    expect(await oauth.consents.findByGrant(second)).toMatchObject({ id: recorded.id, scopes: ['mcp', 'mcp:read'] });

    expect(await oauth.consents.revoke(context, stranger.userId, recorded.id)).toBeUndefined();
    expect(await grantActive(oauth, second)).toBe(true);
    expect(await oauth.consents.revoke(context, userId, recorded.id)).toMatchObject({ id: recorded.id });
    expect(await grantActive(oauth, second)).toBe(false);
    expect(await oauth.consents.list(userId)).toEqual([]);

    const actions = await withTenant(use().db, tenant.id, (trx) =>
      trx.selectFrom('audit_events').select(['action', 'actor_id']).where('resource_type', '=', 'oauth_client').orderBy('seq').execute(),
    );
    expect(actions).toEqual([
      { action: 'oauth.consent.grant', actor_id: userId },
      { action: 'oauth.consent.grant', actor_id: userId },
      { action: 'oauth.consent.revoke', actor_id: userId },
    ]);
  });

  it("resolves a person's membership by tenant id or slug, and nothing for a non-member", async () => {
    const { storage: oauth, tenant, userId } = await seedMember(use().db);
    const other = await seedMember(use().db);
    expect(await oauth.membership(userId, { id: tenant.id })).toMatchObject({ tenant: { slug: tenant.slug }, role: 'member' });
    expect(await oauth.membership(userId, { slug: tenant.slug })).toMatchObject({ tenant: { id: tenant.id } });
    expect(await oauth.membership(userId, { id: other.tenant.id })).toBeUndefined();
    expect(await oauth.membership(userId, { slug: other.tenant.slug })).toBeUndefined();
    expect(await oauth.membership('not-a-uuid', { id: tenant.id })).toBeUndefined();
  });

  it('keeps the OAuth role to its own tables, and the other roles out of them', async () => {
    const { db } = use();
    expect(await asRole(db, OAUTH_ROLE, sql`select 1 from oauth_models limit 1`)).toBe('ok');
    for (const table of ['api_keys', 'tenants', 'memberships', 'servers', 'sessions']) {
      const result = await asRole(db, OAUTH_ROLE, sql`select 1 from ${sql.table(table)} limit 1`);
      expect({ table, result }).toEqual({ table, result: expect.stringMatching(/permission denied/) });
    }
    expect(await asRole(db, OAUTH_ROLE, sql`update oauth_signing_keys set alg = 'none'`)).toMatch(/permission denied/);
    for (const role of ['botgate_app', 'botgate_auth', 'botgate_session']) {
      for (const table of ['oauth_models', 'oauth_consents', 'oauth_signing_keys']) {
        const result = await asRole(db, role, sql`select 1 from ${sql.table(table)} limit 1`);
        expect({ role, table, result }).toEqual({ role, table, result: expect.stringMatching(/permission denied/) });
      }
    }
    // The membership check goes through the authenticator, which may read memberships.
    expect(await withAuthenticator(db, async (trx) => (await sql`select 1 from memberships limit 1`.execute(trx)).rows.length)).toBeGreaterThanOrEqual(0);
  });
});
