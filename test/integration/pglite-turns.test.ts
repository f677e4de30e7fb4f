import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedDialect } from '../../src/shared/pglite-dialect.ts';

describe('the embedded database takes turns with the rest of the process', () => {
  let db: Kysely<Record<string, never>>;

  beforeAll(async () => {
    db = new Kysely({ dialect: createEmbeddedDialect(await PGlite.create()) });
  });

  afterAll(() => db.destroy());

  it('lets a timer run while a long queue of statements is still being worked through', async () => {
    let done = 0;
    const doneWhenTimerRan: number[] = [];
    const timer = setInterval(() => doneWhenTimerRan.push(done), 0);
    try {
      await Promise.all(
        Array.from({ length: 3_000 }, async () => {
          await sql`select pg_sleep(0)`.execute(db);
          done += 1;
        }),
      );
    } finally {
      clearInterval(timer);
    }
    // The timer ran between statements, not only once all of them were done.
    expect(doneWhenTimerRan.some((n) => n > 0 && n < 3_000)).toBe(true);
  });

  it('runs a light sequence of statements in order, each seeing the one before', async () => {
    // Correctness of ordinary use: each statement sees the previous one's effect.
    await sql`create temporary table turns (n int)`.execute(db);
    for (let n = 1; n <= 5; n += 1) await sql`insert into turns values (${n})`.execute(db);
    const { rows } = await sql<{ total: number }>`select sum(n)::int as total from turns`.execute(db);
    expect(rows[0]?.total).toBe(15);
  });
});
