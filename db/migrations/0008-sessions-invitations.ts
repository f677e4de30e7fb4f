import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

const APP_ROLE = 'botgate_app';
const AUTH_ROLE = 'botgate_auth';
/** Reads and writes browser sessions, and nothing else: the application role cannot see them. */
const SESSION_ROLE = 'botgate_session';
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

export async function up(db: Kysely<unknown>): Promise<void> {
  await ensureRole(db, SESSION_ROLE);

  // A person signed in through the browser. Per user, not per tenant: one sign-in serves all of
  // the user's tenants. The id is the hex SHA-256 of the token; the token itself is never stored.
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ '^[0-9a-f]{64}$'`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_extended_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('sessions_user_id_idx').on('sessions').column('user_id').execute();

  // No row-level security: the table is not tenant data, and only the session role is granted
  // anything on it. That role reads users' ids and emails (to say who is signed in), not their
  // password hashes, and nothing of any tenant.
  await sql.raw(`grant select, insert, update, delete on sessions to ${SESSION_ROLE}`).execute(db);
  await sql.raw(`grant select (id, email) on users to ${SESSION_ROLE}`).execute(db);

  // An invitation to join a tenant with a role: tenant data, isolated like the rest.
  await db.schema
    .createTable('invitations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) =>
      c.notNull().check(sql.raw(`role in (${ROLES.map((r) => `'${r}'`).join(', ')})`)),
    )
    // Hex SHA-256 of the one-time token in the invitation link.
    .addColumn('digest', 'text', (c) => c.notNull().unique())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('accepted_at', 'timestamptz')
    .addColumn('accepted_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index invitations_tenant_created_idx on invitations (tenant_id, created_at)`.execute(db);
  await db.schema.createIndex('invitations_accepted_by_idx').on('invitations').column('accepted_by').execute();

  await sql.raw(`alter table invitations enable row level security`).execute(db);
  await sql.raw(`alter table invitations force row level security`).execute(db);
  await sql
    .raw(
      `create policy tenant_isolation on invitations to ${APP_ROLE}
         using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
         with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)`,
    )
    .execute(db);
  // Revocation and acceptance are updates; rows leave with their tenant.
  await sql.raw(`grant select, insert, update on invitations to ${APP_ROLE}`).execute(db);
  // The invitation link names no tenant: the authenticator resolves its digest, read-only.
  await sql.raw(`grant select on invitations to ${AUTH_ROLE}`).execute(db);
  await sql.raw(`create policy authenticate on invitations for select to ${AUTH_ROLE} using (true)`).execute(db);

  // Failed sign-in counters shared by gateway nodes on PostgreSQL, in the layout of
  // rate-limiter-flexible's PostgreSQL store; keys are digests, never emails or addresses.
  // Used through the connecting role, like the migrations themselves; the embedded database
  // counts in memory instead and leaves this table empty.
  await db.schema
    .createTable('login_attempts')
    .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expire', 'bigint')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_attempts').ifExists().execute();
  await db.schema.dropTable('invitations').ifExists().execute();
  await db.schema.dropTable('sessions').ifExists().execute();
}
