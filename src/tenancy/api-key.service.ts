import type { Db, Tx } from '../shared/db.ts';
import { withAuthenticator, withTenant } from '../shared/db.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { digestApiKey, digestsEqual, generateApiKey, looksLikeApiKey } from './api-key.ts';
import {
  findApiKey,
  findCredentialByDigest,
  findKeysNaming,
  insertApiKey,
  type KeyCredential,
  listApiKeys,
  touchApiKey,
  updateApiKey,
} from './api-key.repository.ts';
import { recordAudit } from './audit.ts';
import type { CredentialCache } from './credential-cache.ts';
import { findMember } from './membership.repository.ts';
import { parseOrThrow } from './parse.ts';
import { holdOffTenantRemovals } from './tenant.repository.ts';
import { withoutToolSource } from './tool-restrictions.ts';
import type { ApiKeyInfo, IssuedApiKey, Principal, RequestContext, Scope } from './types.ts';
import { isUuid, nameSchema, scopesSchema, toolRestrictionsSchema } from './validation.ts';

export interface CreateKeyInput {
  name: string;
  scopes: Scope[];
  /** Restricts the key to these servers or tools (`files`, `files__read_file`); none means all. */
  tools?: string[] | null | undefined;
  /** Lifetime in milliseconds; none means the key does not expire. */
  expiresInMs?: number | undefined;
  /** The member the key acts for; null for a tenant-level key. */
  userId?: string | null | undefined;
}

/**
 * Checks a key's restriction against what the tenant has, in the transaction inserting the key and
 * before the insert: it refuses entries naming no server or bot, and keeps those named from being
 * deleted until that transaction ends. A deletion takes its entries out of the keys committed by
 * then; a key inserted meanwhile would keep naming what was deleted.
 */
export type KeyToolsCheck = (trx: Tx, tools: readonly string[]) => Promise<void>;

export interface ApiKeyService {
  /** The principal behind a presented key, or undefined for an unknown, revoked or expired key. */
  authenticate(secret: string): Promise<Principal | undefined>;
  /** `checkTools` runs when the key is restricted to tools (see `KeyToolsCheck`). */
  create(tenantId: string, context: RequestContext, input: CreateKeyInput, checkTools?: KeyToolsCheck): Promise<IssuedApiKey>;
  list(tenantId: string): Promise<ApiKeyInfo[]>;
  get(tenantId: string, id: string): Promise<ApiKeyInfo>;
  revoke(tenantId: string, context: RequestContext, id: string): Promise<ApiKeyInfo>;
  /** Issues a successor with the same name, scopes, tools and user; the old key keeps working for `graceMs`. */
  rotate(
    tenantId: string,
    context: RequestContext,
    id: string,
    graceMs: number,
  ): Promise<{ key: IssuedApiKey; previous: ApiKeyInfo }>;
  /**
   * In the transaction deleting a server (`{ server }`) or a bot (`{ server: "bot", tool: slug }`),
   * takes its entries out of every key's restriction, auditing each key changed as `api_key.update`;
   * returns the keys changed. A key left with no entry keeps an empty restriction, which reaches
   * nothing: never none (null), which would reach everything. Once that transaction commits, call
   * `credentialsChanged`.
   */
  detachToolSource(trx: Tx, tenantId: string, context: RequestContext, source: { server: string; tool?: string }): Promise<ApiKeyInfo[]>;
  /** Drops this process's cached keys of the tenant: they were changed in a transaction of another module, now committed. */
  credentialsChanged(tenantId: string): void;
}

/** How long a rotated key keeps working beside its successor unless the caller says otherwise. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 3_600_000;

const LAST_USED_INTERVAL_MS = 60_000;
const MAX_TRACKED_KEYS = 10_000;

function isActive(key: ApiKeyInfo, now: Date): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now);
}

export function createApiKeyService({
  db,
  now = () => new Date(),
  cache,
}: {
  db: Db;
  now?: () => Date;
  /** Resolved keys by digest; revocation and rotation tell it. */
  cache?: CredentialCache<KeyCredential>;
}): ApiKeyService {
  // When each key's use was last written; the SQL guard keeps replicas to one write a minute too.
  const lastTouched = new Map<string, number>();

  async function recordUse(tenantId: string, keyId: string): Promise<void> {
    const at = now().getTime();
    if (at - (lastTouched.get(keyId) ?? 0) < LAST_USED_INTERVAL_MS) return;
    if (lastTouched.size >= MAX_TRACKED_KEYS) {
      // Entries older than the interval no longer suppress anything: drop them.
      for (const [id, touched] of lastTouched) if (at - touched >= LAST_USED_INTERVAL_MS) lastTouched.delete(id);
    }
    lastTouched.set(keyId, at);
    await withTenant(db, tenantId, (trx) => touchApiKey(trx, tenantId, keyId));
  }

  /** Runs a change to keys in the tenant's transaction; once committed, cached keys of the tenant are dropped everywhere. */
  async function changingCredentials<T>(tenantId: string, change: (trx: Tx) => Promise<T>): Promise<T> {
    const result = await withTenant(db, tenantId, change);
    cache?.changed(tenantId);
    return result;
  }

  /**
   * Validates and inserts a key inside the caller's transaction; the secret is returned once.
   * `tools` comes validated: a rotated key keeps its restriction as stored, even an empty one.
   */
  async function insertIssued(
    trx: Tx,
    tenantId: string,
    context: RequestContext,
    input: Omit<CreateKeyInput, 'tools'> & { tools: string[] | null },
    action: string,
  ): Promise<IssuedApiKey> {
    const name = parseOrThrow(nameSchema, input.name, 'name');
    const scopes = parseOrThrow(scopesSchema, input.scopes, 'scopes');
    const { tools } = input;
    const userId = input.userId ?? null;
    if (userId !== null && !(isUuid(userId) && (await findMember(trx, tenantId, userId)))) {
      throw new AppError('validation_failed', 'user: not a member of this tenant');
    }
    const generated = generateApiKey();
    const key = await insertApiKey(trx, {
      tenantId,
      userId,
      name,
      prefix: generated.prefix,
      digest: generated.digest,
      scopes,
      tools,
      expiresAt: input.expiresInMs === undefined ? null : new Date(now().getTime() + input.expiresInMs),
    });
    await recordAudit(trx, tenantId, context, { action, resourceType: 'api_key', resourceId: key.id, after: key });
    return { ...key, secret: generated.secret };
  }

  return {
    async authenticate(secret) {
      if (!looksLikeApiKey(secret)) return undefined;
      const digest = digestApiKey(secret);
      let found = cache?.get(digest);
      if (!found) {
        found = await withAuthenticator(db, (trx) => findCredentialByDigest(trx, digest));
        if (found) cache?.set(digest, found.tenant.id, found);
      }
      if (!found || !digestsEqual(found.digest, digest) || !isActive(found.key, now())) return undefined;
      // A key made for a member stops working when the membership ends.
      if (found.key.userId !== null && found.memberRole === null) return undefined;
      await recordUse(found.tenant.id, found.key.id);
      return {
        tenant: found.tenant,
        actor: { type: 'api_key', id: found.key.id },
        keyId: found.key.id,
        userId: found.key.userId,
        role: found.memberRole ?? 'owner',
        scopes: found.key.scopes,
        tools: found.key.tools,
      };
    },

    async create(tenantId, context, input, checkTools) {
      const tools = input.tools === undefined || input.tools === null ? null : parseOrThrow(toolRestrictionsSchema, input.tools, 'tools');
      return withTenant(db, tenantId, async (trx) => {
        if (tools !== null) await checkTools?.(trx, tools);
        return insertIssued(trx, tenantId, context, { ...input, tools }, 'api_key.create');
      });
    },

    list: (tenantId) => withTenant(db, tenantId, (trx) => listApiKeys(trx, tenantId)),

    async get(tenantId, id) {
      const key = isUuid(id) ? await withTenant(db, tenantId, (trx) => findApiKey(trx, tenantId, id)) : undefined;
      if (!key) throw notFound('API key');
      return key;
    },

    revoke(tenantId, context, id) {
      return changingCredentials(tenantId, async (trx) => {
        const before = isUuid(id) ? await findApiKey(trx, tenantId, id, true) : undefined;
        if (!before) throw notFound('API key');
        if (before.revokedAt !== null) return before;
        const after = await updateApiKey(trx, tenantId, id, { revokedAt: now() });
        await recordAudit(trx, tenantId, context, {
          action: 'api_key.revoke',
          resourceType: 'api_key',
          resourceId: id,
          before,
          after,
        });
        return after;
      });
    },

    rotate(tenantId, context, id, graceMs) {
      return changingCredentials(tenantId, async (trx) => {
        // The successor copies the restriction: a deletion under way, listing the keys naming what it
        // deletes in a snapshot without this uncommitted key, would leave it naming what was deleted.
        await holdOffTenantRemovals(trx, tenantId);
        const old = isUuid(id) ? await findApiKey(trx, tenantId, id, true) : undefined;
        if (!old) throw notFound('API key');
        if (!isActive(old, now())) throw new AppError('conflict', 'a revoked or expired key cannot be rotated');
        if (old.replacedBy !== null) throw new AppError('conflict', 'this key has already been rotated');
        const remainingMs = old.expiresAt === null ? undefined : old.expiresAt.getTime() - now().getTime();
        const key = await insertIssued(
          trx,
          tenantId,
          context,
          { name: old.name, scopes: old.scopes, tools: old.tools, userId: old.userId, expiresInMs: remainingMs },
          'api_key.rotate',
        );
        const graceEnd = new Date(now().getTime() + graceMs);
        const expiresAt = old.expiresAt !== null && old.expiresAt < graceEnd ? old.expiresAt : graceEnd;
        const previous = await updateApiKey(trx, tenantId, id, { expiresAt, replacedBy: key.id });
        await recordAudit(trx, tenantId, context, {
          action: 'api_key.update',
          resourceType: 'api_key',
          resourceId: id,
          before: old,
          after: previous,
        });
        return { key, previous };
      });
    },

    async detachToolSource(trx, tenantId, context, { server, tool }) {
      const changed: ApiKeyInfo[] = [];
      for (const before of await findKeysNaming(trx, tenantId, server, tool)) {
        const after = await updateApiKey(trx, tenantId, before.id, { tools: withoutToolSource(before.tools ?? [], server, tool) });
        await recordAudit(trx, tenantId, context, { action: 'api_key.update', resourceType: 'api_key', resourceId: before.id, before, after });
        changed.push(after);
      }
      return changed;
    },

    credentialsChanged: (tenantId) => cache?.changed(tenantId),
  };
}
