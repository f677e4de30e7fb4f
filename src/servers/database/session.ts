import { Duplex } from 'node:stream';
import { Client, DatabaseError, type ClientBase, type ClientConfig, type Pool, type PoolClient } from 'pg';
import { findOutboundRefusal } from '../outbound.ts';
import { ToolError } from '../tool-source.ts';

/** The bounds every call of a database source runs under. */
export interface DatabaseLimits {
  rowLimit: number;
  statementTimeoutMs: number;
  maxResultBytes: number;
}

/** What the database tools share: the limits and a way to run read-only work. */
export interface DatabaseToolContext {
  readonly limits: DatabaseLimits;
  /**
   * Runs `work` on a pooled connection inside a READ ONLY transaction with the
   * statement timeout set, then rolls back. PostgreSQL errors become
   * `ToolError`s carrying PostgreSQL's message; an abort of `signal` cancels
   * the running statement and ends the call with a "cancelled" `ToolError`.
   */
  readOnly<T>(signal: AbortSignal, work: (client: ClientBase) => Promise<T>): Promise<T>;
}

const CANCELLED = 'The query was cancelled before it finished.';

/**
 * The most one call may receive from the database as it sends it: the byte
 * limit's rows in any shape (a row of many small values takes several times
 * its text on the wire), and room for the catalog queries. pg holds a
 * message whole until it has arrived, so without this a single value of a
 * few hundred megabytes would be held in memory, and parsed for seconds.
 */
export function wireBudget(limits: DatabaseLimits): number {
  return 4 * limits.maxResultBytes + 16 * 1024 * 1024;
}

/** The stream pg reads a connection's messages from (the TLS socket once encrypted), if it can be found. */
function connectionStream(client: PoolClient): Duplex | undefined {
  const stream = (client as unknown as { connection?: { stream?: unknown } }).connection?.stream;
  return stream instanceof Duplex ? stream : undefined;
}

/**
 * Counts what the database sends on `client`'s connection and closes it once
 * past `budget`: the call then fails, and the connection is not reused.
 */
function meterConnection(client: PoolClient, budget: number): { overflowed: () => boolean; stop: () => void } {
  const stream = connectionStream(client);
  let received = 0;
  let overflowed = false;
  const meter = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= budget || overflowed) return;
    overflowed = true;
    stream?.destroy();
  };
  stream?.prependListener('data', meter);
  return { overflowed: () => overflowed, stop: () => stream?.off('data', meter) };
}

function describeDatabaseError(error: DatabaseError, limits: DatabaseLimits): string {
  const lines = [error.message];
  if (error.detail) lines.push(`DETAIL: ${error.detail}`);
  if (error.hint) lines.push(`HINT: ${error.hint}`);
  if (error.code === '57014' && /statement timeout/.test(error.message)) {
    lines.push(`The time limit is ${limits.statementTimeoutMs} ms: make the query cheaper (filter, aggregate, add LIMIT).`);
  }
  return lines.join('\n');
}

/** A failure the model can act on, or undefined for a programming error that should propagate. */
function toToolError(error: unknown, limits: DatabaseLimits): ToolError | undefined {
  if (error instanceof ToolError) return error;
  if (error instanceof DatabaseError) return new ToolError(describeDatabaseError(error, limits));
  const refusal = findOutboundRefusal(error);
  if (refusal) return new ToolError(`database host ${refusal.host} is not allowed: ${refusal.reason}`);
  // Node socket errors carry a code (ECONNREFUSED, ETIMEDOUT); pg's own say "connect" or "Connection terminated".
  if (error instanceof Error && ('code' in error || /connect|Connection terminated/i.test(error.message))) {
    return new ToolError(`Could not reach the database: ${error.message}`, { unavailable: true });
  }
  return undefined;
}

/** Hands a client that arrives after the caller gave up straight back to the pool. */
async function releaseWhenConnected(connecting: Promise<PoolClient>): Promise<void> {
  try {
    (await connecting).release();
  } catch {
    // Never connected: nothing to release.
  }
}

/** Waits for a pooled client, giving up when `signal` aborts. */
async function acquire(pool: Pool, signal: AbortSignal): Promise<PoolClient> {
  const connecting = pool.connect();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ToolError(CANCELLED));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([connecting, aborted]);
  } catch (error) {
    if (signal.aborted) void releaseWhenConnected(connecting);
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Cancels the statement running on backend `pid` from a separate connection:
 * the pooled one is busy waiting for that statement. Best effort: when this
 * fails the statement still ends at its statement timeout.
 */
async function cancelBackend(connection: ClientConfig, pid: number): Promise<void> {
  const canceller = new Client({ ...connection, connectionTimeoutMillis: 5_000 });
  canceller.on('error', () => {});
  try {
    await canceller.connect();
    await canceller.query('select pg_cancel_backend($1)', [pid]);
  } catch {
    // Best effort, see above.
  } finally {
    await canceller.end().catch(() => {});
  }
}

interface InstalledExtension {
  name: 'dblink' | 'postgres_fdw';
  /** The extension's schema, quoted as an identifier. */
  schema: string;
  listsConnections: boolean;
}

/**
 * Whether the session may hold connections to other servers, which outlive
 * the transaction and DISCARD ALL, and would carry one call's remote session
 * into the next: dblink's, whenever dblink is installed (its unnamed
 * connection is listed nowhere), and postgres_fdw's cached ones (listed since
 * PostgreSQL 14; assumed before). Reads the catalog only, so it cannot fail
 * for want of either extension.
 */
async function mayHoldOutsideConnections(client: PoolClient): Promise<boolean> {
  const installed = await client.query<InstalledExtension>(
    `select e.extname as name, pg_catalog.quote_ident(n.nspname) as schema,
            exists(select from pg_catalog.pg_proc p
                    where p.pronamespace = e.extnamespace and p.proname = 'postgres_fdw_get_connections') as "listsConnections"
       from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
      where e.extname in ('dblink', 'postgres_fdw')`,
  );
  for (const extension of installed.rows) {
    if (extension.name === 'dblink' || !extension.listsConnections) return true;
    const open = await client.query(`select from ${extension.schema}.postgres_fdw_get_connections() limit 1`);
    if (open.rows.length > 0) return true;
  }
  return false;
}

/**
 * Ends the transaction and clears session state a query could leave behind
 * (advisory locks, settings); false when the connection is not fit to be
 * reused, as when it may hold connections to other servers.
 */
async function resetSession(client: PoolClient): Promise<boolean> {
  try {
    await client.query('rollback');
    await client.query('discard all');
    return !(await mayHoldOutsideConnections(client));
  } catch {
    return false;
  }
}

/** `connection` opens the extra connection that cancels a running statement: the pool's own settings. */
export function createDatabaseToolContext(pool: Pool, connection: ClientConfig, limits: DatabaseLimits): DatabaseToolContext {
  async function readOnly<T>(signal: AbortSignal, work: (client: ClientBase) => Promise<T>): Promise<T> {
    if (signal.aborted) throw new ToolError(CANCELLED);
    let client: PoolClient;
    try {
      client = await acquire(pool, signal);
    } catch (error) {
      throw toToolError(error, limits) ?? error;
    }

    let broken = false;
    // A checked-out client has no error listener; without one a dropped connection would crash the process.
    const onClientError = () => {
      broken = true;
    };
    client.on('error', onClientError);
    let pid: number | undefined;
    let cancelling: Promise<void> | undefined;
    const onAbort = () => {
      if (pid !== undefined) cancelling = cancelBackend(connection, pid);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const budget = wireBudget(limits);
    const meter = meterConnection(client, budget);

    try {
      await client.query('begin transaction read only');
      const setup = await client.query<{ pid: number }>(
        "select pg_backend_pid() as pid, set_config('statement_timeout', $1, true)",
        [String(limits.statementTimeoutMs)],
      );
      pid = setup.rows[0]?.pid;
      signal.throwIfAborted();
      return await work(client);
    } catch (error) {
      if (signal.aborted) throw new ToolError(CANCELLED);
      if (meter.overflowed()) {
        throw new ToolError(
          `The database sent more than ${Math.round(budget / 1024 / 1024)} MiB for this call, so it was stopped. ` +
            'Select fewer rows or smaller values (for example left(column, 1000), or aggregate).',
        );
      }
      throw toToolError(error, limits) ?? error;
    } finally {
      meter.stop();
      signal.removeEventListener('abort', onAbort);
      await cancelling;
      // After an abort a late cancel could still hit the connection's next
      // statement, so the connection is closed rather than reused.
      const reusable = !signal.aborted && !broken && (await resetSession(client));
      client.removeListener('error', onClientError);
      client.release(!reusable);
    }
  }

  return { limits, readOnly };
}
