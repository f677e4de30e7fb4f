import type { Db, Tx } from '../shared/db.ts';

/** A server row as stored: config is JSON, secrets are ciphertext. */
export interface ServerRecord {
  id: string;
  tenantId: string;
  slug: string;
  kind: string;
  config: Record<string, unknown>;
  sealedSecrets: string | null;
  secretNames: string[];
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = [
  'id',
  'tenant_id',
  'slug',
  'kind',
  'config',
  'secrets',
  'secret_names',
  'created_at',
  'updated_at',
] as const;

function toRecord(row: {
  id: string;
  tenant_id: string;
  slug: string;
  kind: string;
  config: unknown;
  secrets: string | null;
  secret_names: string[];
  created_at: Date;
  updated_at: Date;
}): ServerRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    slug: row.slug,
    kind: row.kind,
    config: row.config as Record<string, unknown>,
    sealedSecrets: row.secrets,
    secretNames: row.secret_names,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function listServerRecords(trx: Tx | Db, tenantId: string): Promise<ServerRecord[]> {
  const rows = await trx.selectFrom('servers').select(COLUMNS).where('tenant_id', '=', tenantId).orderBy('slug').execute();
  return rows.map(toRecord);
}

/**
 * How many servers a tenant has, counted with its tenant row locked until the
 * transaction ends: two creations at once count one after the other.
 */
export async function countServersLocked(trx: Tx, tenantId: string): Promise<number> {
  await trx.selectFrom('tenants').select('id').where('id', '=', tenantId).forUpdate().execute();
  const { count } = await trx
    .selectFrom('servers')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return Number(count);
}

/**
 * Which of `slugs` name a server of the tenant, each locked FOR KEY SHARE until the transaction
 * ends: a deletion (FOR UPDATE) of one waits until then, or, when under way, is waited for and the
 * server is then not found.
 */
export async function holdServerSlugs(trx: Tx, tenantId: string, slugs: readonly string[]): Promise<Set<string>> {
  if (slugs.length === 0) return new Set();
  const rows = await trx.selectFrom('servers').select('slug').where('tenant_id', '=', tenantId).where('slug', 'in', slugs).forKeyShare().execute();
  return new Set(rows.map((row) => row.slug));
}

export async function findServerRecord(trx: Tx, tenantId: string, slug: string, forUpdate = false): Promise<ServerRecord | undefined> {
  let query = trx.selectFrom('servers').select(COLUMNS).where('tenant_id', '=', tenantId).where('slug', '=', slug);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

export async function insertServerRecord(
  trx: Tx,
  record: { id: string; tenantId: string; slug: string; kind: string; config: unknown; sealedSecrets: string | null; secretNames: string[] },
): Promise<ServerRecord> {
  const row = await trx
    .insertInto('servers')
    .values({
      id: record.id,
      tenant_id: record.tenantId,
      slug: record.slug,
      kind: record.kind,
      config: JSON.stringify(record.config),
      secrets: record.sealedSecrets,
      secret_names: record.secretNames,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export async function updateServerRecord(
  trx: Tx,
  tenantId: string,
  id: string,
  changes: { config: unknown; sealedSecrets: string | null; secretNames: string[] },
): Promise<ServerRecord> {
  const row = await trx
    .updateTable('servers')
    .set({
      config: JSON.stringify(changes.config),
      secrets: changes.sealedSecrets,
      secret_names: changes.secretNames,
      updated_at: new Date(),
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export async function deleteServerRecord(trx: Tx, tenantId: string, id: string): Promise<void> {
  await trx.deleteFrom('servers').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}
