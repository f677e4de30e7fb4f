import { sql } from 'kysely';
import { withTenant, type Db } from '../shared/db.ts';
import { createTurns, type AreaUseLedger } from './filesystem/index.ts';

/**
 * A tenant's file area use in the database, for gateway nodes that share the
 * files: each change takes a transaction-scoped advisory lock on the tenant,
 * so nodes take turns and each counts what the others wrote. Changes in this
 * process queue first, so that they wait here rather than each holding a
 * database connection.
 */
export function createDatabaseLedger(db: Db, tenantId: string): AreaUseLedger {
  const inTurn = createTurns();
  return {
    exclusive: (fn) =>
      inTurn(() =>
        withTenant(db, tenantId, async (trx) => {
          await sql`select pg_advisory_xact_lock(hashtext('botgate.file_area_use'), hashtext(${tenantId}))`.execute(trx);
          const row = await trx.selectFrom('file_area_use').select(['used_bytes', 'measured_at']).where('tenant_id', '=', tenantId).executeTakeFirst();
          const { value, record } = await fn(row && { usedBytes: Number(row.used_bytes), measuredAt: row.measured_at.getTime() });
          if (record === 'stale') {
            await trx.deleteFrom('file_area_use').where('tenant_id', '=', tenantId).execute();
          } else {
            const kept = { used_bytes: record.usedBytes, measured_at: new Date(record.measuredAt) };
            await trx
              .insertInto('file_area_use')
              .values({ tenant_id: tenantId, ...kept })
              .onConflict((c) => c.column('tenant_id').doUpdateSet(kept))
              .execute();
          }
          return value;
        }),
      ),
  };
}
