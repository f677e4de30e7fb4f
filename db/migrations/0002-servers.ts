import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

const APP_ROLE = 'botgate_app';

async function isolate(db: Kysely<unknown>, table: string): Promise<void> {
  await sql.raw(`alter table ${table} enable row level security`).execute(db);
  await sql.raw(`alter table ${table} force row level security`).execute(db);
  await sql
    .raw(
      `create policy tenant_isolation on ${table} to ${APP_ROLE}
         using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
         with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)`,
    )
    .execute(db);
  await sql.raw(`grant select, insert, update, delete on ${table} to ${APP_ROLE}`).execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  // A tool source configured for a tenant: built-in kind or upstream.
  await db.schema
    .createTable('servers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('filesystem', 'github', 'database', 'remote', 'stdio')`),
    )
    .addColumn('config', 'jsonb', (c) => c.notNull())
    // AES-256-GCM ciphertext of the secrets object, bound to tenant and server id.
    .addColumn('secrets', 'text')
    .addColumn('secret_names', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('servers_tenant_slug_key', ['tenant_id', 'slug'])
    .execute();
  // (tenant_id, slug) unique index leads with tenant_id and serves as its index.

  // The definition of each upstream tool as first seen (or last approved).
  await db.schema
    .createTable('tool_pins')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('server_id', 'uuid', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('tool_name', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('definition', 'jsonb', (c) => c.notNull())
    // A changed definition waiting for an admin's approval; null when none.
    .addColumn('pending_digest', 'text')
    .addColumn('pending_definition', 'jsonb')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('tool_pins_pkey', ['server_id', 'tool_name'])
    .execute();
  await db.schema.createIndex('tool_pins_tenant_id_idx').on('tool_pins').column('tenant_id').execute();

  await isolate(db, 'servers');
  await isolate(db, 'tool_pins');
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('tool_pins').ifExists().execute();
  await db.schema.dropTable('servers').ifExists().execute();
}
