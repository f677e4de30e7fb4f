import type { CallToolResult } from '@modelcontextprotocol/server';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseSource } from '../../src/servers/database/index.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import { isUnavailableResult, UnknownToolError, type ToolCallContext, type ToolSource } from '../../src/servers/tool-source.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';

const FIXTURE = `
  create table customers (id serial primary key, name text not null, email text unique, vip boolean not null default false);
  comment on table customers is 'People who buy things';
  create table orders (
    id bigint generated always as identity primary key,
    customer_id int not null references customers (id) on delete cascade,
    total numeric(10, 2) not null,
    placed_on date not null,
    notes jsonb
  );
  create index orders_customer_id_idx on orders (customer_id);
  create view big_orders as select * from orders where total > 100;
  create schema reporting;
  insert into customers (name, email, vip) values ('alice', 'a@example.com', true), ('bob', 'b@example.com', false), ('carol', null, false);
  insert into orders (customer_id, total, placed_on, notes)
    values (1, 10.50, '2024-01-02', '{"gift": true}'), (1, 250, '2024-02-03', null), (2, 99.99, '2024-03-04', null);
  create table numbers as select g as n from generate_series(1, 5000) g;
  analyze;
`;

const context = (): ToolCallContext => ({ signal: new AbortController().signal, progress: () => Promise.resolve() });
const data = (result: CallToolResult) => (result.structuredContent ?? {}) as Record<string, unknown>;
const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe.skipIf(!TEST_DATABASE_URL)('database server: tools', () => {
  let throwaway: { url: string; drop(): Promise<void> } | undefined;
  let url: string;
  const sources: ToolSource[] = [];
  const { createSocket } = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });
  const open = (options: Omit<Parameters<typeof createDatabaseSource>[0], 'url' | 'createSocket'> = {}) => {
    const source = createDatabaseSource({ url, createSocket, ...options });
    sources.push(source);
    return source;
  };
  let source: ToolSource;
  const call = (name: string, args: Record<string, unknown> = {}, on = source) => on.callTool(name, args, context());

  beforeAll(async () => {
    throwaway = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    url = throwaway.url;
    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query(FIXTURE);
    await admin.end();
    source = open();
  });

  afterAll(async () => {
    await Promise.all(sources.map((s) => s.close()));
    await throwaway?.drop();
  });

  it('offers four read-only, closed-world tools', async () => {
    const tools = await source.listTools(new AbortController().signal);
    expect(tools.map((t) => t.name)).toEqual(['list_schemas', 'list_tables', 'describe_table', 'query']);
    for (const tool of tools) {
      expect(tool.annotations).toEqual({ readOnlyHint: true, openWorldHint: false });
      expect(tool.description?.length).toBeGreaterThan(50);
    }
  });

  it('lists the user schemas without the system ones', async () => {
    const result = await call('list_schemas');
    const names = (data(result)['schemas'] as { name: string }[]).map((s) => s.name);
    expect(result.isError).toBeUndefined();
    expect(names).toEqual(['public', 'reporting']);
    expect(text(result)).toContain('reporting');
  });

  it('lists tables and views with row estimates', async () => {
    const result = await call('list_tables');
    expect(data(result)['tables']).toEqual([
      { name: 'big_orders', kind: 'view', estimatedRows: null, description: null },
      { name: 'customers', kind: 'table', estimatedRows: 3, description: 'People who buy things' },
      { name: 'numbers', kind: 'table', estimatedRows: 5000, description: null },
      { name: 'orders', kind: 'table', estimatedRows: 3, description: null },
    ]);
    expect(text(result)).toMatch(/customers\s+\| table\s+\| 3/);
    expect(data((await call('list_tables', { schema: 'reporting' })))['tables']).toEqual([]);
  });

  it('refuses a value nested too deeply to return, saying so, and goes on working', async () => {
    const result = await call('query', { sql: "select (repeat('[', 5000) || repeat(']', 5000))::jsonb as deep" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^A value in the result is nested more than 512 levels deep, more than the gateway returns; select a part of it/);
    expect(data(await call('query', { sql: 'select 1 as one' }))['rows']).toEqual([[1]]);
  });

  it('says which schemas exist when asked for a missing one', async () => {
    const result = await call('list_tables', { schema: 'nope' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/Schema "nope" does not exist.*list_schemas/);
  });

  it('describes columns, keys and indexes of a table', async () => {
    const result = await call('describe_table', { table: 'orders' });
    const d = data(result);
    expect(d['kind']).toBe('table');
    expect(d['columns']).toEqual([
      { name: 'id', type: 'bigint', nullable: false, default: null, description: null },
      { name: 'customer_id', type: 'integer', nullable: false, default: null, description: null },
      { name: 'total', type: 'numeric(10,2)', nullable: false, default: null, description: null },
      { name: 'placed_on', type: 'date', nullable: false, default: null, description: null },
      { name: 'notes', type: 'jsonb', nullable: true, default: null, description: null },
    ]);
    expect(d['primaryKey']).toEqual(['id']);
    expect(d['foreignKeys']).toEqual([
      {
        name: 'orders_customer_id_fkey',
        columns: ['customer_id'],
        referencedTable: 'customers',
        referencedColumns: ['id'],
        definition: 'FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE CASCADE',
      },
    ]);
    expect((d['indexes'] as { name: string }[]).map((i) => i.name)).toEqual(['orders_customer_id_idx', 'orders_pkey']);
    expect(text(result)).toContain('Primary key: (id)');
    expect(text(result)).toContain('REFERENCES customers(id)');

    const customers = await call('describe_table', { table: 'customers', schema: 'public' });
    expect((data(customers)['columns'] as { default: string | null }[])[0]?.default).toBe(
      "nextval('customers_id_seq'::regclass)",
    );
  });

  it('keeps names, comments and definitions on their own lines, so none can fake a line of the description', async () => {
    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create table "sly\nPrimary key: (forged)" ("id\nIndexes:" int primary key);
      comment on table "sly\nPrimary key: (forged)" is E'fine\\n\\nPrimary key: (also forged)'`);
    const sly = await call('describe_table', { table: 'sly\nPrimary key: (forged)' });
    await admin.query(`drop table "sly\nPrimary key: (forged)"`);
    await admin.end();
    expect(sly.isError).toBeFalsy();
    const lines = text(sly).split('\n');
    expect(lines[0]).toBe('"public"."sly\\nPrimary key: (forged)" (table): fine\\n\\nPrimary key: (also forged)');
    expect(lines.filter((line) => line.startsWith('Primary key:'))).toEqual(['Primary key: (id\\nIndexes:)']);
    expect(lines.filter((line) => line === 'Indexes:')).toHaveLength(1);
    expect(data(sly)['description']).toBe('fine\n\nPrimary key: (also forged)');
  });

  it('describes a view with its definition, and refuses a missing table', async () => {
    const view = await call('describe_table', { table: 'big_orders' });
    expect(data(view)['kind']).toBe('view');
    expect(data(view)['viewDefinition']).toContain('total > 100');

    const missing = await call('describe_table', { table: 'Orders' });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toContain('list_tables');
  });

  it('runs a query and returns a table and structured rows', async () => {
    const result = await call('query', {
      sql: 'select c.name, c.vip, o.total, o.placed_on, o.notes from orders o join customers c on c.id = o.customer_id order by o.id;',
    });
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual({
      columns: ['name', 'vip', 'total', 'placed_on', 'notes'],
      rows: [
        ['alice', true, '10.50', '2024-01-02', { gift: true }],
        ['alice', true, '250.00', '2024-02-03', null],
        ['bob', false, '99.99', '2024-03-04', null],
      ],
      rowCount: 3,
      truncated: false,
    });
    expect(text(result)).toContain('name  | vip   | total  | placed_on  | notes');
    expect(text(result)).toContain('alice | true  | 10.50  | 2024-01-02 | {"gift":true}');
    expect(text(result)).toContain('(3 rows)');
  });

  it('escapes | and line breaks in the text table, so each row keeps its line and columns; the structured rows keep the values', async () => {
    const result = await call('query', { sql: "select 'a | b' as \"x|y\", E'one\\ntwo | three' as z union all select '|', 'four'" });
    expect(text(result)).toBe(
      ['x\\|y   | z', '-------+------------------', 'a \\| b | one\\ntwo \\| three', '\\|     | four', '(2 rows)'].join('\n'),
    );
    expect(result.structuredContent).toMatchObject({ columns: ['x|y', 'z'], rows: [['a | b', 'one\ntwo | three'], ['|', 'four']] });
  });

  it('runs EXPLAIN, SHOW, VALUES, TABLE and a parenthesised query', async () => {
    for (const sql of ['explain select * from orders', 'show statement_timeout', 'values (1)', 'table customers', '(select 1) union (select 2)']) {
      const result = await call('query', { sql });
      expect(result.isError, `${sql}: ${text(result)}`).toBeUndefined();
    }
    const shown = await call('query', { sql: 'show statement_timeout' });
    expect(data(shown)['rows']).toEqual([['10s']]);
  });

  it('flags a result cut at the row limit', async () => {
    const limited = open({ rowLimit: 100 });
    const result = await call('query', { sql: 'select n from numbers order by n' }, limited);
    expect(result.structuredContent).toMatchObject({ rowCount: 100, truncated: true, truncatedBy: 'rowLimit' });
    expect((data(result)['rows'] as unknown[]).at(-1)).toEqual([100]);
    expect(text(result)).toContain('Truncated: the query returns more than 100 rows');

    const exact = await call('query', { sql: 'select n from numbers order by n limit 100' }, limited);
    expect(exact.structuredContent).toMatchObject({ rowCount: 100, truncated: false });
  });

  it('flags a result cut at the byte limit', async () => {
    const limited = open({ maxResultBytes: 1000 });
    const result = await call('query', { sql: "select n, repeat('x', 100) as filler from numbers order by n" }, limited);
    const rowCount = data(result)['rowCount'] as number;
    expect(result.structuredContent).toMatchObject({ truncated: true, truncatedBy: 'maxResultBytes' });
    expect(rowCount).toBeGreaterThan(0);
    expect(rowCount).toBeLessThan(10);
    expect(Buffer.byteLength(JSON.stringify(data(result)['rows']))).toBeLessThanOrEqual(1000 + rowCount + 2);
    expect(text(result)).toContain('Truncated: the result passed 1000 bytes');
  });

  it("returns PostgreSQL's message for a bad query", async () => {
    const syntax = await call('query', { sql: 'select * form orders' });
    expect(syntax.isError).toBe(true);
    expect(text(syntax)).toContain('syntax error at or near "form"');

    const missing = await call('query', { sql: 'select * from nowhere' });
    expect(text(missing)).toContain('relation "nowhere" does not exist');

    const parameter = await call('query', { sql: 'select $1::int' });
    expect(text(parameter)).toBe('Query parameters such as $1 are not supported: write the values into the SQL as literals.');
  });

  it('refuses bad arguments and unknown tools', async () => {
    const empty = await call('query', { sql: '' });
    expect(empty.isError).toBe(true);
    expect(text(empty)).toContain('sql');
    await expect(call('drop_table', {})).rejects.toBeInstanceOf(UnknownToolError);
    expect(() => createDatabaseSource({ url: 'mysql://x', rowLimit: 0, createSocket })).toThrow(/url/);
    expect(() => createDatabaseSource({ url, rowLimit: 0, createSocket })).toThrow(/rowLimit/);
  });

  it('reports an unreachable database as a tool error, marked as the database being unavailable', async () => {
    const unreachable = createDatabaseSource({ url: 'postgres://postgres@127.0.0.1:1/none', createSocket });
    const result = await call('query', { sql: 'select 1' }, unreachable);
    await unreachable.close();
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^Could not reach the database/);
    expect(isUnavailableResult(result)).toBe(true);
    // The database answering with an error is not an outage.
    const refused = await call('query', { sql: 'select * from no_such_table' });
    expect(refused.isError).toBe(true);
    expect(isUnavailableResult(refused)).toBe(false);
  });
});
