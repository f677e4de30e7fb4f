import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

/**
 * Reads and writes the authorization server's state, and nothing else: not tenant data, and
 * the application and authenticator roles cannot see it. What it learns about tenants and
 * members it asks the authenticator role for.
 */
const OAUTH_ROLE = 'botgate_oauth';

async function ensureRole(db: Kysely<unknown>, role: string): Promise<void> {
  // Roles are cluster-wide and two databases may migrate at once: tolerate the race.
  await sql
    .raw(
      `do $$ begin
         if not exists (select 1 from pg_roles where rolname = '${role}') then
           create role ${role} nologin;
         end if;
       exception when duplicate_object or unique_violation then null;
       end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `do $$ begin
         if not pg_has_role(current_user, '${role}', 'member') then
           execute format('grant ${role} to %I', current_user);
         end if;
       end $$`,
    )
    .execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await ensureRole(db, OAUTH_ROLE);

  // Everything oidc-provider stores through its adapter, one row per model instance: dynamically
  // registered clients, interactions, browser sessions of the flow, grants, authorization codes,
  // refresh tokens. JWT access tokens are not stored (they are checked by signature and grant).
  await db.schema
    .createTable('oauth_models')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    // The grant a token or code belongs to: revoking a grant deletes them all.
    .addColumn('grant_id', 'text')
    .addColumn('user_code', 'text')
    // A session's uid, by which the provider finds it again.
    .addColumn('uid', 'text')
    // Null for what does not expire (registered clients).
    .addColumn('expires_at', 'timestamptz')
    .addColumn('consumed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('oauth_models_pkey', ['kind', 'id'])
    .execute();
  await sql`create index oauth_models_grant_id_idx on oauth_models (grant_id) where grant_id is not null`.execute(db);
  await sql`create index oauth_models_uid_idx on oauth_models (uid) where uid is not null`.execute(db);
  await sql`create index oauth_models_user_code_idx on oauth_models (user_code) where user_code is not null`.execute(db);
  await sql`create index oauth_models_expires_at_idx on oauth_models (expires_at) where expires_at is not null`.execute(db);

  // A person's remembered approval of a client for one MCP resource (and so one tenant). The
  // tenant is the one the person picked at consent time; tokens of the grant carry it.
  await db.schema
    .createTable('oauth_consents')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client_name', 'text')
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('scopes', sql`text[]`, (c) => c.notNull())
    // The oidc-provider Grant (an oauth_models row of kind Grant) holding the approval.
    .addColumn('grant_id', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('oauth_consents_user_client_resource_key', ['user_id', 'client_id', 'resource'])
    .execute();
  // (user_id, client_id, resource) leads with user_id and serves as its index.
  await db.schema.createIndex('oauth_consents_tenant_id_idx').on('oauth_consents').column('tenant_id').execute();

  // The keys access tokens are signed with, shared by every node; private parts sealed with the
  // gateway's secret key (AES-256-GCM), so a database dump alone cannot mint tokens.
  await db.schema
    .createTable('oauth_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('sealed_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Fixed-window counters (dynamic client registration per address), shared by nodes.
  await db.schema
    .createTable('oauth_rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .execute();

  // No row-level security: none of this is tenant data, and only the OAuth role is granted anything.
  await sql.raw(`grant select, insert, update, delete on oauth_models, oauth_consents, oauth_rate_limits to ${OAUTH_ROLE}`).execute(db);
  // Keys are added, never changed; rotation adds a newer one.
  await sql.raw(`grant select, insert on oauth_signing_keys to ${OAUTH_ROLE}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['oauth_rate_limits', 'oauth_signing_keys', 'oauth_consents', 'oauth_models']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
