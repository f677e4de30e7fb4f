import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { openMemoryDatabase, type Db } from '../../src/shared/db.ts';
import type { Database } from '../../src/shared/db-schema.ts';
import { migrateToLatest } from '../../src/shared/migrate.ts';

export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'];

export interface TestDatabase {
  db: Db;
  /** Connection URL of a throwaway PostgreSQL database; undefined on PGlite. */
  url: string | undefined;
  close(): Promise<void>;
}

/** A fresh, empty PostgreSQL database on the server of TEST_DATABASE_URL; dropped by `drop`. */
export async function createThrowawayPostgres(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/**
 * A pool for a throwaway database. Dropping the database terminates its idle
 * connections; without a listener that would surface as an unhandled error.
 */
export function testPool(connectionString: string | undefined, max: number): Pool {
  const pool = new Pool({ connectionString, max });
  pool.on('error', () => undefined);
  return pool;
}

async function openPostgres(adminUrl: string): Promise<TestDatabase> {
  const throwaway = await createThrowawayPostgres(adminUrl);
  const pool = testPool(throwaway.url, 5);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrateToLatest(db);
  return {
    db,
    url: throwaway.url,
    async close() {
      await db.destroy();
      await throwaway.drop();
    },
  };
}

/** An in-memory PGlite loaded with the run's migrated database (embedded-template.ts). */
async function openPglite(): Promise<TestDatabase> {
  const opened = await openMemoryDatabase(new Blob([await fs.readFile(inject('embeddedTemplate').dump)]));
  return { db: opened.db, url: undefined, close: () => opened.close() };
}

/**
 * Runs the same suite on a migrated PGlite and, when TEST_DATABASE_URL is set,
 * on a throwaway PostgreSQL database. `use()` returns the database of the running suite.
 */
export function describeEachDatabase(title: string, suite: (use: () => TestDatabase) => void): void {
  const engines = [
    { engine: 'pglite', open: openPglite, skip: false },
    { engine: 'postgres', open: () => openPostgres(TEST_DATABASE_URL ?? ''), skip: !TEST_DATABASE_URL },
  ];
  for (const { engine, open, skip } of engines) {
    describe.skipIf(skip)(`${title} [${engine}]`, () => {
      let current: TestDatabase | undefined;
      beforeAll(async () => {
        current = await open();
      });
      afterAll(async () => {
        await current?.close();
      });
      suite(() => {
        if (!current) throw new Error('database not open yet');
        return current;
      });
    });
  }
}

/** Runs raw SQL as the connecting (owner) role: for assertions on what is stored. */
export async function countRows(db: Db, table: string): Promise<number> {
  const result = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}
