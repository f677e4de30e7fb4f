import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import { Pool } from 'pg';
import type { Database } from './db-schema.ts';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock.ts';
import { createEmbeddedDialect } from './pglite-dialect.ts';

/** The database handle every module receives. */
export type Db = Kysely<Database>;
/** A transaction handle; repositories accept either. */
export type Tx = Transaction<Database>;

export interface OpenedDatabase {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/** The role tenant work runs as: neither superuser nor table owner, so row-level security applies. */
export const APP_ROLE = 'botgate_app';
/** The role that resolves credentials to tenants: read-only across tenants. */
export const AUTH_ROLE = 'botgate_auth';
/** The role that keeps browser sessions: reads and writes the sessions table, reads users' ids and emails, nothing else. */
export const SESSION_ROLE = 'botgate_session';

/**
 * Opens PostgreSQL when a URL is given, else the embedded PGlite in `dataDir/pglite`.
 * PGlite admits one process per directory, so the directory is locked while open.
 */
export async function openDatabase(options: {
  databaseUrl: string | undefined;
  dataDir: string;
  poolSize?: number;
  /** Told about errors of idle pooled connections (e.g. the server restarted); without a listener they would crash the process. */
  onIdleError?: (error: Error) => void;
}): Promise<OpenedDatabase> {
  if (options.databaseUrl) {
    const pool = new Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    // The pool drops the broken client and opens a new one on the next query.
    pool.on('error', options.onIdleError ?? (() => undefined));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  const dir = path.join(options.dataDir, 'pglite');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const lock: DirectoryLock = await acquireDirectoryLock(options.dataDir, 'pglite');
  try {
    const pglite = await PGlite.create(dir);
    const db = new Kysely<Database>({ dialect: createEmbeddedDialect(pglite) });
    return {
      db,
      kind: 'pglite',
      close: async () => {
        await db.destroy();
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Opens an in-memory PGlite, empty or loaded from a `dumpDataDir` archive; for tests and benchmarks. */
export async function openMemoryDatabase(from?: Blob): Promise<OpenedDatabase> {
  const pglite = await PGlite.create(from ? { loadDataDir: from } : {});
  const db = new Kysely<Database>({ dialect: createEmbeddedDialect(pglite) });
  return { db, kind: 'pglite', close: () => db.destroy() };
}

/**
 * Runs `fn` in a transaction as the application role with the tenant set, so
 * row-level security confines every statement to that tenant.
 */
export function withTenant<T>(db: Db, tenantId: string, fn: (trx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('role', ${APP_ROLE}, true), set_config('app.tenant_id', ${tenantId}, true)`.execute(trx);
    return fn(trx);
  });
}

/** Runs `fn` as the authenticator role: reads credentials across tenants, writes nothing. */
export function withAuthenticator<T>(db: Db, fn: (trx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('role', ${AUTH_ROLE}, true)`.execute(trx);
    return fn(trx);
  });
}

/** Runs `fn` as the session role: the only role that may read or write browser sessions. */
export function withSessionStore<T>(db: Db, fn: (trx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('role', ${SESSION_ROLE}, true)`.execute(trx);
    return fn(trx);
  });
}

/** True when the database answers a trivial query. */
export async function pingDatabase(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/** PostgreSQL's unique_violation, as raised by pg or PGlite. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/** PostgreSQL's foreign_key_violation, as raised by pg or PGlite. */
export function isForeignKeyViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23503';
}

/**
 * Whether PostgreSQL (pg or PGlite) refused a statement for what its rows hold:
 * SQLSTATE classes 22 (data exception), 23 (integrity constraint) and 54
 * (program limit). Sending the same rows again cannot succeed.
 */
export function isRowError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}
