import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

const APP_ROLE = 'botgate_app';

export async function up(db: Kysely<unknown>): Promise<void> {
  // A Claude-backed bot configured for a tenant; published later as an MCP server.
  await db.schema
    .createTable('bots')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    // Becomes the MCP tool description: written for the model that calls the bot.
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('system_prompt', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('temperature', 'numeric', (c) => c.check(sql`temperature >= 0 and temperature <= 1`))
    .addColumn('max_tokens', 'integer', (c) => c.notNull().check(sql`max_tokens between 1 and 64000`))
    // [{ "slug": "files", "tools": ["read_file"] }]: attached servers, each with an optional tool allow-list.
    .addColumn('servers', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    // ["other-bot"]: attached bots, by slug.
    .addColumn('bots', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    // AES-256-GCM ciphertext of the tenant's own Anthropic key, bound to tenant and bot id; null uses the operator's.
    .addColumn('anthropic_api_key', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('bots_tenant_slug_key', ['tenant_id', 'slug'])
    .execute();
  // (tenant_id, slug) unique index leads with tenant_id and serves as its index.

  await sql.raw(`alter table bots enable row level security`).execute(db);
  await sql.raw(`alter table bots force row level security`).execute(db);
  await sql
    .raw(
      `create policy tenant_isolation on bots to ${APP_ROLE}
         using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
         with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)`,
    )
    .execute(db);
  await sql.raw(`grant select, insert, update, delete on bots to ${APP_ROLE}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('bots').ifExists().execute();
}
