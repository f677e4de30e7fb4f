import type { Db, Tx } from '../shared/db.ts';
import type { RequestContext, Tenant } from './types.ts';

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

/** Every tenant, by slug; needs the authenticator role (it reads across tenants). */
export async function listTenants(trx: Tx): Promise<Tenant[]> {
  return (await trx.selectFrom('tenants').selectAll().orderBy('slug').execute()).map(toTenant);
}

/**
 * Locks the tenant's row until the transaction ends, so that nothing is added to it meanwhile (a
 * row referring to it waits, then fails if the tenant is deleted). False when there is no such tenant.
 */
export async function lockTenant(trx: Tx, id: string): Promise<boolean> {
  return (await trx.selectFrom('tenants').select('id').where('id', '=', id).forUpdate().executeTakeFirst()) !== undefined;
}

/**
 * Deletes a tenant; its rows in every tenant table go with it (ON DELETE CASCADE). Run inside
 * `withTenant(db, id, ...)`: row-level security lets the application role delete that tenant only.
 */
export async function deleteTenant(trx: Tx, id: string): Promise<Tenant | undefined> {
  const row = await trx.deleteFrom('tenants').where('id', '=', id).returningAll().executeTakeFirst();
  return row ? toTenant(row) : undefined;
}

/** Records a deletion where it outlives the tenant; the application role may insert here, nothing else. */
export async function insertTenantDeletion(trx: Tx, tenant: Tenant, context: RequestContext): Promise<void> {
  await trx
    .insertInto('tenant_deletions')
    .values({
      tenant_id: tenant.id,
      slug: tenant.slug,
      name: tenant.name,
      deleted_by_type: context.actor.type,
      deleted_by_id: context.actor.id,
      ip: context.ip,
      user_agent: context.userAgent?.slice(0, 512) ?? null,
      request_id: context.requestId,
    })
    .execute();
}
