import type { Tx } from '../shared/db.ts';
import type { Member, Role, Tenant } from './types.ts';

/** Lists a tenant's members with their emails, oldest first. */
export async function listMembers(trx: Tx, tenantId: string): Promise<Member[]> {
  const rows = await trx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['memberships.user_id', 'users.email', 'memberships.role', 'memberships.created_at'])
    .where('memberships.tenant_id', '=', tenantId)
    .orderBy('memberships.created_at')
    .orderBy('users.email')
    .execute();
  return rows.map((row) => ({
    userId: row.user_id,
    email: row.email,
    role: row.role as Role,
    createdAt: row.created_at,
  }));
}

/** One member of the tenant, or undefined. */
export async function findMember(trx: Tx, tenantId: string, userId: string): Promise<Member | undefined> {
  const members = await trx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['memberships.user_id', 'users.email', 'memberships.role', 'memberships.created_at'])
    .where('memberships.tenant_id', '=', tenantId)
    .where('memberships.user_id', '=', userId)
    .execute();
  const row = members[0];
  return row ? { userId: row.user_id, email: row.email, role: row.role as Role, createdAt: row.created_at } : undefined;
}

export async function insertMembership(trx: Tx, tenantId: string, userId: string, role: Role): Promise<void> {
  await trx.insertInto('memberships').values({ tenant_id: tenantId, user_id: userId, role }).execute();
}

export async function updateMembershipRole(trx: Tx, tenantId: string, userId: string, role: Role): Promise<void> {
  await trx
    .updateTable('memberships')
    .set({ role })
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .execute();
}

export async function deleteMembership(trx: Tx, tenantId: string, userId: string): Promise<void> {
  await trx.deleteFrom('memberships').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
}

/** How many owners the tenant has; locks the owner rows so two demotions cannot race. */
export async function countOwners(trx: Tx, tenantId: string): Promise<number> {
  const rows = await trx
    .selectFrom('memberships')
    .select('user_id')
    .where('tenant_id', '=', tenantId)
    .where('role', '=', 'owner')
    .forUpdate()
    .execute();
  return rows.length;
}

/** Every tenant the user belongs to, with the role there, by slug; needs the authenticator role. */
export async function listUserMemberships(trx: Tx, userId: string): Promise<Array<{ tenant: Tenant; role: Role }>> {
  const rows = await trx
    .selectFrom('memberships as m')
    .innerJoin('tenants as t', 't.id', 'm.tenant_id')
    .select(['t.id', 't.slug', 't.name', 't.created_at', 'm.role'])
    .where('m.user_id', '=', userId)
    .orderBy('t.slug')
    .execute();
  return rows.map((row) => ({
    tenant: { id: row.id, slug: row.slug, name: row.name, createdAt: row.created_at },
    role: row.role as Role,
  }));
}
