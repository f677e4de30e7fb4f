import { sql, type Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Extended thinking: tokens the model may spend reasoning before it answers; null turns it off.
  await db.schema
    .alterTable('bots')
    .addColumn('thinking_budget', 'integer', (c) => c.check(sql`thinking_budget is null or (thinking_budget >= 1024 and thinking_budget < max_tokens)`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('bots').dropColumn('thinking_budget').execute();
}
