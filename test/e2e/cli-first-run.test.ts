import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, type CliResult } from '../support/cli.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { BOTGATE_BIN, childEnv, exists, makeDataDir, makeEmptyDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { operatorCommand } from '../support/http.ts';

/**
 * Runs `botgate ...args` from `cwd` with only `env` configured, as a user in a terminal would: for the
 * few checks of the bin script itself, since each process start costs seconds (tsx loading the sources).
 * The others run the same entry in-process (runCliInProcess), with DATA_DIR set instead of a working directory.
 */
function botgate(args: string[], { cwd, env }: { cwd: string; env: Record<string, string | undefined> }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BOTGATE_BIN, ...args],
      { cwd, env: childEnv({ LOG_LEVEL: 'warn', ...env }), timeout: 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`botgate ${args.join(' ')} did not run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

// What a new user following the README runs into, and what the CLI tells them.
describe('the CLI, as a new user meets it', () => {
  const cleanups: string[] = [];
  const freshDir = async () => {
    // Real path: the CLI names the directory as the operating system resolves it.
    const dir = await fs.realpath(await makeEmptyDataDir());
    cleanups.push(dir);
    return dir;
  };

  afterAll(async () => {
    for (const dir of cleanups) await fs.rm(dir, { recursive: true, force: true });
  });

  it('says where it creates a new embedded database when no gateway holds one, and only then', async () => {
    // `npx botgate tenant create` run from another directory than the gateway's: DATA_DIR is ./data there.
    const elsewhere = await freshDir();
    const created = await botgate(['tenant', 'create', 'acme'], { cwd: elsewhere, env: {} });
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created tenant acme \(/);
    const note = created.stderr;
    expect(note).toContain(`no database in ${path.join(elsewhere, 'data')} yet`);
    expect(note).toMatch(/new embedded database/);
    expect(note).toMatch(/a gateway running with another DATA_DIR will not see/);
    expect(note).toMatch(/set DATA_DIR to its directory/);
    expect(note.trim().split('\n')).toHaveLength(1);

    // The database is there now: nothing to say (in-process, DATA_DIR naming the ./data it was made in).
    const again = await runCliInProcess(['tenant', 'create', 'beta'], { dataDir: path.join(elsewhere, 'data') });
    expect(again).toMatchObject({ code: 0, stderr: '' });
  }, 120_000);

  it('exits 2 naming the missing option, or the bad value and the allowed ones, and creates nothing', async () => {
    const dataDir = await freshDir();
    const run = (args: string[]) => runCliInProcess(args, { dataDir });
    const [noScopes, noTenant, badScope, badScopeJson, noRole] = await Promise.all([
      run(['key', 'create', '--tenant', 'acme', '--name', 'laptop']),
      run(['key', 'create', '--name', 'laptop', '--scopes', 'mcp']),
      run(['key', 'create', '--tenant', 'acme', '--name', 'laptop', '--scopes', 'mcp,owner']),
      run(['key', 'create', '--tenant', 'acme', '--name', 'laptop', '--scopes', 'mcp,owner', '--json']),
      run(['user', 'create', '--tenant', 'acme', '--email', 'you@acme.example']),
    ]);
    expect(noScopes).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'botgate: missing --scopes (for example --scopes mcp,admin) (botgate key create --help for usage)\n',
    });
    expect(noTenant).toMatchObject({ code: 2, stderr: 'botgate: missing --tenant <slug> (botgate key create --help for usage)\n' });
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toBe('botgate: --scopes: "owner" is not one of mcp, admin, read (botgate key create --help for usage)\n');
    expect(badScopeJson.code).toBe(2);
    expect(JSON.parse(badScopeJson.stderr)).toEqual({ error: { message: '--scopes: "owner" is not one of mcp, admin, read' } });
    expect(noRole).toMatchObject({ code: 2, stderr: 'botgate: missing --role owner|admin|member|auditor (botgate user create --help for usage)\n' });
    for (const result of [noScopes, noTenant, badScope, noRole]) expect(result.stderr).not.toMatch(/Invalid input|Invalid option/);
    // Refused before anything was opened: no database was made for it.
    expect(await exists(path.join(dataDir, 'pglite'))).toBe(false);
  }, 120_000);

  it('prints its version, and one command’s usage for help on that command', async () => {
    const cwd = await freshDir();
    const { version } = JSON.parse(await fs.readFile(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    const run = (args: string[]) => runCliInProcess(args, { dataDir: path.join(cwd, 'data') });
    const [printed, createHelp, helpCreate, helpServer, help, helpUnknown] = await Promise.all([
      run(['--version']),
      run(['server', 'create', '--help']),
      run(['help', 'server', 'create']),
      run(['help', 'server']),
      run(['help']),
      run(['help', 'frobnicate']),
    ]);
    expect(printed).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });

    expect(createHelp).toMatchObject({ code: 0, stderr: '' });
    expect(createHelp.stdout).toMatch(/^Usage: botgate server create --tenant <slug> --slug <server> --kind filesystem\|github/);
    expect(createHelp.stdout).toContain("[--config '<json>'] [--secret NAME=VALUE ...]");
    expect(createHelp.stdout).not.toContain('bot create');
    expect(createHelp.stdout).not.toContain('server list');
    expect(helpCreate).toEqual(createHelp);

    expect(helpServer.code).toBe(0);
    expect(helpServer.stdout).toContain('server create');
    expect(helpServer.stdout).toContain('server list');
    expect(helpServer.stdout).toContain('server status');
    expect(helpServer.stdout).not.toContain('bot create');

    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: botgate <command> \[options\]/);
    expect(help.stdout).toContain('bot create');
    expect(help.stdout).toContain('--version');
    expect(helpUnknown).toMatchObject({ code: 2, stdout: '' });
    expect(helpUnknown.stderr).toMatch(/^botgate: unknown command: frobnicate/);
  }, 120_000);

  describe('server status against a running gateway', () => {
    let gateway: GatewayProcess;
    let dataDir: string;

    beforeAll(async () => {
      // The embedded database already made: this is about the gateway, not a first start.
      dataDir = await makeDataDir();
      cleanups.push(dataDir);
      gateway = await startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } });
    });

    afterAll(async () => {
      await gateway?.stop();
    });

    it('exits 1 when the server is unavailable, 0 when it works', async () => {
      // A port that was free a moment ago: nothing listens there, the connection is refused.
      const closed = net.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as net.AddressInfo;
      await new Promise((resolve) => closed.close(resolve));

      const env = { DATA_DIR: dataDir };
      // Through the gateway, the CLI has nothing to say on stderr.
      const tenant = await runCliInProcess(['tenant', 'create', 'acme'], { dataDir });
      expect(tenant).toMatchObject({ code: 0, stderr: '' });
      await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'dead', kind: 'remote', config: { url: `http://127.0.0.1:${port}/mcp` } });
      await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'files', kind: 'filesystem' });

      const [dead, deadJson, files] = await Promise.all([
        // Through bin/botgate.js in its own process: the exit code a probe sees.
        botgate(['server', 'status', '--tenant', 'acme', '--slug', 'dead'], { cwd: dataDir, env }),
        runCliInProcess(['server', 'status', '--tenant', 'acme', '--slug', 'dead', '--json'], { dataDir }),
        runCliInProcess(['server', 'status', '--tenant', 'acme', 'files'], { dataDir }),
      ]);
      expect(dead.code).toBe(1);
      expect(dead.stdout).toMatch(/^dead in acme: unavailable: /);
      expect(deadJson.code).toBe(1);
      expect(JSON.parse(deadJson.stdout)).toMatchObject({ server: 'dead', status: { state: 'unavailable' } });
      expect(files.code).toBe(0);
      expect(files.stdout).toMatch(/^files in acme: ok, \d+ tools/);
    });
  });

  describe.skipIf(!TEST_DATABASE_URL)('on PostgreSQL', () => {
    let database: { url: string; drop(): Promise<void> };
    beforeAll(async () => {
      database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    });
    afterAll(async () => {
      await database?.drop();
    });

    it('has nothing to note: the database is the one DATABASE_URL names', async () => {
      const dataDir = await freshDir();
      const created = await runCliInProcess(['tenant', 'create', 'acme'], { dataDir, databaseUrl: database.url });
      expect(created).toMatchObject({ code: 0, stderr: '' });
      const missing = await runCliInProcess(['key', 'create', '--name', 'x', '--scopes', 'mcp'], { dataDir, databaseUrl: database.url });
      expect(missing).toMatchObject({ code: 2, stderr: 'botgate: missing --tenant <slug> (botgate key create --help for usage)\n' });
    });
  });
});
