import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../db/migrations/index.ts';
import { runCliInProcess, runCliJsonInProcess, type CliOptions } from '../support/cli.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { makeEmptyDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, request, type KeyJson, type MeJson } from '../support/http.ts';

// Several stateless gateways on one PostgreSQL database, with the CLI acting on that database directly.
describe.skipIf(!TEST_DATABASE_URL)('gateways and CLI on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  const gateways: GatewayProcess[] = [];
  const dataDirs: string[] = [];
  let cli: CliOptions;

  beforeAll(async () => {
    database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    dataDirs.push(await makeEmptyDataDir(), await makeEmptyDataDir(), await makeEmptyDataDir());
    const [first, second, cliDir] = dataDirs as [string, string, string];
    cli = { dataDir: cliDir, databaseUrl: database.url };
    // Replicas share the secret key, as they would behind a load balancer.
    const env = { BOTGATE_SECRET_KEY: randomBytes(32).toString('hex') };
    // Started together on an empty database: both race to migrate it.
    const started = await Promise.allSettled([
      startGateway({ dataDir: first, databaseUrl: database.url, env }),
      startGateway({ dataDir: second, databaseUrl: database.url, env }),
    ]);
    for (const result of started) if (result.status === 'fulfilled') gateways.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  });

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await database?.drop();
    await Promise.all(dataDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  it('brings two gateways started at once on a fresh database to ready, migrating it once', async () => {
    expect(gateways).toHaveLength(2);
    for (const gateway of gateways) {
      expect(await request(gateway.url, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
    }
    const client = new Client({ connectionString: database?.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>('select name from kysely_migration order by name');
      expect(rows.map((r) => r.name)).toEqual(Object.keys(migrations).sort());
    } finally {
      await client.end();
    }
  });

  it('lets the CLI act on the database directly while the gateways serve it', async () => {
    await runCliJsonInProcess(['tenant', 'create', 'pg-co'], cli);
    const [owner, duplicate] = await Promise.all([
      runCliInProcess(['user', 'create', '--tenant', 'pg-co', '--email', 'dana@pg.example', '--role', 'owner', '--json'], cli),
      runCliInProcess(['tenant', 'create', 'pg-co'], cli),
    ]);
    expect(owner.code).toBe(0);
    expect(JSON.parse(owner.stdout)).toMatchObject({ tenant: 'pg-co', role: 'owner', password: expect.any(String) });
    expect(duplicate).toMatchObject({ code: 1, stderr: 'botgate: a tenant with slug "pg-co" already exists\n' });

    const { key } = await runCliJsonInProcess<{ key: KeyJson & { secret: string } }>(
      ['key', 'create', '--tenant', 'pg-co', '--name', 'shared', '--scopes', 'admin', '--user', 'dana@pg.example'],
      cli,
    );
    for (const gateway of gateways) {
      const me = await apiClient(gateway.url, key.secret).get<MeJson>('/api/v1/me');
      expect(me.body).toMatchObject({ tenant: { slug: 'pg-co' }, role: 'owner', key: { id: key.id } });
    }

    // A key made over REST on one node is seen by the CLI and by the other node.
    const [one, two] = gateways as [GatewayProcess, GatewayProcess];
    const made = await apiClient(one.url, key.secret).post<{ key: KeyJson & { secret: string } }>('/api/v1/keys', {
      json: { name: 'from-rest', scopes: ['read'] },
    });
    expect(made.status).toBe(201);
    expect((await apiClient(two.url, made.body.key.secret).get('/api/v1/keys')).status).toBe(200);
    const listed = await runCliJsonInProcess<{ keys: KeyJson[] }>(['key', 'list', '--tenant', 'pg-co'], cli);
    expect(listed.keys.map((k) => k.name).sort()).toEqual(['from-rest', 'shared']);

    // Revoked by the CLI: refused by every node at once, nothing cached.
    await runCliJsonInProcess(['key', 'revoke', '--tenant', 'pg-co', made.body.key.id], cli);
    for (const gateway of gateways) {
      expect((await apiClient(gateway.url, made.body.key.secret).get('/api/v1/me')).status).toBe(401);
    }
    // On PostgreSQL the CLI never needs the gateway nor writes to its DATA_DIR.
    expect(await fs.readdir(cli.dataDir)).toEqual([]);
    // Six CLI processes, each starting Node: on a loaded machine that alone can take most of the default 30 s.
  }, 120_000);
});
