import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, seedTenant } from '../support/http.ts';
import { connectV2 } from '../support/mcp-clients.ts';
import { hostileStdioCommand, isRunning, killMarked, processesMarked } from '../support/stdio-processes.ts';

// The gateway's own secrets: none may reach a stdio server.
const SECRETS = {
  BOTGATE_SECRET_KEY: '5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7',
  ANTHROPIC_API_KEY: 'sk-ant-stdio-e2e-key',
};

interface Whoami {
  pid: number;
  helperPid: number;
  cwd: string;
  env: Record<string, string>;
}

describe('stdio servers’ processes, run by the gateway over HTTP', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createThrowawayPostgres>> | undefined;
  // Both start a helper that holds their output; the stubborn one and its helper ignore SIGTERM and the end of their input.
  const plain = hostileStdioCommand('helper');
  const stubborn = hostileStdioCommand('helper', 'ignore-term');
  const keys: Record<string, string> = {};

  const admin = (tenant: string) => apiClient(gateway.url, keys[tenant]);

  async function createServer(tenant: string, slug: string, command: string): Promise<void> {
    const created = await admin(tenant).post('/api/v1/servers', { json: { slug, kind: 'stdio', config: { command } } });
    if (created.status !== 201) throw new Error(`setup: ${JSON.stringify(created.body)}`);
  }

  /** Calls a tool on the server's own endpoint, as a tenant's MCP client would. */
  async function call(tenant: string, slug: string, tool: string, args: Record<string, unknown> = {}) {
    const client = await connectV2(`${gateway.url}/t/${tenant}/mcp/servers/${slug}`, keys[tenant] ?? '');
    try {
      const result = await client.callTool(tool, args);
      return { isError: result.isError ?? false, text: (result.content as Array<{ text?: string }>).map((part) => part.text ?? '').join('') };
    } finally {
      await client.close();
    }
  }

  const whoami = async (tenant: string, slug: string) => JSON.parse((await call(tenant, slug, 'whoami')).text) as Whoami;

  const stopped = (what: string, pids: number[]) =>
    pollUntil(what, async () => ((await Promise.all(pids.map(isRunning))).some(Boolean) ? undefined : true));

  beforeAll(async () => {
    dataDir = await makeDataDir();
    if (TEST_DATABASE_URL) database = await createThrowawayPostgres(TEST_DATABASE_URL);
    gateway = await startGateway({
      dataDir,
      databaseUrl: database?.url,
      env: {
        ...SECRETS,
        BOTGATE_STDIO_COMMANDS: JSON.stringify({
          plain: { command: plain.command, args: plain.args },
          stubborn: { command: stubborn.command, args: stubborn.args },
        }),
      },
    });
    for (const tenant of ['stdio-a', 'stdio-b']) keys[tenant] = (await seedTenant(dataDir, tenant)).key.secret;
  });

  afterAll(async () => {
    await gateway?.stop();
    for (const { marker } of [plain, stubborn]) await killMarked(marker);
    await database?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('runs each tenant’s server of the same command in a process and home of its own, with none of the gateway’s secrets', async () => {
    await createServer('stdio-a', 'tool', 'plain');
    await createServer('stdio-b', 'tool', 'plain');
    const a = await whoami('stdio-a', 'tool');
    const b = await whoami('stdio-b', 'tool');

    expect(a.pid).not.toBe(b.pid);
    for (const [tenant, seen] of [['stdio-a', a], ['stdio-b', b]] as const) {
      const home = path.join(dataDir, 'stdio', tenant, 'tool');
      expect(seen.cwd).toBe(await fs.realpath(home));
      expect(seen.env['HOME']).toBe(home);
      expect(Object.keys(seen.env).every((name) => ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'].includes(name))).toBe(true);
      const shown = JSON.stringify(seen.env);
      for (const secret of [...Object.values(SECRETS), ...(database ? [database.url] : [])]) expect(shown).not.toContain(secret);
    }
    // The same process serves the tenant's next call.
    expect((await whoami('stdio-a', 'tool')).pid).toBe(a.pid);
  });

  it('stops a server’s process and its helpers when the server is deleted or reconfigured, leaving the tenant’s other servers running', async () => {
    for (const slug of ['doomed', 'changed', 'kept']) await createServer('stdio-a', slug, 'plain');
    const doomed = await whoami('stdio-a', 'doomed');
    const changed = await whoami('stdio-a', 'changed');
    const kept = await whoami('stdio-a', 'kept');
    const other = await whoami('stdio-b', 'tool');

    expect((await admin('stdio-a').delete('/api/v1/servers/doomed')).status).toBe(204);
    await stopped('the deleted server’s processes to stop', [doomed.pid, doomed.helperPid]);

    const patched = await admin('stdio-a').patch('/api/v1/servers/changed', { json: { config: { command: 'plain', timeoutMs: 20_000 } } });
    expect(patched.status).toBe(200);
    await stopped('the reconfigured server’s processes to stop', [changed.pid, changed.helperPid]);
    const restarted = await whoami('stdio-a', 'changed');
    expect(restarted.pid).not.toBe(changed.pid);

    // Nothing else was touched: the same processes answer.
    expect(await isRunning(kept.pid)).toBe(true);
    expect((await whoami('stdio-a', 'kept')).pid).toBe(kept.pid);
    expect((await whoami('stdio-b', 'tool')).pid).toBe(other.pid);
    expect(await call('stdio-a', 'kept', 'echo', { message: 'still here' })).toEqual({ isError: false, text: 'echo: still here' });
  });

  it('leaves no process behind when the gateway stops, though its servers and their helpers ignore SIGTERM', async () => {
    await createServer('stdio-b', 'stubborn', 'stubborn');
    const { pid, helperPid } = await whoami('stdio-b', 'stubborn');
    expect(await processesMarked(stubborn.marker)).toEqual(expect.arrayContaining([pid, helperPid]));
    expect((await processesMarked(plain.marker)).length).toBeGreaterThan(0);

    expect(await gateway.stop()).toMatchObject({ code: 0 });
    for (const { marker } of [plain, stubborn]) {
      await pollUntil('no stdio process left', async () => ((await processesMarked(marker)).length === 0 ? true : undefined));
    }
  });
});
