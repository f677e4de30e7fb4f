import type { CallToolResult } from '@modelcontextprotocol/server';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseSource } from '../../src/servers/database/index.ts';
import { wireBudget } from '../../src/servers/database/session.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import type { ToolCallContext, ToolSource } from '../../src/servers/tool-source.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';

const FIXTURE = `
  create table accounts (id int primary key, owner text not null, balance numeric not null);
  insert into accounts values (1, 'alice', 100), (2, 'bob', 50);
  create sequence invoice_numbers;
`;

const data = (result: CallToolResult) => (result.structuredContent ?? {}) as Record<string, unknown>;
const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const contextWith = (signal: AbortSignal): ToolCallContext => ({ signal, progress: () => Promise.resolve() });

describe.skipIf(!TEST_DATABASE_URL)('database server: safety', () => {
  let throwaway: { url: string; drop(): Promise<void> } | undefined;
  let url: string;
  let admin: Client;
  let source: ToolSource;
  const { createSocket } = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });
  const query = (sql: string, signal = new AbortController().signal, on = source) =>
    on.callTool('query', { sql }, contextWith(signal));

  /** What an operator would see in the database: the accounts, the tables, and the gateway's connections. */
  const snapshot = async () => ({
    accounts: (await admin.query('select id, owner, balance::text from accounts order by id')).rows,
    tables: (await admin.query("select relname from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace order by 1")).rows,
    sequence: (await admin.query('select last_value, is_called from invoice_numbers')).rows,
  });
  const gatewayConnections = async () =>
    (
      await admin.query<{ state: string; query: string }>(
        "select state, query from pg_stat_activity where datname = current_database() and application_name = 'botgate'",
      )
    ).rows;

  beforeAll(async () => {
    throwaway = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    url = throwaway.url;
    admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query(FIXTURE);
    source = createDatabaseSource({ url, createSocket });
  });

  afterAll(async () => {
    await source?.close();
    await admin?.end();
    await throwaway?.drop();
  });

  it.each([
    'insert into accounts values (3, \'mallory\', 1000000)',
    'update accounts set balance = 0',
    'delete from accounts',
    'create table stolen (x int)',
    'drop table accounts',
    'truncate accounts',
    'alter table accounts add column pwned int',
    'grant all on accounts to public',
    'copy accounts to stdout',
    "do $$ begin delete from accounts; end $$",
  ])('refuses the write %s and changes nothing', async (sql) => {
    const before = await snapshot();
    const result = await query(sql);
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('Only read-only queries can run here');
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['a data-modifying WITH', 'with gone as (delete from accounts returning *) select * from gone', 'data-modifying'],
    ['nextval', "select nextval('invoice_numbers')", 'cannot execute nextval() in a read-only transaction'],
    ['SELECT FOR UPDATE', 'select * from accounts for update', 'cannot execute SELECT FOR UPDATE in a read-only transaction'],
    ['turning read-only off', "select set_config('transaction_read_only', 'off', true)", 'transaction read-write mode must be set before any query'],
    ['SELECT INTO', 'select * into stolen from accounts', 'SELECT ... INTO is not allowed here'],
  ])('lets PostgreSQL refuse %s inside the read-only transaction', async (_what, sql, message) => {
    const before = await snapshot();
    const result = await query(sql);
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(message);
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    'select 1; delete from accounts',
    'commit; delete from accounts',
    'select 1; commit',
    'select 1; commit; update accounts set balance = 0',
    "select ';'; delete from accounts",
    'select 1 /* ; */; delete from accounts',
    'select $$;$$; delete from accounts',
    'rollback; set transaction read write; delete from accounts',
  ])('refuses several statements (%s) and runs none', async (sql) => {
    const before = await snapshot();
    const result = await query(sql);
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/holds \d statements; send exactly one statement per call\. Nothing was run\./);
    expect(await snapshot()).toEqual(before);
  });

  it.each(['commit', 'rollback', 'begin', 'set role postgres', 'reset all', 'set session characteristics as transaction read write', 'discard all', 'prepare p as delete from accounts'])(
    'refuses the session or transaction statement %s',
    async (sql) => {
      const result = await query(sql);
      expect(result.isError).toBe(true);
      expect(text(result)).toContain('Only read-only queries can run here');
    },
  );

  it('leaves no session state behind on the pooled connection', async () => {
    const locked = await query('select pg_advisory_lock(42)');
    expect(locked.isError).toBeUndefined();
    // pg_locks spans the cluster: only this database's locks (other tests migrate databases of their own meanwhile).
    const held = await admin.query(
      "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
    );
    expect(held.rows[0]).toEqual({ n: 0 });
    await query("select set_config('default_transaction_read_only', 'off', false)");
    const shown = await query('show default_transaction_read_only');
    expect(data(shown)['rows']).toEqual([['off']]);
    const still = await query('with gone as (select 1) select count(*)::int from accounts');
    expect(data(still)['rows']).toEqual([[2]]);
  });

  it('stops a query at the statement timeout with an error result', async () => {
    const impatient = createDatabaseSource({ url, statementTimeoutMs: 200, createSocket });
    try {
      const result = await query('select pg_sleep(5)', undefined, impatient);
      expect(result.isError).toBe(true);
      expect(text(result)).toContain('canceling statement due to statement timeout');
      expect(text(result)).toContain('200 ms');

      const after = await query('select 1 as ok', undefined, impatient);
      expect(data(after)['rows']).toEqual([[1]]);
    } finally {
      await impatient.close();
    }
  });

  it('cancels a running query when the caller aborts, and keeps working', async () => {
    const controller = new AbortController();
    const call = query('select pg_sleep(30)', controller.signal);
    // Rows are read by FETCH from a cursor: that is the statement sleeping.
    const sleeping = async () => (await gatewayConnections()).filter((c) => c.state === 'active' && c.query.startsWith('fetch'));
    await expect.poll(async () => (await sleeping()).length, { timeout: 5_000 }).toBe(1);

    controller.abort();
    const result = await call;

    expect(result.isError).toBe(true);
    expect(text(result)).toContain('cancelled');
    // The cancelled connection is closed rather than reused; its backend goes away shortly after.
    await expect.poll(async () => (await gatewayConnections()).filter((c) => c.state !== 'idle')).toEqual([]);
    expect((await gatewayConnections()).length).toBeLessThanOrEqual(2);
    const after = await query('select count(*)::int from accounts');
    expect(data(after)['rows']).toEqual([[2]]);
  });

  it('stops a call once the database has sent more than its wire budget, holding no more of it, and keeps working', async () => {
    // 4 x the 1 MiB result limit + 16 MiB: a value of 40 MB is refused on the way in, not read whole and cut afterwards.
    const budget = wireBudget({ rowLimit: 1000, statementTimeoutMs: 10_000, maxResultBytes: 1024 * 1024 });
    expect(budget).toBe(20 * 1024 * 1024);
    const result = await query("select repeat('x', 40000000) as huge");
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^The database sent more than 20 MiB for this call, so it was stopped\. Select fewer rows or smaller values/);
    // A large value within the budget is read, and cut to the result limit as before.
    const large = await query("select repeat('y', 3000000) as large");
    expect(large.isError ?? false).toBe(false);
    expect(text(large)).toContain('Truncated: the result passed 1048576 bytes');
    // The stopped connection was closed, not reused.
    await expect.poll(async () => (await gatewayConnections()).filter((c) => c.state !== 'idle')).toEqual([]);
    expect(data(await query('select count(*)::int from accounts'))['rows']).toEqual([[2]]);
  });

  it('answers an already aborted call as cancelled without touching the database', async () => {
    const result = await query('select 1', AbortSignal.abort());
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('cancelled');
  });

  it('returns every connection after a run of failures', async () => {
    const small = createDatabaseSource({ url, poolSize: 1, createSocket });
    try {
      for (const sql of ['select * form x', 'select 1/0', 'select * from accounts for update', 'select pg_sleep(0.01), 1/0']) {
        expect((await query(sql, undefined, small)).isError).toBe(true);
      }
      const ok = await query('select 1', undefined, small);
      expect(data(ok)['rows']).toEqual([[1]]);
      expect((await gatewayConnections()).filter((c) => c.state !== 'idle')).toEqual([]);
    } finally {
      await small.close();
    }
  });
});
