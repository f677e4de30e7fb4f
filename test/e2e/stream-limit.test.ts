import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { operatorCommand, seedTenant } from '../support/http.ts';
import { connectV1 } from '../support/mcp-clients.ts';
import { openRawEventStream, type RawEventStream } from '../support/mcp-listener.ts';

describe('BOTGATE_MAX_STREAMS_PER_TENANT: the operator sets how many MCP streams a tenant may hold open on a node', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  const keys = {} as Record<'acme' | 'other', string>;
  const streams: RawEventStream[] = [];
  const aggregate = (tenant: string) => `${gateway.url}/t/${tenant}/mcp`;
  async function open(tenant: 'acme' | 'other') {
    const stream = await openRawEventStream(aggregate(tenant), keys[tenant]);
    streams.push(stream);
    return stream;
  }

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { BOTGATE_MAX_STREAMS_PER_TENANT: '2' } });
    keys.acme = (await seedTenant(dataDir, 'acme')).key.secret;
    keys.other = (await seedTenant(dataDir, 'other')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'files', kind: 'filesystem' });
  });

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await gateway?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('holds as many as it says, refuses one more with 429 and a warning naming the setting, and counts each tenant apart', async () => {
    expect([(await open('acme')).status, (await open('acme')).status]).toEqual([200, 200]);
    const refused = await open('acme');
    expect(refused.status).toBe(429);
    await pollUntil('the warning', async () => (gateway.output().includes('BOTGATE_MAX_STREAMS_PER_TENANT') ? true : undefined));
    expect((await open('other')).status).toBe(200);
    // A client retrying does not flood the log: the next warning comes a minute later, with the count.
    for (let i = 0; i < 3; i += 1) expect((await open('acme')).status).toBe(429);
    expect(gateway.output().split('BOTGATE_MAX_STREAMS_PER_TENANT')).toHaveLength(2);
  });

  it('lets a 2025-era client refused its stream work on without it', async () => {
    expect((await open('acme')).status).toBe(429);
    const client = await connectV1(aggregate('acme'), keys.acme);
    try {
      expect(await client.listToolNames()).toContain('files__list_directory');
      expect((await client.callTool('files__list_allowed_directories', {})).isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it('takes a stream again once one has closed', async () => {
    streams[0]?.close();
    const again = await pollUntil('a free place', async () => {
      const stream = await open('acme');
      if (stream.status === 200) return stream;
      stream.close();
      return undefined;
    });
    expect(again.status).toBe(200);
  });
});
