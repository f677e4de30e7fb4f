import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

export async function up(db: Kysely<unknown>): Promise<void> {
  // A conversation's cost walks its runs and the runs they called (parent_run_id is indexed since 0004).
  await sql`create index usage_records_tenant_conversation_idx on usage_records (tenant_id, conversation_id)`.execute(db);
  await sql`create index usage_records_run_id_idx on usage_records (run_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists usage_records_run_id_idx`.execute(db);
  await sql`drop index if exists usage_records_tenant_conversation_idx`.execute(db);
}
