import type { Db, Tx } from '../shared/db.ts';
import type { Tenant } from './types.ts';

type TenantRow = { id: string; slug: string; name: string; created_at: Date };

function toTenant(row: TenantRow): Tenant {
  return { id: row.id, slug: row.slug, name: row.name, createdAt: row.created_at };
}

/** Inserts a tenant; run inside `withTenant(db, id, ...)` so row-level security admits it. */
export async function insertTenant(trx: Tx, tenant: { id: string; slug: string; name: string }): Promise<Tenant> {
  const row = await trx.insertInto('tenants').values(tenant).returningAll().executeTakeFirstOrThrow();
  return toTenant(row);
}

/** Finds a tenant by slug; needs the authenticator role (no tenant is known yet). */
export async function findTenantBySlug(trx: Tx | Db, slug: string): Promise<Tenant | undefined> {
  const row = await trx.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
  return row ? toTenant(row) : undefined;
}
