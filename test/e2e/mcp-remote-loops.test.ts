import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { operatorCommand, seedTenant } from '../support/http.ts';
import { connectFullV1, connectFullV2 } from '../support/mcp-full-clients.ts';
import { viaEntry } from '../../src/shared/via.ts';

// A tenant's remote server may be an MCP endpoint of this same gateway: another
// tenant's published tools, say. One that leads back to a tenant already on the
// way is a loop, which would otherwise multiply requests until something timed out.

const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');
const names = (tools: Array<{ name: string }>) => tools.map((tool) => tool.name);

describe('remote servers that lead back to the gateway', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  const keys: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } });
    for (const slug of ['acme', 'partner', 'viewer']) {
      const seeded = await seedTenant(dataDir, slug);
      keys[slug] = seeded.key.secret;
      ids[slug] = seeded.tenant.id;
    }
    const remote = (tenant: string, slug: string, to: string, path = '') =>
      operatorCommand(dataDir, 'server.create', {
        tenant,
        slug,
        kind: 'remote',
        config: { url: `${gateway.url}/t/${to}/mcp${path}`, timeoutMs: 5_000 },
        secrets: { token: keys[to] },
      });
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'files', kind: 'filesystem' });
    await operatorCommand(dataDir, 'server.create', { tenant: 'partner', slug: 'files', kind: 'filesystem' });
    // acme → acme; acme → partner → acme; viewer → partner's files alone.
    await remote('acme', 'self', 'acme');
    await remote('acme', 'partner', 'partner');
    await remote('partner', 'acme', 'acme');
    await remote('viewer', 'shared', 'partner', '/servers/files');
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('lists a tenant’s tools without the loops, and with the tools of the tenant it reaches', async () => {
    const client = await connectFullV2(`${gateway.url}/t/acme/mcp`, keys['acme']);
    const listed = names(await client.listTools());
    await client.close();

    expect(listed).toContain('files__read_file');
    // acme → partner is fine; partner's own files come through it...
    expect(listed).toContain('partner__files__read_file');
    // ...but nothing that goes round: acme → acme, and acme → partner → acme.
    expect(listed.filter((name) => name.startsWith('self__'))).toEqual([]);
    expect(listed.filter((name) => name.startsWith('partner__acme__'))).toEqual([]);
  });

  for (const [era, connect] of [
    ['v1', connectFullV1],
    ['v2', connectFullV2],
  ] as const) {
    it(`answers the ${era} client listing a loop's own endpoint with an error naming the loop`, async () => {
      const client = await connect(`${gateway.url}/t/acme/mcp/servers/self`, keys['acme']);
      try {
        await expect(client.listTools()).rejects.toThrow(/came back to the tenant acme through one of its remote servers/);
      } finally {
        await client.close();
      }
    });
  }

  it('lets a tenant use another tenant’s tools through the gateway', async () => {
    const partner = await connectFullV2(`${gateway.url}/t/partner/mcp/servers/files`, keys['partner']);
    await partner.callTool('write_file', { path: 'shared.txt', content: 'from partner' });
    await partner.close();
    const viewer = await connectFullV2(`${gateway.url}/t/viewer/mcp`, keys['viewer']);
    const result = await viewer.callTool('shared__read_file', { path: 'shared.txt' });
    await viewer.close();
    expect(textOf(result)).toContain('from partner');
  });

  it('refuses a request that claims to have come through the tenant already, and says why', async () => {
    const first = await fetch(`${gateway.url}/t/viewer/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys['viewer']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(first.status).not.toBe(508);
    await first.body?.cancel();

    // The viewer's own entry, as its remote server's request would carry it to partner and on.
    const looped = await fetch(`${gateway.url}/t/viewer/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${keys['viewer']}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'botgate-via': viaEntry(ids['viewer']!),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(looped.status).toBe(508);
    expect(await looped.text()).toContain('came back to the tenant viewer');
  });
});
