import type { Kysely } from 'kysely';

// Frozen in time: this file imports kysely only and never changes once released.

/**
 * Whether the person chose their current password themselves (accepting an invitation that made
 * the account, or changing it), rather than a tenant owner or the operator, who know it. An account
 * whose password someone else set must choose one before it joins another tenant, so that whoever
 * set it cannot follow it there. Every existing password is counted as set by someone else: nothing
 * recorded until now tells which were chosen.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('password_chosen', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('password_chosen').execute();
}
