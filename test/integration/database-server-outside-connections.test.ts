import type { CallToolResult } from '@modelcontextprotocol/server';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseSource } from '../../src/servers/database/index.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import type { ToolCallContext, ToolSource } from '../../src/servers/tool-source.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';

/** Whether the PostgreSQL server of TEST_DATABASE_URL ships the extension (contrib may not be installed). */
async function extensionAvailable(name: string): Promise<boolean> {
  if (!TEST_DATABASE_URL) return false;
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query('select 1 from pg_available_extensions where name = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

const dblinkAvailable = await extensionAvailable('dblink');
const postgresFdwAvailable = await extensionAvailable('postgres_fdw');

const context = (): ToolCallContext => ({ signal: new AbortController().signal, progress: () => Promise.resolve() });
const data = (result: CallToolResult) => (result.structuredContent ?? {}) as Record<string, unknown>;
const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/** libpq settings for the database at `url`, as the database server itself would connect to it (dblink, postgres_fdw). */
function libpqSettings(url: string): { host: string; port: string; user: string; dbname: string } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port || '5432', user: decodeURIComponent(parsed.username), dbname: parsed.pathname.slice(1) };
}

/**
 * One throwaway database, prepared by `setup` as its owner, and database
 * sources of one pooled connection on it: consecutive calls share a session
 * unless the connection is closed between them.
 */
function useDatabase(setup: (admin: Client, url: string) => Promise<unknown>) {
  let throwaway: { url: string; drop(): Promise<void> } | undefined;
  const sources: ToolSource[] = [];
  beforeAll(async () => {
    throwaway = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    const admin = new Client({ connectionString: throwaway.url });
    await admin.connect();
    try {
      await setup(admin, throwaway.url);
    } finally {
      await admin.end();
    }
  });
  afterAll(async () => {
    await Promise.all(sources.map((s) => s.close()));
    await throwaway?.drop();
  });
  return {
    get url() {
      return throwaway?.url ?? '';
    },
    open(): (sql: string) => Promise<CallToolResult> {
      const { createSocket } = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });
      const source = createDatabaseSource({ url: throwaway?.url ?? '', poolSize: 1, createSocket });
      sources.push(source);
      return (sql) => source.callTool('query', { sql }, context());
    },
  };
}

const backendPid = async (query: (sql: string) => Promise<CallToolResult>) =>
  (data(await query('select pg_backend_pid() as pid'))['rows'] as number[][])[0]?.[0];

describe.skipIf(!TEST_DATABASE_URL)('database server: a pooled connection without connections to other servers', () => {
  const database = useDatabase(() => Promise.resolve());

  it('is reused from call to call', async () => {
    const query = database.open();
    const first = await backendPid(query);
    expect(first).toBeTypeOf('number');
    expect(await backendPid(query)).toBe(first);
    expect(await backendPid(query)).toBe(first);
  });
});

// The contrib package is needed for these: without it PostgreSQL offers neither extension, and the tests are skipped.
describe.skipIf(!TEST_DATABASE_URL || !dblinkAvailable)('database server: dblink connections do not outlive a call', () => {
  const database = useDatabase((admin) => admin.query('create extension dblink'));
  const target = () => {
    const { host, port, user, dbname } = libpqSettings(database.url);
    return `host=${host} port=${port} user=${user} dbname=${dbname}`;
  };

  it('closes a named dblink connection opened in one call before the next call', async () => {
    const query = database.open();
    const opened = await query(`select dblink_connect('kept', '${target()}') as status`);
    expect(text(opened)).toBe('status\n------\nOK\n(1 row)');
    expect(data(opened)['rows']).toEqual([['OK']]);

    const listed = await query('select dblink_get_connections() as connections');
    expect(data(listed)['rows']).toEqual([[null]]);
    const used = await query("select dblink_is_busy('kept') as busy");
    expect(used.isError).toBe(true);
    expect(text(used)).toContain('connection "kept" not available');
  });

  it('closes the unnamed dblink connection, which dblink_get_connections does not list, before the next call', async () => {
    const query = database.open();
    const opened = await query(`select dblink_connect('${target()}') as status`);
    expect(data(opened)['rows']).toEqual([['OK']]);

    const used = await query("select * from dblink('select 42') as t(answer int)");
    expect(used.isError).toBe(true);
    expect(text(used)).toContain('connection not available');
    // The next call works, on a fresh connection.
    expect(data(await query('select 1 as one'))['rows']).toEqual([[1]]);
  });
});

describe.skipIf(!TEST_DATABASE_URL || !postgresFdwAvailable)('database server: postgres_fdw connections do not outlive a call', () => {
  // A foreign table over a table of the same database, reached as the database owner (a superuser needs no password).
  const database = useDatabase(async (admin, url) => {
    const { host, port, user, dbname } = libpqSettings(url);
    await admin.query(`
      create extension postgres_fdw;
      create table accounts (id int primary key, owner text not null);
      insert into accounts values (1, 'alice'), (2, 'bob');
      create server loopback foreign data wrapper postgres_fdw options (host '${host}', port '${port}', dbname '${dbname}');
      create user mapping for current_user server loopback options (user '${user}');
      create foreign table remote_accounts (id int, owner text) server loopback options (table_name 'accounts');
    `);
  });

  it('keeps reusing the connection until postgres_fdw opens one, then closes it before the next call', async () => {
    const query = database.open();
    const first = await backendPid(query);
    expect(await backendPid(query)).toBe(first);

    const read = await query('select owner from remote_accounts order by id');
    expect(data(read)['rows']).toEqual([['alice'], ['bob']]);

    const listed = await query('select server_name from postgres_fdw_get_connections()');
    expect(listed.isError).toBeUndefined();
    expect(data(listed)['rows']).toEqual([]);
  });
});
