import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

const APP_ROLE = 'botgate_app';

export async function up(db: Kysely<unknown>): Promise<void> {
  // A client's answers to a question of a tool call that another gateway node holds open: the
  // node the retry reached writes them here, the holding node claims them, feeds the call, and
  // writes back what the call gave next. The request state is kept only as its SHA-256 digest.
  await db.schema
    .createTable('held_call_answers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('server_id', 'uuid', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('state_digest', 'text', (c) => c.notNull())
    .addColumn('tool', 'text', (c) => c.notNull())
    // Who answers (api_key:{id}, user:{id}): only the caller who started the call may.
    .addColumn('caller', 'text')
    // JSON text, not jsonb: what the client and the upstream sent, exactly, NUL characters included.
    .addColumn('responses', 'text', (c) => c.notNull())
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('heartbeat_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('held_call_answers_tenant_id_idx').on('held_call_answers').column('tenant_id').execute();
  await sql.raw(`alter table held_call_answers enable row level security`).execute(db);
  await sql.raw(`alter table held_call_answers force row level security`).execute(db);
  await sql
    .raw(
      `create policy tenant_isolation on held_call_answers to ${APP_ROLE}
         using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
         with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)`,
    )
    .execute(db);
  await sql.raw(`grant select, insert, update, delete on held_call_answers to ${APP_ROLE}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('held_call_answers').ifExists().execute();
}
