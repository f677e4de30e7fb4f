import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

const APP_ROLE = 'botgate_app';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One model call: tokens by kind and what they cost.
  await db.schema
    .createTable('usage_records')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    // No foreign key yet: the bots table comes in a later migration. A usage
    // record must also outlive the bot it measures, so the key will not cascade.
    .addColumn('bot_id', 'uuid')
    .addColumn('conversation_id', 'uuid')
    .addColumn('run_id', 'uuid', (c) => c.notNull())
    // The run of the bot that called this one; its costs roll up there.
    .addColumn('parent_run_id', 'uuid')
    .addColumn('principal_type', 'text', (c) => c.notNull())
    .addColumn('principal_id', 'text')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('input_tokens', 'integer', (c) => c.notNull().check(sql`input_tokens >= 0`))
    .addColumn('output_tokens', 'integer', (c) => c.notNull().check(sql`output_tokens >= 0`))
    .addColumn('cache_write_tokens', 'integer', (c) => c.notNull().check(sql`cache_write_tokens >= 0`))
    .addColumn('cache_read_tokens', 'integer', (c) => c.notNull().check(sql`cache_read_tokens >= 0`))
    // Null when the model had no price: an unknown model is never priced as another.
    .addColumn('cost_usd', sql`numeric(20, 10)`)
    .addColumn('priced', 'boolean', (c) => c.notNull())
    .addColumn('stop_reason', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('usage_records_priced_check', sql`priced = (cost_usd is not null)`)
    .execute();
  // Leads with tenant_id and serves as its index.
  await sql`create index usage_records_tenant_created_idx on usage_records (tenant_id, created_at)`.execute(db);
  await db.schema.createIndex('usage_records_parent_run_id_idx').on('usage_records').column('parent_run_id').execute();

  await sql.raw(`alter table usage_records enable row level security`).execute(db);
  await sql.raw(`alter table usage_records force row level security`).execute(db);
  await sql
    .raw(
      `create policy tenant_isolation on usage_records to ${APP_ROLE}
         using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
         with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)`,
    )
    .execute(db);
  // Metering is append-only for the application, like the audit trail.
  await sql.raw(`grant select, insert on usage_records to ${APP_ROLE}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('usage_records').ifExists().execute();
}
