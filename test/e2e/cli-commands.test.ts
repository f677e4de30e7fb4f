import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, type CliResult } from '../support/cli.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { BOTGATE_BIN, REPO_ROOT, childEnv, makeDataDir, makeEmptyDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson, type KeyJson, type MeJson, type MemberJson, type TenantJson } from '../support/http.ts';

interface ServerJson {
  id: string;
  slug: string;
  kind: string;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
  updated_at: string;
}

interface BotJson {
  id: string;
  slug: string;
  name: string;
  description: string;
  model: string;
  system_prompt: string;
  temperature: number | null;
  max_tokens: number;
  thinking_budget: number | null;
  servers: Array<{ slug: string; tools?: string[] }>;
  bots: string[];
  anthropic_api_key: 'set' | null;
  updated_at: string;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const NEW_TOKEN = 'ghp_newTokenThatMustNeverBePrinted0123';
const ANTHROPIC_KEY = 'sk-ant-api03-botKeyThatMustNeverBePrinted0123';
// Remote servers point at the loopback, which the gateway and the CLI (acting on PostgreSQL itself) must both allow.
const ALLOW = { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' };

/** The help text, which needs no database. */
describe('botgate help for the commands scripts use', () => {
  it('lists every command, and shows one command’s usage', async () => {
    const dataDir = await makeEmptyDataDir();
    const run = (args: string[]) => runCliInProcess(args, { dataDir, env: ALLOW });
    // The first as an operator runs it, through bin/botgate.js in its own process.
    const [help, update, rotate, botUpdate] = await Promise.all([
      botgate(['--help'], { dataDir }),
      run(['server', 'update', '--help']),
      run(['help', 'key', 'rotate']),
      run(['bot', 'update', '--help']),
    ]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    for (const command of ['tenant list', 'user list --tenant', 'key rotate --tenant', 'server update --tenant', 'server delete --tenant', 'bot update --tenant', 'bot delete --tenant']) {
      expect(help.stdout).toContain(`  ${command}`);
    }
    expect(update.stdout).toMatch(/^Usage: botgate server update --tenant <slug> <server> \[--config '<json>'\] \[--secret NAME=VALUE \.\.\.\] \[--secret-stdin NAME\] \[--clear-secret NAME \.\.\.\]\n/);
    expect(update.stdout).not.toContain('server create');
    expect(rotate.stdout).toMatch(/^Usage: botgate key rotate --tenant <slug> <key-id> \[--grace 24h\]/);
    expect(botUpdate).toMatchObject({ code: 0, stderr: '' });
    expect(botUpdate.stdout).toMatch(/^Usage: botgate bot update --tenant <slug> <bot> \[--name <name>\]/);
    for (const option of ['[--temperature N|default]', '[--thinking-budget N|off]', "--servers ''", '[--anthropic-key-stdin | --clear-anthropic-key]']) {
      expect(botUpdate.stdout).toContain(option);
    }
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('names an option no command takes, the option meant when one is a typo away, and the command’s help; nothing runs', async () => {
    const dataDir = await makeEmptyDataDir();
    const run = (args: string[]) => runCliInProcess(args, { dataDir, env: ALLOW });
    const [secrets, joined, colour, unknownCommand] = await Promise.all([
      run(['server', 'create', '--tenant', 'acme', '--slug', 'gh', '--kind', 'github', '--secrets', 'token=abc']),
      run(['server', 'create', '--tenant=acme', '--slug', 'gh', '--kind', 'github', '--secrets=token=abc']),
      run(['tenant', 'list', '--colour']),
      run(['frobnicate', '--tenatn', 'acme']),
    ]);
    expect(secrets).toMatchObject({ code: 2, stdout: '', stderr: 'botgate: unknown option --secrets; did you mean --secret? (botgate server create --help for usage)\n' });
    expect(joined).toMatchObject({ code: 2, stdout: '', stderr: 'botgate: unknown option --secrets; did you mean --secret? (botgate server create --help for usage)\n' });
    expect(colour).toMatchObject({ code: 2, stderr: 'botgate: unknown option --colour (botgate tenant list --help for usage)\n' });
    expect(unknownCommand).toMatchObject({ code: 2, stderr: 'botgate: unknown option --tenatn; did you mean --tenant? (botgate --help for usage)\n' });
    // No database was made for a command that never ran.
    expect(await fs.readdir(dataDir)).toEqual([]);
    await fs.rm(dataDir, { recursive: true, force: true });
  });
});

/**
 * Runs `botgate ...args` in its own process, with the test's database and `env` besides: for the
 * few checks of the bin script itself, since each process start costs seconds (tsx loading the
 * sources). The others run the same entry in-process, with the same environment (runCliInProcess).
 */
function botgate(args: string[], { dataDir, databaseUrl, env = {} }: { dataDir: string; databaseUrl?: string; env?: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BOTGATE_BIN, ...args],
      { cwd: REPO_ROOT, env: childEnv({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', ...ALLOW, ...env }), timeout: 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(new Error(`botgate ${args.join(' ')} did not run: ${error.message}\n${stderr}`));
        else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

// With the embedded database the gateway holds it and the CLI goes through the gateway; on PostgreSQL the CLI opens it itself.
const ENGINES = [
  { engine: 'embedded', skip: false },
  { engine: 'postgres', skip: !TEST_DATABASE_URL },
] as const;

for (const { engine, skip } of ENGINES) {
  // Commands run in-process, but for one in its own process per engine (seconds to start): the default timeout leaves room.
  describe.skipIf(skip)(`botgate commands for scripts [${engine}]`, () => {
    let gateway: GatewayProcess;
    let dataDir: string;
    let database: { url: string; drop(): Promise<void> } | undefined;
    let admin: ReturnType<typeof apiClient>;
    const run = (args: string[], env: Record<string, string> = {}, stdin?: string) =>
      runCliInProcess(args, { dataDir, databaseUrl: database?.url, env: { ...ALLOW, ...env }, ...(stdin !== undefined && { stdin }) });
    const runJson = async <T>(args: string[]) => {
      const result = await run([...args, '--json']);
      if (result.code !== 0) throw new Error(`botgate ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    };
    const op = <T>(name: string, args: Record<string, unknown>) => operatorCommand<T>(dataDir, name, args);
    const servers = async (tenant: string) => (await op<{ servers: ServerJson[] }>('server.list', { tenant })).servers;
    // Keys as commands change them; the REST calls made meanwhile change last_used_at.
    const keys = async (tenant: string) => (await op<{ keys: KeyJson[] }>('key.list', { tenant })).keys.map((key) => ({ ...key, last_used_at: null }));
    const audit = async (action: string) => (await admin.get<{ events: AuditEventJson[] }>(`/api/v1/audit?action=${action}`)).body.events;
    const bots = async (tenant: string) => (await op<{ bots: BotJson[] }>('bot.list', { tenant })).bots;

    beforeAll(async () => {
      dataDir = await makeDataDir();
      if (engine === 'postgres') database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
      // The gateway keeps its secret key in DATA_DIR, where the CLI finds it on PostgreSQL too.
      gateway = await startGateway({ dataDir, databaseUrl: database?.url, env: ALLOW });
      admin = apiClient(gateway.url, (await seedTenant(dataDir, 'acme')).key.secret);
      await seedTenant(dataDir, 'other');
      await op('server.create', { tenant: 'acme', slug: 'files', kind: 'filesystem' });
      await op('server.create', { tenant: 'acme', slug: 'gh', kind: 'github', config: { owner: 'acme' }, secrets: { token: 'ghp_oldToken0123456789' } });
      await op('server.create', { tenant: 'acme', slug: 'up', kind: 'remote', config: { url: 'http://127.0.0.1:9/mcp' }, secrets: { token: 'up-token' } });
      await op('server.create', { tenant: 'other', slug: 'theirs', kind: 'filesystem' });
    });

    afterAll(async () => {
      await gateway?.stop();
      await database?.drop();
      if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
    });

    it('lists tenants, and a tenant’s members with their roles', async () => {
      const [tenants, tenantsJson, members, membersJson, unknown, misplaced] = await Promise.all([
        run(['tenant', 'list']),
        runJson<{ tenants: TenantJson[] }>(['tenant', 'list']),
        run(['user', 'list', '--tenant', 'acme']),
        runJson<{ members: MemberJson[]; tenant: string }>(['user', 'list', '--tenant', 'acme']),
        // Through bin/botgate.js in its own process: the exit code and output an operator's script sees.
        botgate(['user', 'list', '--tenant', 'nope'], { dataDir, databaseUrl: database?.url }),
        run(['tenant', 'list', '--tenant', 'acme']),
      ]);
      expect(tenants).toMatchObject({ code: 0, stderr: '' });
      expect(tenants.stdout).toMatch(new RegExp(`^acme\\tacme\\t${UUID}\\t\\S+\\nother\\tother\\t${UUID}\\t\\S+\\n$`));
      expect(tenantsJson.tenants.map((t) => t.slug)).toEqual(['acme', 'other']);
      expect(members).toMatchObject({ code: 0, stderr: '' });
      expect(members.stdout).toMatch(new RegExp(`^owner@acme\\.example\\towner\\t${UUID}\\n$`));
      expect(membersJson).toEqual({ tenant: 'acme', members: [expect.objectContaining({ email: 'owner@acme.example', role: 'owner' })] });
      expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: tenant "nope" not found\n' });
      expect(misplaced).toMatchObject({ code: 2, stderr: 'botgate: tenant list does not take --tenant (botgate tenant list --help for usage)\n' });
    });

    it('updates a server as PATCH does: config replaced, secrets set or cleared and never printed; audited as the operator', async () => {
      const updated = await run(['server', 'update', '--tenant', 'acme', 'gh', '--config', '{"owner":"beta"}', '--secret', `token=${NEW_TOKEN}`]);
      expect(updated).toMatchObject({ code: 0, stderr: '', stdout: 'updated github server gh in acme: config {"owner":"beta"}, secrets token=set\n' });
      const cleared = await runJson<{ server: ServerJson; tenant: string }>(['server', 'update', '--tenant', 'acme', '--slug', 'up', '--clear-secret', 'token']);
      expect(cleared).toEqual({ tenant: 'acme', server: expect.objectContaining({ slug: 'up', config: { url: 'http://127.0.0.1:9/mcp' }, secrets: {} }) });

      const rest = await admin.get<{ server: ServerJson }>('/api/v1/servers/gh');
      expect(rest.body.server).toMatchObject({ config: { owner: 'beta' }, secrets: { token: 'set' } });
      const [event] = await audit('server.update');
      expect(event).toMatchObject({ actor: { type: 'operator', id: null }, resource_type: 'server' });
      expect(JSON.stringify(await audit('server.update'))).not.toContain(NEW_TOKEN);
      expect(updated.stdout).not.toContain(NEW_TOKEN);
    });

    it('refuses a server update it cannot make, naming why, and changes nothing', async () => {
      const before = { acme: await servers('acme'), other: await servers('other') };
      const events = (await audit('server.update')).length;
      const [requiredSecret, badConfig, unknown, othersServer, nothing, both] = await Promise.all([
        run(['server', 'update', '--tenant', 'acme', 'gh', '--clear-secret', 'token']),
        run(['server', 'update', '--tenant', 'acme', 'files', '--config', '{"nope":1}']),
        run(['server', 'update', '--tenant', 'acme', 'ghost', '--config', '{}']),
        run(['server', 'update', '--tenant', 'acme', 'theirs', '--config', '{"readOnly":true}']),
        run(['server', 'update', '--tenant', 'acme', 'files']),
        run(['server', 'update', '--tenant', 'acme', 'gh', '--secret', 'token=x', '--clear-secret', 'token']),
      ]);
      expect(requiredSecret).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: --secret (token): required for a github server\n' });
      expect(badConfig).toMatchObject({ code: 1, stderr: 'botgate: --config: unknown field(s): nope\n' });
      expect(unknown).toMatchObject({ code: 1, stderr: 'botgate: server "ghost" not found in tenant acme\n' });
      expect(othersServer).toMatchObject({ code: 1, stderr: 'botgate: server "theirs" not found in tenant acme\n' });
      expect(nothing).toMatchObject({ code: 2, stderr: 'botgate: nothing to change: give --config, --secret, --secret-stdin or --clear-secret (botgate server update --help for usage)\n' });
      expect(both).toMatchObject({ code: 2, stderr: 'botgate: --secret and --clear-secret both name token (botgate server update --help for usage)\n' });
      expect({ acme: await servers('acme'), other: await servers('other') }).toEqual(before);
      expect(await audit('server.update')).toHaveLength(events);
    });

    it('deletes a server and a bot; one that is not there is not found, and nothing changes', async () => {
      await op('server.create', { tenant: 'acme', slug: 'scratch', kind: 'filesystem' });
      await op('bot.create', { tenant: 'acme', slug: 'helper', model: 'claude-sonnet-4-5', system: 'Help.', description: 'Helps.' });
      const [server, bot] = await Promise.all([
        run(['server', 'delete', '--tenant', 'acme', 'scratch']),
        runJson<{ bot: { slug: string }; tenant: string; deleted: boolean }>(['bot', 'delete', '--tenant', 'acme', 'helper']),
      ]);
      expect(server).toMatchObject({ code: 0, stderr: '' });
      expect(server.stdout).toMatch(new RegExp(`^deleted filesystem server scratch \\(${UUID}\\) from acme\\n$`));
      expect(bot).toMatchObject({ tenant: 'acme', deleted: true, bot: { slug: 'helper' } });
      expect((await admin.get('/api/v1/servers/scratch')).status).toBe(404);
      expect((await admin.get('/api/v1/bots/helper')).status).toBe(404);
      expect((await audit('server.delete'))[0]).toMatchObject({ actor: { type: 'operator', id: null }, before: { slug: 'scratch' } });

      const before = { acme: await servers('acme'), other: await servers('other') };
      const [again, othersServer, noBot, noTenant, noSlug] = await Promise.all([
        run(['server', 'delete', '--tenant', 'acme', 'scratch']),
        run(['server', 'delete', '--tenant', 'acme', 'theirs', '--json']),
        run(['bot', 'delete', '--tenant', 'acme', 'helper']),
        run(['server', 'delete', '--tenant', 'nope', 'files']),
        run(['server', 'delete', '--tenant', 'acme']),
      ]);
      expect(again).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: server "scratch" not found in tenant acme\n' });
      expect(othersServer).toMatchObject({ code: 1, stdout: '' });
      expect(JSON.parse(othersServer.stderr)).toEqual({ error: { message: 'server "theirs" not found in tenant acme' } });
      expect(noBot).toMatchObject({ code: 1, stderr: 'botgate: bot "helper" not found in tenant acme\n' });
      expect(noTenant).toMatchObject({ code: 1, stderr: 'botgate: tenant "nope" not found\n' });
      expect(noSlug).toMatchObject({ code: 2, stderr: 'botgate: server delete takes exactly one server slug (botgate server delete --help for usage)\n' });
      expect({ acme: await servers('acme'), other: await servers('other') }).toEqual(before);
    });

    it('rotates a key: the new secret shown once, the old key working through the grace period', async () => {
      const { key } = await runJson<{ key: KeyJson & { secret: string } }>(['key', 'create', '--tenant', 'acme', '--name', 'deploy', '--scopes', 'read']);
      const rotated = await run(['key', 'rotate', '--tenant', 'acme', key.id]);
      expect(rotated).toMatchObject({ code: 0, stderr: '' });
      const lines = rotated.stdout.split('\n');
      expect(lines[0]).toMatch(new RegExp(`^rotated key "deploy": the new key is ${UUID} with scopes read \\(active\\); the old one, ${key.id}, keeps working until \\S+$`));
      expect(lines[1]).toBe('the new key is shown once, store it now:');
      const secret = lines[2] ?? '';
      expect(secret).toMatch(/^bgk_/);
      for (const presented of [secret, key.secret]) expect((await apiClient(gateway.url, presented).get<MeJson>('/api/v1/me')).status).toBe(200);
      expect((await run(['key', 'list', '--tenant', 'acme'])).stdout).not.toContain(secret);

      // --grace 0s: the old key stops at once.
      const successorId = (await keys('acme')).find((k) => secret.startsWith(k.prefix))?.id ?? '';
      const now = await runJson<{ key: KeyJson & { secret: string }; previous: KeyJson }>(['key', 'rotate', '--tenant', 'acme', successorId, '--grace', '0s']);
      expect(now.previous).toMatchObject({ id: successorId, replaced_by: now.key.id });
      expect((await apiClient(gateway.url, secret).get('/api/v1/me')).status).toBe(401);
      expect((await apiClient(gateway.url, now.key.secret).get('/api/v1/me')).status).toBe(200);
    });

    it('refuses to rotate a key it cannot, and changes nothing', async () => {
      const { key } = await op<{ key: KeyJson }>('key.create', { tenant: 'acme', name: 'rotated', scopes: ['read'] });
      await op('key.rotate', { tenant: 'acme', id: key.id });
      const before = { acme: await keys('acme'), other: await keys('other') };
      const missing = '00000000-0000-4000-8000-000000000000';
      const [twice, unknown, othersTenant, noId, foreign] = await Promise.all([
        run(['key', 'rotate', '--tenant', 'acme', key.id]),
        run(['key', 'rotate', '--tenant', 'acme', missing]),
        run(['key', 'rotate', '--tenant', 'other', key.id]),
        run(['key', 'rotate', '--tenant', 'acme']),
        run(['key', 'rotate', '--tenant', 'acme', key.id, '--tools', 'files']),
      ]);
      expect(twice).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: this key has already been rotated\n' });
      expect(unknown).toMatchObject({ code: 1, stderr: `botgate: API key "${missing}" not found in tenant acme\n` });
      expect(othersTenant).toMatchObject({ code: 1, stderr: `botgate: API key "${key.id}" not found in tenant other\n` });
      expect(noId).toMatchObject({ code: 2, stderr: 'botgate: key rotate takes exactly one key id (botgate key rotate --help for usage)\n' });
      expect(foreign).toMatchObject({ code: 2, stderr: 'botgate: key rotate does not take --tools (botgate key rotate --help for usage)\n' });
      expect({ acme: await keys('acme'), other: await keys('other') }).toEqual(before);
    });

    it('refuses --tools naming a server or bot the tenant does not have, in the CLI and the REST API alike', async () => {
      await op('bot.create', { tenant: 'acme', slug: 'notes', model: 'claude-sonnet-4-5', system: 'Notes.', description: 'Takes notes.' });
      const before = await keys('acme');
      const tools = 'files,ghost__read_file,theirs,bot__nobody,gh__list_issues';
      const cli = await run(['key', 'create', '--tenant', 'acme', '--name', 'narrow', '--scopes', 'mcp', '--tools', tools]);
      const message = 'tools: no such server or bot in this tenant: ghost__read_file, theirs, bot__nobody';
      // The CLI names the option, the REST API the field.
      expect(cli).toMatchObject({ code: 1, stdout: '', stderr: `botgate: --${message}\n` });
      const rest = await admin.post('/api/v1/keys', { json: { name: 'narrow', scopes: ['mcp'], tools: tools.split(',') } });
      expect(rest.status).toBe(400);
      expect(rest.body.error).toEqual({ code: 'validation_failed', message });
      expect(await keys('acme')).toEqual(before);

      const { key } = await runJson<{ key: KeyJson & { tools: string[] } }>(['key', 'create', '--tenant', 'acme', '--name', 'narrow', '--scopes', 'mcp', '--tools', 'files,gh__list_issues,bot__notes,bot']);
      expect(key.tools).toEqual(['files', 'gh__list_issues', 'bot__notes', 'bot']);
    });

    it('warns on stderr when a new bot has no Anthropic API key to answer with', async () => {
      const create = (slug: string, env?: Record<string, string>, json = false) =>
        run(['bot', 'create', '--tenant', 'acme', '--slug', slug, '--model', 'claude-sonnet-4-5', '--system', 'Hi.', '--description', 'Greets.', ...(json ? ['--json'] : [])], env);
      // Whatever the CLI's own environment says, a gateway answers for itself; on PostgreSQL the CLI can only say what it sees.
      const [text, json, keyed] = await Promise.all([create('greeter'), create('greeter-json', undefined, true), create('keyed', { ANTHROPIC_API_KEY: 'sk-ant-cli-only' })]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`^created bot greeter \\(${UUID}\\) in acme using claude-sonnet-4-5\\n$`));
      const warning =
        engine === 'embedded'
          ? 'bot greeter cannot answer: it has no Anthropic API key of its own, and the gateway has no ANTHROPIC_API_KEY; set ANTHROPIC_API_KEY for the gateway and restart it, or give the bot a key of its own: botgate bot update --tenant acme greeter --anthropic-key-stdin, with the key on stdin'
          : 'bot greeter cannot answer unless the gateway serving it has ANTHROPIC_API_KEY: it has no Anthropic API key of its own, and ANTHROPIC_API_KEY is not set for this command; set it for the gateway, or give the bot a key of its own: botgate bot update --tenant acme greeter --anthropic-key-stdin, with the key on stdin';
      expect(text.stderr).toBe(`botgate: warning: ${warning}\n`);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ bot: { slug: 'greeter-json' }, can_answer: false });
      expect(JSON.parse(json.stderr)).toEqual({ warning: { message: warning.replaceAll('greeter', 'greeter-json') } });
      expect(keyed.code).toBe(0);
      expect(keyed.stderr).toBe(engine === 'embedded' ? `botgate: warning: ${warning.replaceAll('greeter', 'keyed')}\n` : '');
    });

    it('updates a bot as PATCH does, field by field, in text and --json; lists replaced and emptied; audited as the operator', async () => {
      await op('bot.create', { tenant: 'acme', slug: 'editor', model: 'claude-sonnet-4-5', system: 'Edit.', description: 'Edits.' });
      await op('bot.create', { tenant: 'acme', slug: 'writer', model: 'claude-sonnet-4-5', system: 'Write.', description: 'Writes.', servers: ['files'] });
      // A tool allow-list, which only the REST API sets: the CLI keeps it while the server stays attached.
      expect((await admin.patch('/api/v1/bots/writer', { json: { servers: [{ slug: 'files', tools: ['read_file'] }] } })).status).toBe(200);
      const cannotAnswer = /^botgate: warning: bot writer cannot answer.*: botgate bot update --tenant acme writer --anthropic-key-stdin, with the key on stdin\n$/;

      const text = await run(
        ['bot', 'update', '--tenant', 'acme', 'writer', '--name', 'Writer', '--model', 'claude-haiku-4-5', '--temperature', '0.3', '--max-tokens', '2000', '--servers', 'gh,files', '--bots', 'editor'],
      );
      expect(text).toMatchObject({
        code: 0,
        stdout: 'updated bot writer in acme: name "Writer", model claude-haiku-4-5, temperature 0.3, max tokens 2000, thinking off, servers gh,files[read_file], bots editor, no Anthropic API key of its own\n',
      });
      expect(text.stderr).toMatch(cannotAnswer);

      const json = await run(
        ['bot', 'update', '--tenant', 'acme', '--slug', 'writer', '--description', 'Writes drafts.', '--system', 'Write drafts.', '--temperature', 'default', '--thinking-budget', '1024', '--json'],
      );
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({
        tenant: 'acme',
        can_answer: false,
        bot: expect.objectContaining({
          slug: 'writer',
          name: 'Writer',
          description: 'Writes drafts.',
          model: 'claude-haiku-4-5',
          system_prompt: 'Write drafts.',
          temperature: null,
          max_tokens: 2000,
          thinking_budget: 1024,
          servers: [{ slug: 'gh' }, { slug: 'files', tools: ['read_file'] }],
          bots: ['editor'],
          anthropic_api_key: null,
        }) as unknown,
      });
      expect(JSON.parse(json.stderr)).toEqual({ warning: { message: expect.stringMatching(/^bot writer cannot answer/) as unknown } });

      // --servers '' and --bots '' empty the lists; a server attached anew has all its tools.
      const emptied = await run(['bot', 'update', '--tenant', 'acme', 'writer', '--servers', '', '--bots', '', '--thinking-budget', 'off']);
      expect(emptied).toMatchObject({
        code: 0,
        stdout: 'updated bot writer in acme: name "Writer", model claude-haiku-4-5, temperature default, max tokens 2000, thinking off, servers none, bots none, no Anthropic API key of its own\n',
      });
      expect((await admin.get<{ bot: BotJson }>('/api/v1/bots/writer')).body.bot).toMatchObject({ servers: [], bots: [], thinking_budget: null });
      const attached = await runJson<{ bot: BotJson }>(['bot', 'update', '--tenant', 'acme', 'writer', '--servers', 'files']);
      expect(attached.bot.servers).toEqual([{ slug: 'files' }]);

      const rest = (await admin.get<{ bot: BotJson }>('/api/v1/bots/writer')).body.bot;
      expect(rest).toEqual({ ...attached.bot, updated_at: rest.updated_at });
      expect(rest).toMatchObject({ name: 'Writer', description: 'Writes drafts.', system_prompt: 'Write drafts.', model: 'claude-haiku-4-5', temperature: null, max_tokens: 2000 });
      const events = (await audit('bot.update')).slice(0, 4);
      expect(events.map((e) => e.actor)).toEqual(Array(4).fill({ type: 'operator', id: null }));
      expect(events[0]).toMatchObject({ resource_type: 'bot', resource_id: rest.id, before: { servers: [] }, after: { servers: [{ slug: 'files' }] } });
    });

    it('gives a bot its own Anthropic API key from stdin, never printing it, and clears it', async () => {
      const create = (slug: string, ...more: string[]) =>
        run(['bot', 'create', '--tenant', 'acme', '--slug', slug, '--model', 'claude-sonnet-4-5', '--system', 'Hi.', '--description', 'Holds a key.', '--anthropic-key-stdin', ...more], {}, `${ANTHROPIC_KEY}\n`);
      const [created, createdJson] = await Promise.all([create('keyholder'), create('keyholder-json', '--json')]);
      expect(created).toMatchObject({ code: 0, stderr: '' });
      expect(created.stdout).toMatch(new RegExp(`^created bot keyholder \\(${UUID}\\) in acme using claude-sonnet-4-5, with its own Anthropic API key\\n$`));
      expect(createdJson).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(createdJson.stdout)).toMatchObject({ bot: { slug: 'keyholder-json', anthropic_api_key: 'set' }, can_answer: true });

      await op('bot.create', { tenant: 'acme', slug: 'keyless', model: 'claude-sonnet-4-5', system: 'Hi.', description: 'Has no key yet.' });
      const set = await run(['bot', 'update', '--tenant', 'acme', 'keyless', '--anthropic-key-stdin'], {}, `${ANTHROPIC_KEY}\n`);
      expect(set).toMatchObject({
        code: 0,
        stderr: '',
        stdout: 'updated bot keyless in acme: name "keyless", model claude-sonnet-4-5, temperature default, max tokens 4096, thinking off, servers none, bots none, own Anthropic API key set\n',
      });
      const setJson = await run(['bot', 'update', '--tenant', 'acme', 'keyless', '--anthropic-key-stdin', '--json'], {}, ANTHROPIC_KEY);
      expect(setJson).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(setJson.stdout)).toMatchObject({ bot: { slug: 'keyless', anthropic_api_key: 'set' }, can_answer: true });
      expect((await admin.get<{ bot: BotJson }>('/api/v1/bots/keyless')).body.bot.anthropic_api_key).toBe('set');

      const [listed, listedJson] = await Promise.all([run(['bot', 'list', '--tenant', 'acme']), run(['bot', 'list', '--tenant', 'acme', '--json'])]);
      const trail = JSON.stringify([...(await audit('bot.create')), ...(await audit('bot.update'))]);
      for (const output of [created, createdJson, set, setJson, listed, listedJson]) expect(output.stdout + output.stderr).not.toContain('botKeyThatMustNeverBePrinted');
      expect(trail).toContain('keyless');
      expect(trail).not.toContain('botKeyThatMustNeverBePrinted');

      const [cleared, clearedJson] = await Promise.all([
        run(['bot', 'update', '--tenant', 'acme', 'keyless', '--clear-anthropic-key']),
        run(['bot', 'update', '--tenant', 'acme', 'keyholder-json', '--clear-anthropic-key', '--json']),
      ]);
      expect(cleared).toMatchObject({
        code: 0,
        stdout: 'updated bot keyless in acme: name "keyless", model claude-sonnet-4-5, temperature default, max tokens 4096, thinking off, servers none, bots none, no Anthropic API key of its own\n',
      });
      expect(cleared.stderr).toMatch(/^botgate: warning: bot keyless cannot answer/);
      expect(JSON.parse(clearedJson.stdout)).toMatchObject({ bot: { slug: 'keyholder-json', anthropic_api_key: null }, can_answer: false });
      expect((await admin.get<{ bot: BotJson }>('/api/v1/bots/keyless')).body.bot.anthropic_api_key).toBeNull();
      const [event] = (await audit('bot.update')).filter((e) => e.resource_id === (JSON.parse(setJson.stdout) as { bot: BotJson }).bot.id);
      expect(event).toMatchObject({ actor: { type: 'operator', id: null }, before: { anthropicApiKey: expect.any(String) as unknown }, after: { anthropicApiKey: null } });

      // Nothing on stdin is no key: refused, naming the option, and nothing changes.
      const before = await bots('acme');
      const [empty, blank] = await Promise.all([
        run(['bot', 'update', '--tenant', 'acme', 'keyless', '--anthropic-key-stdin'], {}, ''),
        run(['bot', 'create', '--tenant', 'acme', '--slug', 'blank', '--model', 'claude-sonnet-4-5', '--system', 'Hi.', '--description', 'd', '--anthropic-key-stdin'], {}, '  \n'),
      ]);
      expect(empty).toMatchObject({ code: 2, stdout: '', stderr: 'botgate: --anthropic-key-stdin: must not be empty (botgate bot update --help for usage)\n' });
      expect(blank).toMatchObject({ code: 2, stdout: '', stderr: 'botgate: --anthropic-key-stdin: must not be empty (botgate bot create --help for usage)\n' });
      expect(await bots('acme')).toEqual(before);
    });

    it('refuses a bot update it cannot make, naming why, and changes nothing', async () => {
      await op('bot.create', { tenant: 'acme', slug: 'steady', model: 'claude-sonnet-4-5', system: 'Steady.', description: 'Stays.', servers: ['files'] });
      await op('bot.create', { tenant: 'other', slug: 'spy', model: 'claude-sonnet-4-5', system: 'Theirs.', description: 'Not acme’s.' });
      const before = { acme: await bots('acme'), other: await bots('other') };
      const events = (await audit('bot.update')).length;
      const update = (...args: string[]) => run(['bot', 'update', '--tenant', 'acme', ...args]);
      const [unknownServer, othersServer, othersBot, othersBotJson, missing, missingWithServers, tooHot] = await Promise.all([
        update('steady', '--servers', 'files,ghost', '--name', 'Changed'),
        update('steady', '--servers', 'theirs'),
        update('spy', '--name', 'Mine'),
        update('spy', '--servers', 'files', '--json'),
        update('ghost', '--name', 'Boo'),
        update('ghost', '--servers', 'files'),
        update('steady', '--temperature', '2'),
      ]);
      expect(unknownServer).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: --servers "ghost": no server "ghost" in this tenant\n' });
      expect(othersServer).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: --servers "theirs": no server "theirs" in this tenant\n' });
      expect(othersBot).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: bot "spy" not found in tenant acme\n' });
      expect(othersBotJson).toMatchObject({ code: 1, stdout: '' });
      expect(JSON.parse(othersBotJson.stderr)).toEqual({ error: { message: 'bot "spy" not found in tenant acme' } });
      expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: bot "ghost" not found in tenant acme\n' });
      expect(missingWithServers).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: bot "ghost" not found in tenant acme\n' });
      expect(tooHot).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: --temperature: must be between 0 and 1\n' });

      // Mistakes in the command line itself: exit 2, before anything is opened.
      const usage = (command: string, message: string) => ({ code: 2, stdout: '', stderr: `botgate: ${message} (botgate ${command} --help for usage)\n` });
      const [nothing, both, warm, lots, noBot, noTenant, foreign, password, onCreate, onList] = await Promise.all([
        update('steady'),
        run(['bot', 'update', '--tenant', 'acme', 'steady', '--anthropic-key-stdin', '--clear-anthropic-key'], {}, ANTHROPIC_KEY),
        update('steady', '--temperature', 'warm'),
        update('steady', '--thinking-budget', 'lots'),
        update('--name', 'Nobody'),
        run(['bot', 'update', 'steady', '--name', 'Orphan']),
        update('steady', '--clear-secret', 'token'),
        update('steady', '--password-stdin'),
        run(['bot', 'create', '--tenant', 'acme', '--slug', 'x', '--model', 'claude-sonnet-4-5', '--system', 's', '--description', 'd', '--clear-anthropic-key']),
        run(['bot', 'list', '--tenant', 'acme', '--anthropic-key-stdin'], {}, ANTHROPIC_KEY),
      ]);
      expect(nothing).toEqual(
        usage(
          'bot update',
          'nothing to change: give --name, --description, --model, --system, --temperature, --max-tokens, --thinking-budget, --servers, --bots, --anthropic-key-stdin or --clear-anthropic-key',
        ),
      );
      expect(both).toEqual(usage('bot update', '--anthropic-key-stdin and --clear-anthropic-key cannot both be given'));
      expect(warm).toEqual(usage('bot update', '--temperature takes a number from 0 to 1, or default, got "warm"'));
      expect(lots).toEqual(usage('bot update', '--thinking-budget takes a whole number of tokens, or off, got "lots"'));
      expect(noBot).toEqual(usage('bot update', 'bot update takes exactly one bot slug'));
      expect(noTenant).toEqual(usage('bot update', 'missing --tenant <slug>'));
      expect(foreign).toEqual(usage('bot update', 'bot update does not take --clear-secret'));
      expect(password).toEqual(usage('bot update', 'bot update does not take --password-stdin'));
      expect(onCreate).toEqual(usage('bot create', 'bot create does not take --clear-anthropic-key'));
      expect(onList).toEqual(usage('bot list', 'bot list does not take --anthropic-key-stdin'));

      expect({ acme: await bots('acme'), other: await bots('other') }).toEqual(before);
      expect(await audit('bot.update')).toHaveLength(events);
    });
  });
}
