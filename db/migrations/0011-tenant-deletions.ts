import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

const APP_ROLE = 'botgate_app';

export async function up(db: Kysely<unknown>): Promise<void> {
  // A deleted tenant's own audit trail goes with it (ON DELETE CASCADE), so the deletion itself is
  // recorded here, where it outlives the tenant: no foreign key to tenants, and not tenant data
  // (no row-level security). The application may add a record, never read, change or remove one.
  await db.schema
    .createTable('tenant_deletions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull())
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('deleted_by_type', 'text', (c) => c.notNull())
    .addColumn('deleted_by_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('request_id', 'text')
    .addColumn('deleted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('tenant_deletions_tenant_id_idx').on('tenant_deletions').column('tenant_id').execute();
  await sql.raw(`grant insert on tenant_deletions to ${APP_ROLE}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('tenant_deletions').ifExists().execute();
}
