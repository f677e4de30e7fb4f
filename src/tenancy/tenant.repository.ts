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
 * Takes the tenant's lock for deleting its servers and bots, held until the transaction ends: such
 * deletions run one at a time per tenant. Each locks the deleted row, then the bots and keys naming
 * it; two at once could each hold a row the other needs (bots attaching each other), a deadlock.
 * FOR NO KEY UPDATE: rows referring to the tenant (an audit event, a new bot) are still added meanwhile.
 */
export async function lockTenantRemovals(trx: Tx, id: string): Promise<void> {
  await trx.selectFrom('tenants').select('id').where('id', '=', id).forNoKeyUpdate().execute();
}

/**
 * Waits for the tenant's deletion of a server or bot under way, if any, and holds off others until
 * the transaction ends (FOR SHARE, against `lockTenantRemovals`): for what copies a key's
 * restriction, naming servers and bots, into a new key.
 */
export async function holdOffTenantRemovals(trx: Tx, id: string): Promise<void> {
  await trx.selectFrom('tenants').select('id').where('id', '=', id).forShare().execute();
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
