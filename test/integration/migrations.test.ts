import { Kysely, PostgresDialect, sql } from 'kysely';
import { expect, it } from 'vitest';
import type { Db } from '../../src/shared/db.ts';
import type { Database } from '../../src/shared/db-schema.ts';
import { migrateToLatest } from '../../src/shared/migrate.ts';
import { migrations } from '../../db/migrations/index.ts';
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
