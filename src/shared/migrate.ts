import { Migrator, type MigrationResultSet } from 'kysely/migration';
import { migrations } from '../../db/migrations/index.ts';
import type { Db } from './db.ts';

/**
 * Applies every pending migration. Kysely holds a PostgreSQL advisory lock for
 * the duration, so processes starting together apply each migration once.
 */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
