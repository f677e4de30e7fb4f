import { sql } from 'kysely';
import type { Db, Tx } from '../shared/db.ts';
import { APP_ROLE, withAuthenticator } from '../shared/db.ts';
import { recordAudit } from './audit.ts';
import {
  deleteConsent,
  deleteEndpointConsents,
  findConsent,
  findConsentByGrant,
  listConsents,
  listTenantGrantIds,
  upsertConsent,
  type NewOAuthConsent,
  type OAuthConsent,
} from './oauth-consent.repository.ts';
import {
  consumeModel,
  deleteExpiredModels,
  destroyGrant,
  destroyModel,
  findModel,
  findModelBy,
  findModelWithActiveGrant,
  revokeModelsByGrant,
  upsertModel,
  type ModelIndexes,
  type StoredPayload,
} from './oauth-model.repository.ts';
import type { RequestContext, Role, Tenant } from './types.ts';
import { isUuid } from './validation.ts';

/**
 * The role the authorization server's state is kept as: it may touch the oauth_* tables and
 * nothing else. The state is not tenant data (clients, codes and grants span tenants and are
 * found by random ids), so row-level security has nothing to key on; a separate role keeps
 * tenant work from reading it and this code from reading tenants' data.
 */
export const OAUTH_ROLE = 'botgate_oauth';

function withOAuthStore<T>(db: Db, fn: (trx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('role', ${OAUTH_ROLE}, true)`.execute(trx);
    return fn(trx);
  });
}

/**
 * Destroys the grants given for a tenant, and with them every code and token issued under them,
 * as the OAuth role in `trx`: part of deleting the tenant, run before its consents (which name the
 * grants) cascade away with it. Leaves `trx` in the OAuth role.
 */
export async function destroyTenantGrants(trx: Tx, tenantId: string): Promise<void> {
  await sql`select set_config('role', ${OAUTH_ROLE}, true)`.execute(trx);
  for (const grantId of await listTenantGrantIds(trx, tenantId)) await destroyGrant(trx, grantId);
}

/** A stored access-token signing key: the private JWK is sealed by the caller. */
export interface StoredSigningKey {
  kid: string;
  alg: string;
  sealedJwk: string;
  createdAt: Date;
}

/** The authorization server's storage: oidc-provider's models, consents, signing keys, counters. */
export interface OAuthStorage {
  models: {
    upsert(kind: string, id: string, payload: StoredPayload, indexes: ModelIndexes): Promise<void>;
    find(kind: string, id: string): Promise<StoredPayload | undefined>;
    findBy(kind: string, column: 'uid' | 'user_code', value: string): Promise<StoredPayload | undefined>;
    /** Like `find`, and only while the model's grant exists and has not expired (one query). */
    findWithActiveGrant(kind: string, id: string): Promise<StoredPayload | undefined>;
    /** False when already consumed: the caller refuses the second redemption. */
    consume(kind: string, id: string): Promise<{ consumed: boolean; grantId: string | null }>;
    destroy(kind: string, id: string): Promise<void>;
    revokeByGrant(kind: string, grantId: string): Promise<void>;
  };
  /** Deletes a grant and everything issued under it: its access tokens stop working at once. */
  destroyGrant(grantId: string): Promise<void>;
  consents: {
    find(userId: string, clientId: string, resource: string): Promise<OAuthConsent | undefined>;
    findByGrant(grantId: string): Promise<OAuthConsent | undefined>;
    list(userId: string): Promise<OAuthConsent[]>;
    /** Remembers an approval (audited in the tenant); a grant it replaces is revoked with its tokens. */
    record(context: RequestContext, consent: NewOAuthConsent): Promise<OAuthConsent>;
    /** Forgets an approval and revokes its grant and every token of it (audited); undefined when not the user's. */
    revoke(context: RequestContext, userId: string, id: string): Promise<OAuthConsent | undefined>;
    /**
     * Forgets every approval given for one of the tenant's MCP endpoints (`/t/{tenant}/mcp/servers/{slug}`),
     * revoking their grants and tokens (audited), in `trx`: a transaction of the tenant's, which it leaves in
     * the application role. Once it commits, the caller tells `credentialsChanged`.
     */
    revokeForEndpoint(trx: Tx, tenantId: string, context: RequestContext, endpointPath: string): Promise<OAuthConsent[]>;
  };
  /** Drops what every node keeps of the tenant's tokens: some were revoked in a transaction now committed. */
  credentialsChanged(tenantId: string): void;
  signingKeys: {
    /** The stored keys, newest first; `create` makes the first one when there is none (once, across nodes). */
    loadOrCreate(create: () => Promise<Omit<StoredSigningKey, 'createdAt'>>): Promise<StoredSigningKey[]>;
  };
  /** Counts a hit in the fixed window of `key`; returns the count so far in this window. */
  hit(key: string, windowSeconds: number): Promise<number>;
  /** The user's membership of a tenant, by the tenant's id or slug; undefined when not a member. */
  membership(userId: string, tenant: { id: string } | { slug: string }): Promise<{ tenant: Tenant; role: Role } | undefined>;
  /** Deletes expired models and stale counters. */
  deleteExpired(): Promise<number>;
}

export function createOAuthStorage({
  db,
  onCredentialsChanged,
}: {
  db: Db;
  /** Told, once committed, of an approval withdrawn or replaced, or access tokens revoked: some of the tenant's tokens no longer work. */
  onCredentialsChanged?: ((tenantId: string) => void) | undefined;
}): OAuthStorage {
  const store = <T>(fn: (trx: Tx) => Promise<T>) => withOAuthStore(db, fn);

  function auditConsent(trx: Tx, context: RequestContext, action: 'oauth.consent.grant' | 'oauth.consent.revoke', consent: OAuthConsent) {
    const summary = { client_id: consent.clientId, client_name: consent.clientName, resource: consent.resource, scopes: consent.scopes };
    return recordAudit(trx, consent.tenantId, context, {
      action,
      resourceType: 'oauth_client',
      resourceId: consent.clientId,
      ...(action === 'oauth.consent.revoke' ? { before: summary } : { after: summary }),
    });
  }

  /**
   * Changes a consent as the OAuth role, then records it in the tenant's audit
   * trail as the application role, in the same transaction.
   */
  function changeConsent(
    context: RequestContext,
    action: 'oauth.consent.grant' | 'oauth.consent.revoke',
    change: (trx: Tx) => Promise<OAuthConsent | undefined>,
  ): Promise<OAuthConsent | undefined> {
    return db.transaction().execute(async (trx) => {
      await sql`select set_config('role', ${OAUTH_ROLE}, true)`.execute(trx);
      const consent = await change(trx);
      if (!consent) return undefined;
      await sql`select set_config('role', ${APP_ROLE}, true), set_config('app.tenant_id', ${consent.tenantId}, true)`.execute(trx);
      await auditConsent(trx, context, action, consent);
      return consent;
    });
  }

  /**
   * Ends access tokens (at the revocation endpoint, or with their grant after a replayed code) in one
   * transaction with finding the tenant the grant's approval is for, whom it then tells: `end` returns the
   * grant when it ended some. Once the approval is gone there is none to tell; its withdrawal told.
   */
  async function endingAccess(end: (trx: Tx) => Promise<string | null | undefined>): Promise<void> {
    const tenantId = await store(async (trx) => {
      const grantId = await end(trx);
      return grantId ? (await findConsentByGrant(trx, grantId))?.tenantId : undefined;
    });
    if (tenantId !== undefined) onCredentialsChanged?.(tenantId);
  }

  return {
    models: {
      upsert: (kind, id, payload, indexes) => store((trx) => upsertModel(trx, kind, id, payload, indexes)),
      find: (kind, id) => store((trx) => findModel(trx, kind, id)),
      findBy: (kind, column, value) => store((trx) => findModelBy(trx, kind, column, value)),
      findWithActiveGrant: (kind, id) => store((trx) => findModelWithActiveGrant(trx, kind, id)),
      consume: (kind, id) => store((trx) => consumeModel(trx, kind, id)),
      // Only access tokens reach MCP endpoints (and their open streams); codes and refresh tokens do not.
      destroy: (kind, id) =>
        endingAccess(async (trx) => {
          const destroyed = await destroyModel(trx, kind, id);
          return kind === 'AccessToken' ? destroyed?.grantId : undefined;
        }),
      revokeByGrant: (kind, grantId) =>
        endingAccess(async (trx) => {
          const revoked = await revokeModelsByGrant(trx, kind, grantId);
          return kind === 'AccessToken' && revoked > 0 ? grantId : undefined;
        }),
    },

    destroyGrant: (grantId) =>
      endingAccess(async (trx) => {
        await destroyGrant(trx, grantId);
        return grantId;
      }),

    consents: {
      find: (userId, clientId, resource) => (isUuid(userId) ? store((trx) => findConsent(trx, userId, clientId, resource)) : Promise.resolve(undefined)),
      findByGrant: (grantId) => store((trx) => findConsentByGrant(trx, grantId)),
      list: (userId) => (isUuid(userId) ? store((trx) => listConsents(trx, userId)) : Promise.resolve([])),
      async record(context, input) {
        let replaced = false;
        const consent = await changeConsent(context, 'oauth.consent.grant', async (trx) => {
          const { consent: saved, replacedGrantId } = await upsertConsent(trx, input);
          if (replacedGrantId !== null) await destroyGrant(trx, replacedGrantId);
          replaced = replacedGrantId !== null;
          return saved;
        });
        if (!consent) throw new Error('the consent was not recorded');
        if (replaced) onCredentialsChanged?.(consent.tenantId);
        return consent;
      },
      async revoke(context, userId, id) {
        if (!isUuid(userId) || !isUuid(id)) return undefined;
        const deleted = await changeConsent(context, 'oauth.consent.revoke', async (trx) => {
          const found = await deleteConsent(trx, userId, id);
          if (found) await destroyGrant(trx, found.grantId);
          return found;
        });
        if (deleted) onCredentialsChanged?.(deleted.tenantId);
        return deleted;
      },
      async revokeForEndpoint(trx, tenantId, context, endpointPath) {
        await sql`select set_config('role', ${OAUTH_ROLE}, true)`.execute(trx);
        const withdrawn = await deleteEndpointConsents(trx, tenantId, endpointPath);
        for (const consent of withdrawn) await destroyGrant(trx, consent.grantId);
        await sql`select set_config('role', ${APP_ROLE}, true)`.execute(trx);
        for (const consent of withdrawn) await auditConsent(trx, context, 'oauth.consent.revoke', consent);
        return withdrawn;
      },
    },

    credentialsChanged: (tenantId) => onCredentialsChanged?.(tenantId),

    signingKeys: {
      loadOrCreate: (create) =>
        store(async (trx) => {
          // Nodes starting together would each make a key: the first to take the lock does, the others read it.
          await sql`select pg_advisory_xact_lock(hashtext('botgate.oauth_signing_keys'))`.execute(trx);
          const read = async () =>
            (await trx.selectFrom('oauth_signing_keys').selectAll().orderBy('created_at', 'desc').execute()).map((row) => ({
              kid: row.kid,
              alg: row.alg,
              sealedJwk: row.sealed_jwk,
              createdAt: row.created_at,
            }));
          const existing = await read();
          if (existing.length > 0) return existing;
          const key = await create();
          await trx.insertInto('oauth_signing_keys').values({ kid: key.kid, alg: key.alg, sealed_jwk: key.sealedJwk }).execute();
          return read();
        }),
    },

    hit: (key, windowSeconds) =>
      store(async (trx) => {
        const row = await sql<{ count: number }>`
          insert into oauth_rate_limits as r (key, window_start, count) values (${key}, now(), 1)
          on conflict (key) do update set
            count = case when r.window_start <= now() - make_interval(secs => ${windowSeconds}) then 1 else r.count + 1 end,
            window_start = case when r.window_start <= now() - make_interval(secs => ${windowSeconds}) then now() else r.window_start end
          returning count`.execute(trx);
        return row.rows[0]?.count ?? 1;
      }),

    async membership(userId, tenant) {
      if (!isUuid(userId) || ('id' in tenant && !isUuid(tenant.id))) return undefined;
      const row = await withAuthenticator(db, (trx) => {
        let query = trx
          .selectFrom('memberships as m')
          .innerJoin('tenants as t', 't.id', 'm.tenant_id')
          .select(['t.id', 't.slug', 't.name', 't.created_at', 'm.role'])
          .where('m.user_id', '=', userId);
        query = 'id' in tenant ? query.where('t.id', '=', tenant.id) : query.where('t.slug', '=', tenant.slug);
        return query.executeTakeFirst();
      });
      return row ? { tenant: { id: row.id, slug: row.slug, name: row.name, createdAt: row.created_at }, role: row.role as Role } : undefined;
    },

    deleteExpired: () =>
      store(async (trx) => {
        const deleted = await deleteExpiredModels(trx);
        await trx.deleteFrom('oauth_rate_limits').where('window_start', '<', sql<Date>`now() - interval '1 day'`).execute();
        return deleted;
      }),
  };
}
