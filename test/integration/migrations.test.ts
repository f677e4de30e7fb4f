import { Kysely, PostgresDialect, sql } from 'kysely';
import { expect, it } from 'vitest';
import type { Db } from '../../src/shared/db.ts';
import type { Database } from '../../src/shared/db-schema.ts';
import { migrateToLatest } from '../../src/shared/migrate.ts';
import { migrations } from '../../db/migrations/index.ts';
import * as detachDeleted from '../../db/migrations/0014-detach-deleted.ts';
import * as passwordChosen from '../../db/migrations/0015-password-chosen.ts';
import { countRows, createThrowawayPostgres, describeEachDatabase, TEST_DATABASE_URL, testPool } from '../support/databases.ts';

/** The migrations the database has recorded as applied, by name. */
async function appliedMigrations(db: Db): Promise<string[]> {
  const result = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return result.rows.map((r) => r.name);
}

function openPostgres(url: string): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: testPool(url, 2) }) });
}

describeEachDatabase('migrations', (use) => {
  it('applies nothing the second time and leaves the data alone', async () => {
    const { db } = use();
    await sql`insert into tenants (slug, name) values ('kept-across-migrate', 'Kept')`.execute(db);
    const tenantsBefore = await countRows(db, 'tenants');

    const applied = await migrateToLatest(db);

    expect(applied).toEqual([]);
    expect(await appliedMigrations(db)).toEqual(Object.keys(migrations));
    expect(await countRows(db, 'tenants')).toBe(tenantsBefore);
  });

  it('takes out the references earlier versions left to deleted servers and bots, auditing each change', async () => {
    const { db } = use();
    const tenant = (await sql<{ id: string }>`insert into tenants (slug, name) values ('left-behind', 'Left') returning id`.execute(db)).rows[0]!.id;
    await sql`insert into servers (tenant_id, slug, kind, config, secret_names) values (${tenant}, 'files', 'filesystem', '{}', '{}')`.execute(db);
    const bot = async (slug: string, servers: unknown, bots: unknown) =>
      (
        await sql<{ id: string }>`insert into bots (tenant_id, slug, name, description, model, max_tokens, servers, bots)
          values (${tenant}, ${slug}, ${slug}, 'd', 'claude-haiku-4-5', 1024, ${JSON.stringify(servers)}, ${JSON.stringify(bots)}) returning id`.execute(db)
      ).rows[0]!.id;
    const notes = await bot('notes', [{ slug: 'gone', tools: ['x'] }, { slug: 'files', tools: ['read_file'] }], ['ghost', 'helper']);
    const helper = await bot('helper', [{ slug: 'files' }], ['notes']);
    const key = async (name: string, tools: string[] | null) =>
      (
        await sql<{ id: string }>`insert into api_keys (tenant_id, name, prefix, digest, scopes, tools)
          values (${tenant}, ${name}, ${name}, ${`digest-${name}`}, '{mcp}', ${tools}) returning id`.execute(db)
      ).rows[0]!.id;
    const mixed = await key('mixed', ['files', 'gone', 'gone__read', 'files__read_file', 'bot', 'bot__notes', 'bot__ghost']);
    const onlyGone = await key('only-gone', ['gone__read']);
    const unrestricted = await key('all', null);
    const untouched = await key('fine', ['files', 'bot__helper']);

    await detachDeleted.up(db as unknown as Kysely<unknown>);

    const keys = await sql<{ id: string; tools: string[] | null }>`select id, tools from api_keys where tenant_id = ${tenant}`.execute(db);
    const toolsOf = (id: string) => keys.rows.find((row) => row.id === id)?.tools;
    expect(toolsOf(mixed)).toEqual(['files', 'files__read_file', 'bot', 'bot__notes']);
    // Naming only what was deleted: an empty restriction, which reaches nothing, never none.
    expect(toolsOf(onlyGone)).toEqual([]);
    expect(toolsOf(unrestricted)).toBeNull();
    expect(toolsOf(untouched)).toEqual(['files', 'bot__helper']);
    const bots = await sql<{ id: string; servers: unknown; bots: unknown }>`select id, servers, bots from bots where tenant_id = ${tenant}`.execute(db);
    expect(bots.rows.find((row) => row.id === notes)).toMatchObject({ servers: [{ slug: 'files', tools: ['read_file'] }], bots: ['helper'] });
    expect(bots.rows.find((row) => row.id === helper)).toMatchObject({ servers: [{ slug: 'files' }], bots: ['notes'] });

    const events = await sql<{ action: string; actor_type: string; resource_id: string; before: unknown; after: unknown }>`
      select action, actor_type, resource_id, before, after from audit_events where tenant_id = ${tenant} order by seq`.execute(db);
    expect(events.rows).toEqual([
      { action: 'api_key.update', actor_type: 'operator', resource_id: expect.any(String) as unknown, before: expect.anything() as unknown, after: expect.anything() as unknown },
      { action: 'api_key.update', actor_type: 'operator', resource_id: expect.any(String) as unknown, before: expect.anything() as unknown, after: expect.anything() as unknown },
      { action: 'bot.update', actor_type: 'operator', resource_id: notes, before: { servers: [{ slug: 'gone', tools: ['x'] }, { slug: 'files', tools: ['read_file'] }], bots: ['ghost', 'helper'] }, after: { servers: [{ slug: 'files', tools: ['read_file'] }], bots: ['helper'] } },
    ]);
    expect(events.rows.slice(0, 2).map((e) => e.resource_id).sort()).toEqual([mixed, onlyGone].sort());
    expect(events.rows.find((e) => e.resource_id === onlyGone)).toMatchObject({ before: { tools: ['gone__read'] }, after: { tools: [] } });

    // Run again: nothing left to take out, nothing audited.
    await detachDeleted.up(db as unknown as Kysely<unknown>);
    expect((await sql<{ n: number }>`select count(*)::int as n from audit_events where tenant_id = ${tenant}`.execute(db)).rows[0]?.n).toBe(3);
  });

  it('counts every existing password as set by someone else, and a new account as such unless it says otherwise', async () => {
    const { db } = use();
    const migrationDb = db as unknown as Kysely<unknown>;
    await passwordChosen.down(migrationDb);
    const before = (await sql<{ id: string }>`insert into users (email, password_hash) values ('before-0015@example.com', 'hash') returning id`.execute(db)).rows[0]!.id;

    await passwordChosen.up(migrationDb);

    const column = await sql<{ is_nullable: string; column_default: string }>`
      select is_nullable, column_default from information_schema.columns where table_name = 'users' and column_name = 'password_chosen'`.execute(db);
    expect(column.rows).toEqual([{ is_nullable: 'NO', column_default: 'false' }]);
    const made = (await sql<{ id: string }>`insert into users (email) values ('after-0015@example.com') returning id`.execute(db)).rows[0]!.id;
    const chosen = await sql<{ id: string; password_chosen: boolean }>`select id, password_chosen from users where id in (${before}, ${made})`.execute(db);
    expect(chosen.rows.map((row) => row.password_chosen)).toEqual([false, false]);
    // The application role sets it; the session role, which says who is signed in, cannot read it.
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`set local role botgate_app`.execute(trx);
        return (await sql<{ password_chosen: boolean }>`update users set password_chosen = true where id = ${made} returning password_chosen`.execute(trx)).rows;
      }),
    ).resolves.toEqual([{ password_chosen: true }]);
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`set local role botgate_session`.execute(trx);
        await sql`select password_chosen from users`.execute(trx);
      }),
    ).rejects.toThrow(/permission denied/);
  });

  it('applies every migration once when two processes migrate a fresh database at the same time', async (context) => {
    context.skip(use().url === undefined, 'PGlite admits one connection; concurrency needs PostgreSQL');
    const throwaway = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    const first = openPostgres(throwaway.url);
    const second = openPostgres(throwaway.url);
    try {
      const results = await Promise.all([migrateToLatest(first), migrateToLatest(second)]);

      // One of them did the work; the other, after waiting for the lock, found nothing left to do.
      expect(results.flat().sort()).toEqual(Object.keys(migrations));
      expect(results.some((r) => r.length === 0)).toBe(true);
      expect(await appliedMigrations(first)).toEqual(Object.keys(migrations));
      const policies = await sql<{ n: string }>`
        select count(*)::text as n from pg_policies where tablename = 'api_keys' and policyname = 'tenant_isolation'`.execute(
        first,
      );
      expect(policies.rows[0]?.n).toBe('1');
    } finally {
      await first.destroy();
      await second.destroy();
      await throwaway.drop();
    }
  });
});
