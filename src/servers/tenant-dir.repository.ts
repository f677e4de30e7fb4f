import { sql } from 'kysely';
import type { Tx } from '../shared/db.ts';

/**
 * Waits for, then holds until the transaction ends, the lock that every node
 * sharing the database takes to settle who owns the tenant directory `key`.
 */
export async function lockTenantDir(trx: Tx, key: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('botgate.tenant_dir'), hashtext(${key}))`.execute(trx);
}

/** Whether the tenant exists; run as the authenticator (`withAuthenticator`), which reads every tenant. */
export async function tenantExists(trx: Tx, tenantId: string): Promise<boolean> {
  return (await trx.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst()) !== undefined;
}
