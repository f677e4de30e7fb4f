import { sql } from 'kysely';
import type { Db, Tx } from '../shared/db.ts';
import type { ApiKeyInfo, Role, Scope, Tenant } from './types.ts';

interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  tools: string[] | null;
  user_id: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  replaced_by: string | null;
  created_at: Date;
}

const INFO_COLUMNS = [
  'id',
  'name',
  'prefix',
  'scopes',
  'tools',
  'user_id',
  'expires_at',
  'revoked_at',
  'last_used_at',
  'replaced_by',
  'created_at',
] as const;

function toInfo(row: ApiKeyRow): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes as Scope[],
    tools: row.tools,
    userId: row.user_id,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    replacedBy: row.replaced_by,
    createdAt: row.created_at,
  };
}

export interface NewApiKey {
  tenantId: string;
  userId: string | null;
  name: string;
  prefix: string;
  digest: string;
  scopes: Scope[];
  tools: string[] | null;
  expiresAt: Date | null;
}

export async function insertApiKey(trx: Tx, key: NewApiKey): Promise<ApiKeyInfo> {
  const row = await trx
    .insertInto('api_keys')
    .values({
      tenant_id: key.tenantId,
      user_id: key.userId,
      name: key.name,
      prefix: key.prefix,
      digest: key.digest,
      scopes: key.scopes,
      tools: key.tools,
      expires_at: key.expiresAt,
    })
    .returning(INFO_COLUMNS)
    .executeTakeFirstOrThrow();
  return toInfo(row);
}

export async function listApiKeys(trx: Tx, tenantId: string): Promise<ApiKeyInfo[]> {
  const rows = await trx
    .selectFrom('api_keys')
    .select(INFO_COLUMNS)
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toInfo);
}

/** One key of the tenant; `forUpdate` locks it for a change. */
export async function findApiKey(trx: Tx, tenantId: string, id: string, forUpdate = false): Promise<ApiKeyInfo | undefined> {
  let query = trx.selectFrom('api_keys').select(INFO_COLUMNS).where('tenant_id', '=', tenantId).where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toInfo(row) : undefined;
}

/**
 * The tenant's keys whose restriction names `server` or one of its tools (with `tool`, only
 * `{server}__{tool}`), locked for a change; revoked and expired keys too.
 */
export async function findKeysNaming(trx: Tx, tenantId: string, server: string, tool?: string): Promise<ApiKeyInfo[]> {
  const names =
    tool === undefined
      ? sql<boolean>`exists (select from unnest(tools) as entry where entry = ${server} or starts_with(entry, ${`${server}__`}))`
      : sql<boolean>`${`${server}__${tool}`} = any(tools)`;
  const rows = await trx
    .selectFrom('api_keys')
    .select(INFO_COLUMNS)
    .where('tenant_id', '=', tenantId)
    .where('tools', 'is not', null)
    .where(names)
    .orderBy('created_at')
    .orderBy('id')
    .forUpdate()
    .execute();
  return rows.map(toInfo);
}

export async function updateApiKey(
  trx: Tx,
  tenantId: string,
  id: string,
  changes: { revokedAt?: Date; expiresAt?: Date | null; replacedBy?: string; tools?: string[] },
): Promise<ApiKeyInfo> {
  const row = await trx
    .updateTable('api_keys')
    .set({
      ...(changes.revokedAt !== undefined && { revoked_at: changes.revokedAt }),
      ...(changes.expiresAt !== undefined && { expires_at: changes.expiresAt }),
      ...(changes.replacedBy !== undefined && { replaced_by: changes.replacedBy }),
      ...(changes.tools !== undefined && { tools: changes.tools }),
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returning(INFO_COLUMNS)
    .executeTakeFirstOrThrow();
  return toInfo(row);
}

export interface KeyCredential {
  key: ApiKeyInfo;
  digest: string;
  tenant: Tenant;
  /** The user's role in the key's tenant; null when the key has no user or the user left. */
  memberRole: Role | null;
}

/** Resolves a digest across tenants in one indexed lookup; needs the authenticator role. */
export async function findCredentialByDigest(trx: Tx | Db, digest: string): Promise<KeyCredential | undefined> {
  const row = await trx
    .selectFrom('api_keys as k')
    .innerJoin('tenants as t', 't.id', 'k.tenant_id')
    .leftJoin('memberships as m', (join) => join.onRef('m.tenant_id', '=', 'k.tenant_id').onRef('m.user_id', '=', 'k.user_id'))
    .select([
      'k.id',
      'k.name',
      'k.prefix',
      'k.scopes',
      'k.tools',
      'k.user_id',
      'k.expires_at',
      'k.revoked_at',
      'k.last_used_at',
      'k.replaced_by',
      'k.created_at',
      'k.digest',
      't.id as tenant_id',
      't.slug as tenant_slug',
      't.name as tenant_name',
      't.created_at as tenant_created_at',
      'm.role as member_role',
    ])
    .where('k.digest', '=', digest)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    key: toInfo(row),
    digest: row.digest,
    tenant: { id: row.tenant_id, slug: row.tenant_slug, name: row.tenant_name, createdAt: row.tenant_created_at },
    memberRole: (row.member_role as Role | null) ?? null,
  };
}

/** Records use of a key unless it was recorded within the last minute. */
export async function touchApiKey(trx: Tx, tenantId: string, id: string): Promise<void> {
  await trx
    .updateTable('api_keys')
    .set({ last_used_at: sql`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
    .execute();
}
