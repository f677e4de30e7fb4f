import type { Socket } from 'node:net';
import { Pool, type ClientConfig } from 'pg';
import * as z from 'zod';
import { createToolRegistry } from '../tool-registry.ts';
import type { ToolSource } from '../tool-source.ts';
import { createDatabaseToolContext } from './session.ts';
import { registerDescribeTableTool } from './tools/describe-table.ts';
import { registerListSchemasTool } from './tools/list-schemas.ts';
import { registerListTablesTool } from './tools/list-tables.ts';
import { registerQueryTool } from './tools/query.ts';
import { parseIntoClientConfig } from 'pg-connection-string';

const positiveInteger = z.number().int().positive();

const optionsSchema = z.object({
  url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// connection URL'),
  rowLimit: positiveInteger.default(1000),
  statementTimeoutMs: positiveInteger.default(10_000),
  maxResultBytes: positiveInteger.default(1024 * 1024),
  poolSize: positiveInteger.default(2),
  /** PEM certificates the database's must chain to, in place of the usual public authorities. */
  ca: z.string().optional(),
});

/**
 * pg's connection settings for `url`. With `ca` the connection always uses
 * TLS and verifies the server's certificate and host name against `ca`,
 * whatever the URL's `sslmode` says (pg would let the URL's win).
 */
function connectionConfig(url: string, ca: string | undefined): ClientConfig {
  // Parsed as pg parses it, but handed over as settings: with a connection string,
  // pg would read the parts it leaves out from the environment after ours.
  const credentials = credentialsOf(url);
  if (ca === undefined) return { ...parseIntoClientConfig(url), ...credentials };
  const withoutTlsParams = new URL(url);
  withoutTlsParams.searchParams.delete('sslmode');
  withoutTlsParams.searchParams.delete('ssl');
  return { ...parseIntoClientConfig(withoutTlsParams.toString()), ssl: { ca }, ...credentials };
}

/**
 * The user, password, database and port the URL names, given to pg outright: what
 * the URL leaves out, pg would take from the gateway's own environment
 * (PGUSER, PGPASSWORD, ~/.pgpass, the system user), handing the operator's
 * credentials to a tenant's database. No password is an empty one; no
 * database is the user's, as PostgreSQL's default.
 */
function credentialsOf(url: string): Pick<ClientConfig, 'user' | 'password' | 'database' | 'port'> {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username);
  if (user === '') throw new Error('the database URL names no user');
  const password = decodeURIComponent(parsed.password);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || user;
  // A function, as an empty string would make pg look in the environment after all.
  return { user, password: () => Promise.resolve(password), database, port: Number(parsed.port) || 5432 };
}

export type DatabaseSourceOptions = z.input<typeof optionsSchema> & {
  /**
   * An unconnected socket for each connection, whose `connect` checks the
   * addresses it reaches (the operator's `OutboundGuard`): pg connects through
   * it, TLS included, so the address checked is the address used.
   */
  createSocket: () => Socket;
};

/**
 * The built-in `database` server: a tenant's PostgreSQL database, read-only,
 * as `list_schemas`, `list_tables`, `describe_table` and `query`. Every call
 * runs in a READ ONLY transaction that is rolled back, under a statement
 * timeout and row and byte limits. Connections open on first use, in a small
 * pool of `poolSize`; `close()` ends them.
 *
 * Read-only transactions stop writes to tables, but not functions with
 * outside effects that the connecting role may call (dblink, for one): give
 * the source a role that may only read. Connections to other servers outlive
 * DISCARD ALL, so where dblink is installed, or postgres_fdw holds
 * connections, a pooled connection is closed after each call, not reused.
 */
export function createDatabaseSource({ createSocket, ...options }: DatabaseSourceOptions): ToolSource {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid database source option ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const { url, poolSize, ca, ...limits } = parsed.data;
  // Pooled connections and the ones that cancel a statement alike.
  const connection: ClientConfig = { ...connectionConfig(url, ca), stream: createSocket };
  const pool = new Pool({
    ...connection,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'botgate',
  });
  // An idle connection the server drops is discarded by the pool and reopened
  // on next use; without a listener the 'error' event would crash the process.
  pool.on('error', () => {});

  const ctx = createDatabaseToolContext(pool, connection, limits);
  const registry = createToolRegistry({ onClose: () => pool.end() });
  registerListSchemasTool(registry, ctx);
  registerListTablesTool(registry, ctx);
  registerDescribeTableTool(registry, ctx);
  registerQueryTool(registry, ctx);
  return {
    ...registry,
    // Connects and runs a trivial statement as the tools do: the URL, the credentials and the network policy are tried.
    check: async (signal) => {
      await ctx.readOnly(signal, (client) => client.query('select 1'));
    },
  };
}
