import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliInProcess, runCliJsonInProcess, type CliOptions } from '../support/cli.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import {
  apiClient,
  operatorCommand,
  type AuditEventJson,
  type KeyJson,
  type MeJson,
  type TenantJson,
} from '../support/http.ts';

// Two terminals: `botgate serve` holds the embedded database; the CLI reaches it through the gateway.
// Two commands each run through bin/botgate.js in its own process, as an operator's would; the others run
// the same entry in-process (runCliInProcess), which finds the gateway holding the database the same way.
describe('CLI against a running gateway on the embedded database', () => {
  let gateway: GatewayProcess;
  let cli: CliOptions;

  beforeAll(async () => {
    const dataDir = await makeDataDir();
    cli = { dataDir };
    gateway = await startGateway({ dataDir });
  });

  afterAll(async () => {
    await gateway?.stop();
    if (cli) await fs.rm(cli.dataDir, { recursive: true, force: true });
  });

  it('creates a tenant, an owner and a key that then reads /api/v1/me, lists it and revokes it', async () => {
    // Through bin/botgate.js in its own process: what an operator's terminal shows.
    const created = await runCli(['tenant', 'create', 'acme', '--name', 'Acme Corp'], cli);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toMatch(/^created tenant acme \([0-9a-f-]{36}\)\n$/);

    const owner = await runCliInProcess(['user', 'create', '--tenant', 'acme', '--email', 'Alice@Acme.example', '--role', 'owner'], cli);
    expect(owner.code).toBe(0);
    expect(owner.stdout).toMatch(/^added alice@acme\.example \([0-9a-f-]{36}\) to acme as owner\n/);
    const password = /password \(shown once, store it now\): (\S+)\n$/.exec(owner.stdout)?.[1];
    expect(password?.length).toBeGreaterThanOrEqual(12);

    const { key } = await runCliJsonInProcess<{ key: KeyJson & { secret: string }; tenant: string }>(
      ['key', 'create', '--tenant', 'acme', '--name', 'ci', '--scopes', 'mcp,admin'],
      cli,
    );
    expect(key).toMatchObject({ name: 'ci', scopes: ['mcp', 'admin'], revoked_at: null, expires_at: null });
    expect(key.secret).toMatch(/^bgk_/);
    expect(key.secret.startsWith(key.prefix)).toBe(true);

    const me = await apiClient(gateway.url, key.secret).get<MeJson>('/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenant: { slug: 'acme', name: 'Acme Corp' }, key: { id: key.id }, role: 'owner' });

    const listed = await runCliInProcess(['key', 'list', '--tenant', 'acme'], cli);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(key.id);
    expect(listed.stdout).toContain(key.prefix);
    expect(listed.stdout).toMatch(/\tci\tmcp,admin\tactive\t/);
    expect(listed.stdout).not.toContain(key.secret);
    const listedJson = await runCliJsonInProcess<{ keys: KeyJson[] }>(['key', 'list', '--tenant', 'acme'], cli);
    expect(listedJson.keys.map((k) => k.id)).toEqual([key.id]);
    expect(listedJson.keys[0]).not.toHaveProperty('secret');

    const revoked = await runCliInProcess(['key', 'revoke', '--tenant', 'acme', key.id], cli);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked key "ci" ${key.id}\n` });

    const after = await apiClient(gateway.url, key.secret).get('/api/v1/me');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
    const { keys } = await operatorCommand<{ keys: KeyJson[] }>(cli.dataDir, 'key.list', { tenant: 'acme' });
    expect(keys).toEqual([expect.objectContaining({ id: key.id, revoked_at: expect.any(String) })]);
  });

  it('exits non-zero with a one-line message on errors, and changes nothing', async () => {
    // Independent commands run side by side: the one in its own process costs seconds to start.
    const [badSlug, unknownCommand, first] = await Promise.all([
      // Through bin/botgate.js in its own process: the exit code and output an operator's script sees.
      runCli(['tenant', 'create', 'Not_A_Slug'], cli),
      runCliInProcess(['frobnicate', '--json'], cli),
      runCliJsonInProcess<{ tenant: TenantJson }>(['tenant', 'create', 'dup-co'], cli),
    ]);
    expect(badSlug.code).toBe(1);
    expect(badSlug.stdout).toBe('');
    expect(badSlug.stderr).toMatch(/^botgate: slug: must be 1-63 lowercase letters[^\n]*\n$/);
    expect(unknownCommand.code).toBe(2);
    expect(JSON.parse(unknownCommand.stderr)).toEqual({ error: { message: 'unknown command: frobnicate' } });

    const [duplicate, duplicateJson] = await Promise.all([
      runCliInProcess(['tenant', 'create', 'dup-co', '--name', 'Impostor'], cli),
      runCliInProcess(['tenant', 'create', 'dup-co', '--json'], cli),
    ]);
    expect(duplicate).toMatchObject({ code: 1, stdout: '', stderr: 'botgate: a tenant with slug "dup-co" already exists\n' });
    expect(duplicateJson.code).toBe(1);
    expect(JSON.parse(duplicateJson.stderr)).toEqual({ error: { message: 'a tenant with slug "dup-co" already exists' } });

    // The first tenant is untouched: one tenant.create event, its own name.
    const seed = await operatorCommand<{ key: { secret: string } }>(cli.dataDir, 'key.create', {
      tenant: 'dup-co',
      name: 'probe',
      scopes: ['read'],
    });
    const dupApi = apiClient(gateway.url, seed.key.secret);
    const me = await dupApi.get<MeJson>('/api/v1/me');
    expect(me.body.tenant).toMatchObject({ id: first.tenant.id, name: 'dup-co' });
    const audit = await dupApi.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tenant.create');
    expect(audit.body.events).toHaveLength(1);
  });
});
