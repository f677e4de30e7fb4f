import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

const APP_ROLE = 'botgate_app';

export async function up(db: Kysely<unknown>): Promise<void> {
  // What a tenant's file area holds as its quota counts it, as last measured or changed by any
  // gateway node, so that nodes sharing the files count each other's writes at once. Changes
  // to the area run under a transaction-scoped advisory lock on the tenant, one node at a time.
  await db.schema
    .createTable('file_area_use')
    .addColumn('tenant_id', 'uuid', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('used_bytes', 'bigint', (c) => c.notNull())
    .addColumn('measured_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql.raw(`alter table file_area_use enable row level security`).execute(db);
  await sql.raw(`alter table file_area_use force row level security`).execute(db);
  await sql
    .raw(
      `create policy tenant_isolation on file_area_use to ${APP_ROLE}
         using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
         with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)`,
    )
    .execute(db);
  await sql.raw(`grant select, insert, update, delete on file_area_use to ${APP_ROLE}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('file_area_use').ifExists().execute();
}
