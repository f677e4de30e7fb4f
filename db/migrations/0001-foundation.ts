import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

const APP_ROLE = 'botgate_app';
const AUTH_ROLE = 'botgate_auth';
const ROLES = ['owner', 'admin', 'member', 'auditor'];

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

async function isolate(db: Kysely<unknown>, table: string, tenantColumn: string): Promise<void> {
  await sql.raw(`alter table ${table} enable row level security`).execute(db);
  await sql.raw(`alter table ${table} force row level security`).execute(db);
  await sql
    .raw(
      `create policy tenant_isolation on ${table} to ${APP_ROLE}
         using (${tenantColumn} = nullif(current_setting('app.tenant_id', true), '')::uuid)
         with check (${tenantColumn} = nullif(current_setting('app.tenant_id', true), '')::uuid)`,
    )
    .execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await ensureRole(db, APP_ROLE);
  await ensureRole(db, AUTH_ROLE);

  await db.schema
    .createTable('tenants')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) =>
      c.notNull().unique().check(sql`slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'`),
    )
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index users_email_key on users (lower(email))`.execute(db);

  await db.schema
    .createTable('memberships')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) =>
      c.notNull().check(sql.raw(`role in (${ROLES.map((r) => `'${r}'`).join(', ')})`)),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('memberships_pkey', ['tenant_id', 'user_id'])
    .execute();
  // tenant_id is the leading column of the primary key, which serves as its index.
  await db.schema.createIndex('memberships_user_id_idx').on('memberships').column('user_id').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull().unique())
    .addColumn('scopes', sql`text[]`, (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('replaced_by', 'uuid', (c) => c.references('api_keys.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('api_keys_tenant_id_idx').on('api_keys').column('tenant_id').execute();
  await db.schema.createIndex('api_keys_user_id_idx').on('api_keys').column('user_id').execute();
  await db.schema.createIndex('api_keys_replaced_by_idx').on('api_keys').column('replaced_by').execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // Insertion order, for stable keyset pagination (timestamps can tie).
    .addColumn('seq', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('actor_type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text')
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('request_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .execute();
  await sql`create index audit_events_tenant_seq_idx on audit_events (tenant_id, seq desc)`.execute(db);

  // Tenant data is visible to the application role only inside its own tenant.
  await isolate(db, 'tenants', 'id');
  await isolate(db, 'memberships', 'tenant_id');
  await isolate(db, 'api_keys', 'tenant_id');
  await isolate(db, 'audit_events', 'tenant_id');

  await sql.raw(`grant select, insert, update, delete on tenants, memberships, api_keys to ${APP_ROLE}`).execute(db);
  await sql.raw(`grant select, insert, update on users to ${APP_ROLE}`).execute(db);
  // The audit trail is append-only for the application.
  await sql.raw(`grant select, insert on audit_events to ${APP_ROLE}`).execute(db);

  // The authenticator resolves a credential to its tenant before a tenant is known: read-only.
  await sql.raw(`grant select on tenants, users, memberships, api_keys to ${AUTH_ROLE}`).execute(db);
  for (const table of ['tenants', 'memberships', 'api_keys']) {
    await sql.raw(`create policy authenticate on ${table} for select to ${AUTH_ROLE} using (true)`).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_events', 'api_keys', 'memberships', 'users', 'tenants']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
