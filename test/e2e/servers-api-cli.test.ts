import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliInProcess, runCliJsonInProcess, type CliOptions } from '../support/cli.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant } from '../support/http.ts';

interface ServerJson {
  id: string;
  slug: string;
  kind: string;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
}

const TOKEN = 'ghp_cliTokenThatMustNeverBePrinted0123';

// The embedded database is held by the gateway, so the CLI goes through it, as an operator's would.
// One command runs through bin/botgate.js in its own process; the others run the same entry in-process
// (runCliInProcess), which finds the gateway holding the database the same way, without a process start.
describe('CLI: botgate server create / list', () => {
  let gateway: GatewayProcess;
  let cli: CliOptions;
  let key: string;

  const listed = async () => (await operatorCommand<{ servers: ServerJson[] }>(cli.dataDir, 'server.list', { tenant: 'cli-co' })).servers;

  beforeAll(async () => {
    cli = { dataDir: await makeDataDir() };
    gateway = await startGateway({ dataDir: cli.dataDir });
    key = (await seedTenant(cli.dataDir, 'cli-co')).key.secret;
  });

  afterAll(async () => {
    await gateway?.stop();
    if (cli) await fs.rm(cli.dataDir, { recursive: true, force: true });
  });

  it('creates a filesystem server from --config JSON and lists it', async () => {
    const created = await runCliJsonInProcess<{ server: ServerJson; tenant: string }>(
      ['server', 'create', '--tenant', 'cli-co', '--slug', 's', '--kind', 'filesystem', '--config', '{"readOnly":true}'],
      cli,
    );
    expect(created).toEqual({
      tenant: 'cli-co',
      server: expect.objectContaining({ slug: 's', kind: 'filesystem', config: { readOnly: true }, secrets: {} }),
    });

    const text = await runCliInProcess(['server', 'list', '--tenant', 'cli-co'], cli);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toBe('s\tfilesystem\t{"readOnly":true}\t\n');
    const json = await runCliJsonInProcess<{ servers: ServerJson[]; tenant: string }>(['server', 'list', '--tenant', 'cli-co'], cli);
    expect(json.servers).toEqual([created.server]);

    // The same server, as the tenant's REST API shows it.
    const rest = await apiClient(gateway.url, key).get<{ server: ServerJson }>('/api/v1/servers/s');
    expect(rest.body.server).toMatchObject({ id: created.server.id, config: { readOnly: true } });
  });

  it('takes secrets as --secret NAME=VALUE, and never prints them', async () => {
    const created = await runCliInProcess(
      ['server', 'create', '--tenant', 'cli-co', '--slug', 'gh', '--kind', 'github', '--config', '{"owner":"acme"}', '--secret', `token=${TOKEN}`],
      cli,
    );
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toMatch(/^created github server gh \([0-9a-f-]{36}\) in cli-co\n$/);

    const json = await runCliInProcess(['server', 'list', '--tenant', 'cli-co', '--json'], cli);
    const servers = (JSON.parse(json.stdout) as { servers: ServerJson[] }).servers;
    expect(servers.find((s) => s.slug === 'gh')).toMatchObject({ kind: 'github', config: { owner: 'acme' }, secrets: { token: 'set' } });
    const text = await runCliInProcess(['server', 'list', '--tenant', 'cli-co'], cli);
    expect(text.stdout).toContain('gh\tgithub\t{"owner":"acme"}\ttoken=set\n');
    for (const output of [created.stdout, json.stdout, text.stdout]) expect(output).not.toContain(TOKEN);
  });

  it('takes a secret on stdin with --secret-stdin NAME, and never prints it', async () => {
    const created = await runCliInProcess(['server', 'create', '--tenant', 'cli-co', '--slug', 'gh-stdin', '--kind', 'github', '--secret-stdin', 'token'], {
      ...cli,
      stdin: `${TOKEN}\n`,
    });
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const servers = (JSON.parse((await runCliInProcess(['server', 'list', '--tenant', 'cli-co', '--json'], cli)).stdout) as { servers: ServerJson[] }).servers;
    expect(servers.find((s) => s.slug === 'gh-stdin')).toMatchObject({ kind: 'github', secrets: { token: 'set' } });
    expect(created.stdout).not.toContain(TOKEN);
  });

  it('exits 2 with a one-line message on bad --config JSON or --secret, and creates nothing', async () => {
    const before = await listed();
    const [badJson, badJsonAsJson, badSecret] = await Promise.all([
      runCliInProcess(['server', 'create', '--tenant', 'cli-co', '--slug', 'bad', '--kind', 'filesystem', '--config', '{readOnly: true}'], cli),
      runCliInProcess(['server', 'create', '--tenant', 'cli-co', '--slug', 'bad', '--kind', 'filesystem', '--config', '{', '--json'], cli),
      runCliInProcess(['server', 'create', '--tenant', 'cli-co', '--slug', 'bad', '--kind', 'github', '--secret', 'no-equals-sign'], cli),
    ]);
    expect(badJson).toMatchObject({ code: 2, stdout: '' });
    expect(badJson.stderr).toMatch(/^botgate: --config must be JSON, for example '\{"readOnly": true\}' \(botgate server create --help for usage\)\n$/);
    expect(badJsonAsJson).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(badJsonAsJson.stderr)).toEqual({ error: { message: expect.stringMatching(/^--config must be JSON/) } });
    expect(badSecret.code).toBe(2);
    expect(badSecret.stderr).toMatch(/^botgate: --secret takes NAME=VALUE, got "no-equals-sign\.\.\."[^\n]*\n$/);
    expect(await listed()).toEqual(before);
  });

  it('exits 1 naming the field when the gateway refuses the server, and creates nothing', async () => {
    const before = await listed();
    const [badRepo, missingToken, duplicate] = await Promise.all([
      // Through bin/botgate.js in its own process: the exit code and output an operator's script sees.
      runCli(['server', 'create', '--tenant', 'cli-co', '--slug', 'bad', '--kind', 'github', '--config', '{"repo":".."}', '--secret', `token=${TOKEN}`], cli),
      runCliInProcess(['server', 'create', '--tenant', 'cli-co', '--slug', 'bad', '--kind', 'github'], cli),
      runCliInProcess(['server', 'create', '--tenant', 'cli-co', '--slug', 's', '--kind', 'filesystem'], cli),
    ]);
    expect(badRepo.code).toBe(1);
    expect(badRepo.stderr).toBe('botgate: --config (repo): must be a repository name\n');
    expect(badRepo.stderr).not.toContain(TOKEN);
    expect(missingToken).toMatchObject({ code: 1, stderr: 'botgate: --secret (token): required for a github server\n' });
    expect(duplicate).toMatchObject({ code: 1, stderr: 'botgate: a server with slug "s" already exists\n' });
    expect(await listed()).toEqual(before);
  });
});
