import fs from 'node:fs/promises';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant } from '../support/http.ts';
import { CLIENTS } from '../support/mcp-clients.ts';

const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');

/** Whether the PostgreSQL server of TEST_DATABASE_URL ships dblink (part of contrib, which may not be installed). */
async function dblinkAvailable(): Promise<boolean> {
  if (!TEST_DATABASE_URL) return false;
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query("select 1 from pg_available_extensions where name = 'dblink'")).rowCount === 1;
  } finally {
    await client.end();
  }
}
const withDblink = await dblinkAvailable();

const FIXTURE = `
  create table customers (id serial primary key, name text not null, vip boolean not null default false);
  insert into customers (name, vip) values ('alice', true), ('bob', false), ('carol', false);
`;

/** Statements that would change the database, each refused by the gateway's database server. */
const WRITES = [
  "insert into customers (name) values ('mallory')",
  "update customers set vip = true where name = 'bob'",
  'drop table customers',
  'with gone as (delete from customers returning id) select count(*) from gone',
  "select setval('customers_id_seq', 1000)",
  "select 1; delete from customers",
];

// A tenant's own PostgreSQL database, reached through the gateway's `database` server kind.
describe.skipIf(!TEST_DATABASE_URL)('MCP endpoints over a database server', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let key: string;

  /** The tenant database's contents, read directly. */
  async function snapshot() {
    const client = new Client({ connectionString: database?.url });
    await client.connect();
    try {
      const rows = (await client.query('select id, name, vip from customers order by id')).rows as unknown[];
      const sequence = (await client.query('select last_value from customers_id_seq')).rows as unknown[];
      return { rows, sequence };
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(FIXTURE);
    await admin.end();

    dataDir = await makeDataDir();
    // The tenant's database runs on this machine: the operator allows loopback.
    gateway = await startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } });
    key = (await seedTenant(dataDir, 'db-co')).key.secret;
    const created = await apiClient(gateway.url, key).post('/api/v1/servers', {
      json: { slug: 'shop', kind: 'database', config: { rowLimit: 100 }, secrets: { url: database.url } },
    });
    if (created.status !== 201) throw new Error(`could not create the server: ${JSON.stringify(created.body)}`);
  });

  afterAll(async () => {
    await gateway?.stop();
    await database?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  for (const [name, connect] of CLIENTS) {
    it(`answers queries for the ${name} client as shop__query`, async () => {
      const client = await connect(`${gateway.url}/t/db-co/mcp`, key);
      try {
        const tools = await client.listToolNames();
        expect(tools).toEqual(expect.arrayContaining(['shop__query', 'shop__list_tables', 'shop__describe_table', 'shop__list_schemas']));
        const result = await client.callTool('shop__query', { sql: 'select name, vip from customers order by id' });
        expect(result.isError ?? false).toBe(false);
        expect(textOf(result)).toMatch(/alice[\s\S]*bob[\s\S]*carol[\s\S]*\(3 rows\)/);
        expect(result.structuredContent).toMatchObject({
          columns: ['name', 'vip'],
          rows: [['alice', true], ['bob', false], ['carol', false]],
          rowCount: 3,
          truncated: false,
        });
        const tables = await client.callTool('shop__list_tables', {});
        expect(textOf(tables)).toContain('customers');
      } finally {
        await client.close();
      }
    });

    it(`refuses writes from the ${name} client and leaves the data as it was`, async () => {
      const before = await snapshot();
      const client = await connect(`${gateway.url}/t/db-co/mcp`, key);
      try {
        for (const sql of WRITES) {
          const result = await client.callTool('shop__query', { sql });
          expect({ sql, isError: result.isError }).toEqual({ sql, isError: true });
          expect(textOf(result)).not.toContain(database?.url ?? 'postgres://');
        }
        expect(textOf(await client.callTool('shop__query', { sql: WRITES[0]! }))).toContain('Only read-only queries can run here');
      } finally {
        await client.close();
      }
      expect(await snapshot()).toEqual(before);
      expect(before.rows).toHaveLength(3);
    });
  }

  it('reports the database reachable, and a server whose database is missing unavailable, saying why', async () => {
    const api = apiClient(gateway.url, key);
    const missing = new URL(database!.url);
    missing.pathname = '/no_such_database_here';
    await api.post('/api/v1/servers', { json: { slug: 'lost', kind: 'database', secrets: { url: missing.href } } });

    const good = await api.get<{ status: { state: string; tools: number; error?: string } }>('/api/v1/servers/shop/status');
    const bad = await api.get<{ status: { state: string; tools: number; error?: string } }>('/api/v1/servers/lost/status');

    expect(good.body.status).toMatchObject({ state: 'ok', tools: 4 });
    expect(bad.body.status).toMatchObject({ state: 'unavailable', tools: 0 });
    expect(bad.body.status.error).toMatch(/database "no_such_database_here" does not exist/);
    expect((await api.delete('/api/v1/servers/lost')).status).toBe(204);
  });

  // Skipped where the PostgreSQL server does not offer dblink (no contrib package).
  it.skipIf(!withDblink)('closes a dblink connection one key opened before another key of the tenant calls the server', async () => {
    const linked = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    const api = apiClient(gateway.url, key);
    try {
      const admin = new Client({ connectionString: linked.url });
      await admin.connect();
      await admin.query('create extension dblink');
      await admin.end();
      expect((await api.post('/api/v1/servers', { json: { slug: 'linked', kind: 'database', secrets: { url: linked.url } } })).status).toBe(201);
      const other = (await operatorCommand<{ key: { secret: string } }>(dataDir, 'key.create', { tenant: 'db-co', name: 'other', scopes: ['mcp'] })).key;

      const { hostname, port, username, pathname } = new URL(linked.url);
      const target = `host=${hostname} port=${port || '5432'} user=${username} dbname=${pathname.slice(1)}`;
      const [, connect] = CLIENTS[1];
      const first = await connect(`${gateway.url}/t/db-co/mcp`, key);
      const second = await connect(`${gateway.url}/t/db-co/mcp`, other.secret);
      try {
        const opened = await first.callTool('linked__query', { sql: `select dblink_connect('mine', '${target}') as status` });
        expect(opened.structuredContent).toMatchObject({ rows: [['OK']] });
        const seen = await second.callTool('linked__query', { sql: 'select dblink_get_connections() as connections' });
        expect(seen.structuredContent).toMatchObject({ rows: [[null]] });
        const used = await second.callTool('linked__query', { sql: "select dblink_is_busy('mine')" });
        expect(used.isError).toBe(true);
        expect(textOf(used)).toContain('connection "mine" not available');
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
    } finally {
      await api.delete('/api/v1/servers/linked');
      await linked.drop();
    }
  });

  it('does not show the server to another tenant', async () => {
    const other = (await seedTenant(dataDir, 'db-other')).key.secret;
    const [, connect] = CLIENTS[1];
    const client = await connect(`${gateway.url}/t/db-other/mcp`, other);
    try {
      expect((await client.listToolNames()).filter((t) => t.startsWith('shop__'))).toEqual([]);
      const result = await client.callTool('shop__query', { sql: 'select 1' }).catch((error: unknown) => ({ content: [], isError: true, error }));
      expect(result.isError).toBe(true);
    } finally {
      await client.close();
    }
  });
});
