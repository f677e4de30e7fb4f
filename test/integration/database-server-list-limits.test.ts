import type { CallToolResult } from '@modelcontextprotocol/server';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseSource } from '../../src/servers/database/index.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import type { ToolCallContext, ToolSource } from '../../src/servers/tool-source.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';

// 25 schemas, 25 tables in one of them, and a table of 15 columns, 12 foreign keys and 13 indexes:
// more of each than the row limit of 10 the source is given below.
const FIXTURE = `
  do $$ begin
    for i in 1..25 loop
      execute format('create schema s_%s', lpad(i::text, 2, '0'));
      execute format('create table public.t_%s (id int)', lpad(i::text, 2, '0'));
    end loop;
  end $$;
  create table target (id int primary key);
  create table wide (${Array.from({ length: 15 }, (_, i) => `c${String(i + 1).padStart(2, '0')} int`).join(', ')}, primary key (c01));
  do $$ begin
    for i in 1..12 loop
      execute format('alter table wide add constraint fk_%1$s foreign key (c%1$s) references target (id)', lpad(i::text, 2, '0'));
      execute format('create index ix_%1$s on wide (c%1$s)', lpad(i::text, 2, '0'));
    end loop;
  end $$;
  comment on table t_01 is 'a | pipe';
`;

const context = (): ToolCallContext => ({ signal: new AbortController().signal, progress: () => Promise.resolve() });
const data = (result: CallToolResult) => (result.structuredContent ?? {}) as Record<string, unknown>;
const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const names = (list: unknown) => (list as { name: string }[]).map((entry) => entry.name);
const numbered = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(2, '0')}`);

describe.skipIf(!TEST_DATABASE_URL)('database server: list_schemas, list_tables and describe_table stop at the limits', () => {
  let throwaway: { url: string; drop(): Promise<void> } | undefined;
  const sources: ToolSource[] = [];
  let source: ToolSource;
  const open = (options: { rowLimit?: number; maxResultBytes?: number }) => {
    const { createSocket } = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });
    const opened = createDatabaseSource({ url: throwaway?.url ?? '', createSocket, ...options });
    sources.push(opened);
    return opened;
  };
  const call = (name: string, args: Record<string, unknown> = {}, on = source) => on.callTool(name, args, context());

  beforeAll(async () => {
    throwaway = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    const admin = new Client({ connectionString: throwaway.url });
    await admin.connect();
    await admin.query(FIXTURE);
    await admin.end();
    source = open({ rowLimit: 10 });
  });

  afterAll(async () => {
    await Promise.all(sources.map((s) => s.close()));
    await throwaway?.drop();
  });

  it('lists the first schemas up to the row limit, saying there are more and how to narrow the list', async () => {
    const result = await call('list_schemas');
    expect(result.isError).toBeUndefined();
    expect(names(data(result)['schemas'])).toEqual(['public', ...numbered('s_', 1, 9)]);
    expect(data(result)).toMatchObject({ truncated: true, truncatedBy: 'rowLimit' });
    expect(text(result).split('\n').slice(-2)).toEqual([
      '(10 schemas)',
      'Truncated: there are more than 10 schemas. Pass pattern (e.g. "sales%") to list only the schemas whose names match it.',
    ]);

    const narrowed = await call('list_schemas', { pattern: 'S_2%' });
    expect(names(data(narrowed)['schemas'])).toEqual(numbered('s_', 20, 25));
    expect(data(narrowed)).toMatchObject({ truncated: false });
    expect(data(narrowed)).not.toHaveProperty('truncatedBy');
    expect(text(narrowed).split('\n').at(-1)).toBe('(6 schemas matching "S_2%")');
  });

  it('lists the first tables up to the row limit, saying there are more and how to narrow the list', async () => {
    const result = await call('list_tables');
    expect(names(data(result)['tables'])).toEqual(numbered('t_', 1, 10));
    expect(data(result)).toMatchObject({ schema: 'public', truncated: true, truncatedBy: 'rowLimit' });
    expect(text(result).split('\n').slice(-2)).toEqual([
      '(10 relations)',
      'Truncated: there are more than 10 relations in schema "public". Pass pattern (e.g. "order%") to list only the names that match it.',
    ]);
    // The comment's | is escaped in the text table, and kept as it is in the structured result.
    expect(text(result)).toMatch(/^t_01 +\| table +\| +\| a \\\| pipe$/m);
    expect((data(result)['tables'] as { description: string | null }[])[0]?.description).toBe('a | pipe');

    const narrowed = await call('list_tables', { pattern: 't_2_' });
    expect(names(data(narrowed)['tables'])).toEqual(numbered('t_', 20, 25));
    expect(data(narrowed)).toMatchObject({ truncated: false });
    expect(text(narrowed).split('\n').at(-1)).toBe('(6 relations matching "t_2_")');

    const stillTooMany = await call('list_tables', { pattern: 't_%' });
    expect(text(stillTooMany).split('\n').at(-1)).toBe(
      'Truncated: there are more than 10 relations in schema "public" matching "t_%". Pass a narrower pattern.',
    );

    const none = await call('list_tables', { pattern: 'nothing%' });
    expect(data(none)).toMatchObject({ tables: [], truncated: false });
    expect(text(none).split('\n').at(-1)).toBe('(0 relations matching "nothing%")');
  });

  it('stops a list at the byte limit too, saying so', async () => {
    const small = open({ maxResultBytes: 300 });
    const result = await call('list_tables', {}, small);
    const tables = data(result)['tables'] as unknown[];
    expect(data(result)).toMatchObject({ truncated: true, truncatedBy: 'maxResultBytes' });
    expect(tables.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(JSON.stringify(tables))).toBeLessThanOrEqual(300 + tables.length + 1);
    expect(text(result).split('\n').at(-1)).toBe(
      'Truncated: the list of relations in schema "public" passed 300 bytes. Pass pattern (e.g. "order%") to list only the names that match it.',
    );
  });

  it('describes the first columns, foreign keys and indexes up to the row limit, with a query that reads the rest', async () => {
    const result = await call('describe_table', { table: 'wide' });
    const d = data(result);
    expect(names(d['columns'])).toEqual(numbered('c', 1, 10));
    expect(d['primaryKey']).toEqual(['c01']);
    expect(names(d['foreignKeys'])).toEqual(numbered('fk_', 1, 10));
    expect(names(d['indexes'])).toEqual(numbered('ix_', 1, 10));
    expect(d).toMatchObject({ truncated: true, truncatedLists: { columns: 'rowLimit', foreignKeys: 'rowLimit', indexes: 'rowLimit' } });

    const shown = text(result);
    expect(shown).toContain('Primary key: (c01)');
    const hints = shown.split('\n').filter((line) => line.startsWith('Truncated: '));
    expect(hints).toEqual([
      "Truncated: there are more than 10 columns. Run query with: select column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = 'public' and table_name = 'wide' order by ordinal_position offset 10",
      "Truncated: there are more than 10 foreign keys. Run query with: select conname, pg_get_constraintdef(oid) from pg_constraint where conrelid = format('%I.%I', 'public', 'wide')::regclass and contype = 'f' order by conname offset 10",
      "Truncated: there are more than 10 indexes. Run query with: select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = 'wide' order by indexname offset 10",
    ]);

    // Each suggested query reads what was left off.
    const rest = await Promise.all(hints.map((hint) => call('query', { sql: hint.replace(/^.*Run query with: /, '') })));
    expect(rest.map((r) => (data(r)['rows'] as string[][]).map((row) => row[0]))).toEqual([
      numbered('c', 11, 15),
      numbered('fk_', 11, 12),
      ['ix_11', 'ix_12', 'wide_pkey'],
    ]);
  });

  it('describes a table within the limits whole, saying nothing of truncation', async () => {
    const result = await call('describe_table', { table: 'target' });
    expect(data(result)).toMatchObject({ truncated: false, columns: [{ name: 'id' }], indexes: [{ name: 'target_pkey' }] });
    expect(data(result)).not.toHaveProperty('truncatedLists');
    expect(text(result)).not.toContain('Truncated');
  });
});
