import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListingMcpServer, type ListingMcpServer } from '../fakes/listing-mcp-server.ts';
import { runCliInProcess } from '../support/cli.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { CLIENTS, connectV2 } from '../support/mcp-clients.ts';

const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');
const tool = (name: string, description = `The ${name} tool.`) => ({ name, description, inputSchema: { type: 'object' } });

describe('a hostile upstream listing tools that cannot be pinned', () => {
  let gateway: GatewayProcess;
  let upstream: ListingMcpServer;
  let dataDir: string;
  let key: string;

  const admin = () => apiClient(gateway.url, key);
  /** A fresh client each time: the gateway lets clients cache a tool list for a minute. */
  async function listTools(url = `${gateway.url}/t/acme/mcp`) {
    const client = await connectV2(url, key);
    try {
      return (await client.listToolNames()).filter((name) => url.endsWith('/servers/up') || name.startsWith('up__'));
    } finally {
      await client.close();
    }
  }

  beforeAll(async () => {
    // Beside a good tool: a name listed twice, names MCP does not allow, a NUL, and a fresh megabyte at every listing.
    upstream = await startListingMcpServer(() => [
      tool('echo'),
      tool('dup'),
      tool('dup', 'Deletes everything.'),
      tool('bad name'),
      tool('nul', 'Reads a file.\u0000'),
      tool('huge', randomBytes(768 * 1024).toString('base64')),
    ]);
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } });
    key = (await seedTenant(dataDir, 'acme')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'up', kind: 'remote', config: { url: upstream.url } });
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('lists and serves the good tool, and refuses each bad one with its reason', async () => {
    for (let i = 0; i < 5; i++) expect(await listTools()).toEqual(['up__echo']);
    expect(await listTools(`${gateway.url}/t/acme/mcp/servers/up`)).toEqual(['echo']);

    const reasons = {
      up__dup: 'it is listed more than once by the upstream',
      up__nul: 'the field "description" of its definition must not contain the NUL character',
      up__huge: 'bytes of JSON, over the 262,144 (256 KiB) a tool definition may have',
    };
    for (const [, connect] of CLIENTS) {
      const client = await connect(`${gateway.url}/t/acme/mcp`, key);
      expect(textOf(await client.callTool('up__echo', {}))).toBe('ran echo');
      for (const [name, reason] of Object.entries(reasons)) {
        const refused = await client.callTool(name, {});
        expect(refused.isError).toBe(true);
        expect(textOf(refused)).toContain(reason);
        expect(textOf(refused)).not.toMatch(/try again later|changed since it was approved/);
      }
      await client.close();
    }
    expect(upstream.calls).toEqual(['echo', 'echo']);
  });

  it('reports the server ok, naming the withheld tools, in the API and the CLI', async () => {
    type Withheld = { count: number; tools: { name: string; reason: string }[]; summary: string };
    const { body } = await admin().get<{ status: { state: string; tools: number; awaiting_approval: number; error?: string; withheld?: Withheld } }>(
      '/api/v1/servers/up/status',
    );
    expect(body.status).toMatchObject({ state: 'ok', tools: 1, awaiting_approval: 0 });
    expect(body.status.error).toBeUndefined();
    expect(body.status.withheld?.count).toBe(4);
    expect(body.status.withheld?.tools).toContainEqual({ name: 'dup', reason: 'it is listed more than once by the upstream' });
    expect(body.status.withheld?.summary).toMatch(/^4 listed tools are withheld: "dup" \(it is listed more than once by the upstream\); "bad name" \(its name is not/);
    expect(body.status.withheld?.summary).toContain('"nul" (the field "description" of its definition must not contain the NUL character');
    const text = await runCliInProcess(['server', 'status', '--tenant', 'acme', '--slug', 'up'], { dataDir });
    expect(text.code).toBe(0);
    expect(text.stdout.trim()).toMatch(/^up in acme: ok, 1 tool, listed in \d+ ms; 4 listed tools are withheld: "dup" /);
  });

  it('keeps what the database holds small: nothing of the bad tools is pinned, and their audit events are compact', async () => {
    const pins = await admin().get<{ tools: Array<{ name: string; status: string }> }>('/api/v1/servers/up/tools');
    expect(pins.body.tools.map((p) => [p.name, p.status])).toEqual([['echo', 'pinned']]);
    const audit = await admin().get<{ events: AuditEventJson[] }>('/api/v1/audit?limit=100');
    expect(JSON.stringify(audit.body).length).toBeLessThan(20_000);
    const refused = audit.body.events.filter((e) => e.action === 'tool.definition_refused');
    expect(refused.map((e) => (e.after as { tool: string }).tool).sort()).toEqual(['bad name', 'dup', 'huge', 'nul']);
    expect(audit.body.events.filter((e) => e.action === 'tool.definition_changed')).toEqual([]);
  });
});
