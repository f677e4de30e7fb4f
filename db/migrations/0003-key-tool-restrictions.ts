import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Null: the key may use every tool. Otherwise entries `{server}` or `{server}__{tool}`.
  await db.schema.alterTable('api_keys').addColumn('tools', sql`text[]`).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('tools').execute();
}
