import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PGlite } from '@electric-sql/pglite';
import { PGliteDialect, type Dialect, type Driver } from 'kysely';

/** Longest stretch of back-to-back statements before the rest of the process gets a turn. */
const SLICE_MS = 10;

/**
 * Kysely's dialect for the embedded database, taking turns with the rest of
 * the process. PGlite runs every statement on this thread, and the driver
 * hands its one connection from one waiting query or transaction to the next
 * within the same turn of the event loop: a queue of them (hundreds of bot
 * runs ending at once) would run back to back, holding every socket and timer
 * for as long as the queue takes. Here a query or transaction that would
 * extend such a stretch past SLICE_MS first waits for the next turn, so
 * streams and timers are served in between; light traffic never waits.
 */
export function createEmbeddedDialect(pglite: PGlite): Dialect {
  const dialect = new PGliteDialect({ pglite });
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => takingTurns(dialect.createDriver()),
  };
}

function takingTurns(driver: Driver): Driver {
  // When the current stretch of database work without a turn of the event loop began.
  let stretchStart: number | undefined;
  const endStretch = () => {
    stretchStart = undefined;
  };
  return {
    init: (options) => driver.init(options),
    async acquireConnection(options) {
      if (stretchStart !== undefined && performance.now() - stretchStart > SLICE_MS) await nextTurn();
      if (stretchStart === undefined) {
        stretchStart = performance.now();
        // Runs once the event loop gets a turn: the stretch is over.
        setImmediate(endStretch);
      }
      return driver.acquireConnection(options);
    },
    beginTransaction: (connection, settings) => driver.beginTransaction(connection, settings),
    commitTransaction: (connection) => driver.commitTransaction(connection),
    rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
    savepoint: (connection, name, compile) => driver.savepoint?.(connection, name, compile) ?? Promise.resolve(),
    rollbackToSavepoint: (connection, name, compile) => driver.rollbackToSavepoint?.(connection, name, compile) ?? Promise.resolve(),
    releaseSavepoint: (connection, name, compile) => driver.releaseSavepoint?.(connection, name, compile) ?? Promise.resolve(),
    releaseConnection: (connection, options) => driver.releaseConnection(connection, options),
    destroy: (options) => driver.destroy(options),
  };
}
