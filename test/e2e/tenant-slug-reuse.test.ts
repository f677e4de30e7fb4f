import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { exists, makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant } from '../support/http.ts';
import { connectV2 } from '../support/mcp-clients.ts';
import { hostileStdioCommand, isRunning, killMarked } from '../support/stdio-processes.ts';

const SECRET = 'the deleted tenant’s secret: 7c1f9a';
const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');

// A slug is free again once its tenant is deleted: a new tenant with it must start with nothing of the old one's.
describe('a new tenant reusing a deleted tenant’s slug', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createThrowawayPostgres>> | undefined;
  const plain = hostileStdioCommand();

  const start = () =>
    startGateway({
      dataDir,
      databaseUrl: database?.url,
      env: { BOTGATE_STDIO_COMMANDS: JSON.stringify({ plain: { command: plain.command, args: plain.args } }) },
    });

  /** A tenant with a filesystem server `files` (its own directory), `area` (the whole area, shown as `/`) and a stdio server `tool`. */
  async function createTenant(slug: string): Promise<{ id: string; key: string }> {
    const { tenant, key } = await seedTenant(dataDir, slug);
    await operatorCommand(dataDir, 'server.create', { tenant: slug, slug: 'files', kind: 'filesystem' });
    await operatorCommand(dataDir, 'server.create', { tenant: slug, slug: 'area', kind: 'filesystem', config: { roots: ['.'] } });
    await operatorCommand(dataDir, 'server.create', { tenant: slug, slug: 'tool', kind: 'stdio', config: { command: 'plain' } });
    return { id: tenant.id, key: key.secret };
  }

  async function deleteTenant(slug: string, key: string): Promise<void> {
    const deleted = await apiClient(gateway.url, key).delete('/api/v1/tenant', { json: { confirm: slug } });
    expect(deleted.status).toBe(204);
  }

  async function withClient<T>(slug: string, key: string, use: (client: Awaited<ReturnType<typeof connectV2>>) => Promise<T>): Promise<T> {
    const client = await connectV2(`${gateway.url}/t/${slug}/mcp`, key);
    try {
      return await use(client);
    } finally {
      await client.close();
    }
  }

  /** What the tenant's tools show of its area: listings and searches, and reads of where the old secret was. */
  const seenThroughTools = (slug: string, key: string) =>
    withClient(slug, key, async (client) => ({
      listings: [
        await client.callTool('area__list_directory', { path: '/' }),
        await client.callTool('area__directory_tree', { path: '/' }),
        await client.callTool('area__search_files', { path: '/', pattern: '**/*' }),
        await client.callTool('files__list_directory', { path: '/files' }),
        await client.callTool('files__search_files', { path: '/files', pattern: '**/*' }),
      ].map(textOf),
      reads: [
        await client.callTool('files__read_file', { path: 'secret.txt' }),
        await client.callTool('area__read_file', { path: '/files/secret.txt' }),
        await client.callTool('area__read_file', { path: '/secret.txt' }),
      ],
    }));

  function expectNothingOfTheOldTenant(seen: Awaited<ReturnType<typeof seenThroughTools>>) {
    for (const listing of seen.listings) expect(listing).not.toMatch(/secret/);
    for (const read of seen.reads) {
      expect(read.isError).toBe(true);
      expect(textOf(read)).not.toContain(SECRET);
    }
  }

  /** The stdio server's home as its process sees it, and what is in it. */
  async function stdioHome(slug: string, key: string): Promise<{ pid: number; cwd: string; entries: string[] }> {
    const { pid, cwd } = await withClient(slug, key, async (client) => JSON.parse(textOf(await client.callTool('tool__whoami', {}))) as { pid: number; cwd: string });
    return { pid, cwd, entries: await fs.readdir(cwd) };
  }

  const gone = (what: string, file: string) => pollUntil(what, async () => ((await exists(file)) ? undefined : true));

  beforeAll(async () => {
    dataDir = await makeDataDir();
    if (TEST_DATABASE_URL) database = await createThrowawayPostgres(TEST_DATABASE_URL);
    gateway = await start();
  });

  afterAll(async () => {
    await gateway?.stop();
    await killMarked(plain.marker);
    await database?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('sees none of the deleted tenant’s files or stdio home, which are gone from disk', async () => {
    const old = await createTenant('acme');
    await withClient('acme', old.key, async (client) => {
      expect((await client.callTool('files__write_file', { path: 'secret.txt', content: SECRET })).isError ?? false).toBe(false);
      expect((await client.callTool('area__write_file', { path: '/secret.txt', content: SECRET })).isError ?? false).toBe(false);
      expect(textOf(await client.callTool('files__read_file', { path: 'secret.txt' }))).toContain(SECRET);
    });
    const oldHome = await stdioHome('acme', old.key);
    await fs.writeFile(path.join(oldHome.cwd, 'secret.txt'), SECRET);

    await deleteTenant('acme', old.key);

    // Its process stops first, then its directories go, in the background.
    await pollUntil('the deleted tenant’s stdio process to stop', async () => ((await isRunning(oldHome.pid)) ? undefined : true));
    await gone('the deleted tenant’s file area to be removed', path.join(dataDir, 'files', 'acme'));
    await gone('the deleted tenant’s stdio homes to be removed', path.join(dataDir, 'stdio', 'acme'));
    await pollUntil('nothing left on its way out', async () => ((await fs.readdir(path.join(dataDir, 'files', '.removing')).catch(() => [])).length === 0 ? true : undefined));

    const reborn = await createTenant('acme');
    expect(reborn.id).not.toBe(old.id);
    expectNothingOfTheOldTenant(await seenThroughTools('acme', reborn.key));
    const home = await stdioHome('acme', reborn.key);
    expect(home.cwd).toBe(oldHome.cwd);
    expect(home.entries).not.toContain('secret.txt');
    // The new tenant's own files work as usual, counted under a quota of its own.
    await withClient('acme', reborn.key, async (client) => {
      expect((await client.callTool('files__write_file', { path: 'mine.txt', content: 'new tenant' })).isError ?? false).toBe(false);
      expect(textOf(await client.callTool('files__read_file', { path: 'mine.txt' }))).toContain('new tenant');
      expect(textOf(await client.callTool('area__list_directory', { path: '/' }))).toMatch(/files/);
    });
  });

  it('sees nothing a deleted tenant left when the node deleting it stopped before removing its directories', async () => {
    // What a deleted tenant's directories look like when no node removed them: its owner records name it still.
    const deletedId = randomUUID();
    for (const kind of ['files', 'stdio']) {
      await fs.mkdir(path.join(dataDir, kind, 'crashco', kind === 'files' ? 'files' : 'tool'), { recursive: true });
      await fs.mkdir(path.join(dataDir, kind, '.owners'), { recursive: true });
      await fs.writeFile(path.join(dataDir, kind, '.owners', 'crashco'), `${deletedId}\n`);
    }
    await fs.writeFile(path.join(dataDir, 'files', 'crashco', 'files', 'secret.txt'), SECRET);
    await fs.writeFile(path.join(dataDir, 'files', 'crashco', 'secret.txt'), SECRET);
    await fs.writeFile(path.join(dataDir, 'stdio', 'crashco', 'tool', 'secret.txt'), SECRET);

    const tenant = await createTenant('crashco');

    expectNothingOfTheOldTenant(await seenThroughTools('crashco', tenant.key));
    expect((await stdioHome('crashco', tenant.key)).entries).not.toContain('secret.txt');
    for (const kind of ['files', 'stdio']) {
      expect((await fs.readFile(path.join(dataDir, kind, '.owners', 'crashco'), 'utf8')).trim()).toBe(tenant.id);
    }
    await pollUntil('the leftovers to be removed', async () => ((await fs.readdir(path.join(dataDir, 'files', '.removing'))).length === 0 ? true : undefined));
  });

  it('keeps the owner records out of every tool’s reach', async () => {
    const { id, key } = await createTenant('prober');
    await withClient('prober', key, async (client) => {
      for (const [tool, args] of [
        ['area__read_file', { path: '../.owners/prober' }],
        ['area__write_file', { path: '../.owners/prober', content: randomUUID() }],
        ['area__list_directory', { path: '..' }],
        ['files__read_file', { path: '../../.owners/prober' }],
      ] as const) {
        const result = await client.callTool(tool, args);
        expect(result.isError).toBe(true);
      }
      expect(textOf(await client.callTool('area__search_files', { path: '/', pattern: '**/*owners*' }))).not.toMatch(/owners/);
    });
    expect((await fs.readFile(path.join(dataDir, 'files', '.owners', 'prober'), 'utf8')).trim()).toBe(id);
  });

  it('at start-up, removes what deleted tenants left (also half-removed), takes unrecorded directories as their slug’s tenant’s, and moves the others aside', async () => {
    const keeper = await createTenant('keeper');
    await withClient('keeper', keeper.key, async (client) => {
      expect((await client.callTool('files__write_file', { path: 'kept.txt', content: 'still mine' })).isError ?? false).toBe(false);
    });
    await gateway.stop();
    // As before owner records: the live tenant's directory has none, and neither has one of a tenant deleted back then.
    await fs.rm(path.join(dataDir, 'files', '.owners', 'keeper'));
    await fs.mkdir(path.join(dataDir, 'files', 'ghost', 'files'), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'files', 'ghost', 'files', 'secret.txt'), SECRET);
    // A deleted tenant's area that no node removed.
    await fs.mkdir(path.join(dataDir, 'files', 'deadco'), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'files', '.owners', 'deadco'), `${randomUUID()}\n`);
    // A deleted tenant's area moved out, whose removal a stop cut short.
    await fs.mkdir(path.join(dataDir, 'stdio', '.removing', 'goneco.0a1b2c3d4e5f', 'home'), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'stdio', '.removing', 'goneco.0a1b2c3d4e5f', 'home', 'left.txt'), SECRET);
    // What an earlier version moved aside (there, unclaimed directories too): the operator's to check, kept.
    await fs.mkdir(path.join(dataDir, 'files', '.deleted', 'oldco.0a1b2c3d4e5f'), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'files', '.deleted', 'oldco.0a1b2c3d4e5f', 'notes.txt'), 'unchecked');

    gateway = await start();

    expect((await fs.readFile(path.join(dataDir, 'files', '.owners', 'keeper'), 'utf8')).trim()).toBe(keeper.id);
    expect(await exists(path.join(dataDir, 'files', 'deadco'))).toBe(false);
    expect(await exists(path.join(dataDir, 'files', 'ghost'))).toBe(false);
    const aside = (await fs.readdir(path.join(dataDir, 'files', '.unclaimed'))).filter((name) => name.startsWith('ghost.'));
    expect(aside).toHaveLength(1);
    // Removed after the start, not before it.
    await pollUntil('the leftovers on their way out to be removed', async () =>
      (await fs.readdir(path.join(dataDir, 'stdio', '.removing'))).length === 0 ? true : undefined,
    );
    expect(await fs.readFile(path.join(dataDir, 'files', '.deleted', 'oldco.0a1b2c3d4e5f', 'notes.txt'), 'utf8')).toBe('unchecked');
    expect(gateway.output()).toMatch(/"count":1[^\n]*an earlier version moved aside/);
    expect(gateway.output()).toMatch(/"slug":"ghost"[^\n]*moved aside/);
    await withClient('keeper', keeper.key, async (client) => {
      expect(textOf(await client.callTool('files__read_file', { path: 'kept.txt' }))).toContain('still mine');
    });
    const ghost = await createTenant('ghost');
    expectNothingOfTheOldTenant(await seenThroughTools('ghost', ghost.key));
  });
});
