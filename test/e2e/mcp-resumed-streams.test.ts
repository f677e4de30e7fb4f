import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLegacyMcpServer, type LegacyMcpServer } from '../fakes/legacy-mcp-server.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { operatorCommand, seedTenant } from '../support/http.ts';
import { FULL_CLIENTS, type ProgressEvent } from '../support/mcp-full-clients.ts';

describe('an upstream that closes a long call’s event stream midway (SSE polling), through the gateway', () => {
  let gateway: GatewayProcess;
  let upstream: LegacyMcpServer;
  let dataDir: string;
  let key: string;

  /** GETs on which the gateway resumed a call's stream after an event. */
  const resumptions = () => upstream.requests.filter((request) => request.method === 'GET' && request.headers['last-event-id'] !== undefined);

  beforeAll(async () => {
    dataDir = await makeDataDir();
    [gateway, upstream] = await Promise.all([
      startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } }),
      startLegacyMcpServer({ resumeAfterMs: 20 }),
    ]);
    key = (await seedTenant(dataDir, 'acme')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'polling', kind: 'remote', config: { url: upstream.url }, secrets: { token: 'upstream-secret' } });
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), upstream?.close()]);
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  for (const [name, connect] of FULL_CLIENTS) {
    it(`${name} client: the call is answered once the gateway resumes the stream, with and without progress`, async () => {
      const client = await connect(`${gateway.url}/t/acme/mcp`, key);
      try {
        const before = resumptions().length;
        const progress: ProgressEvent[] = [];
        const withProgress = await client.callTool('polling__pause', {}, (event) => progress.push(event));
        expect([withProgress.isError, withProgress.content]).toEqual([undefined, [{ type: 'text', text: 'resumed' }]]);
        expect(progress.map(({ progress: value, total }) => [value, total])).toEqual([
          [1, 2],
          [2, 2],
        ]);
        const without = await client.callTool('polling__pause', {});
        expect([without.isError, without.content]).toEqual([undefined, [{ type: 'text', text: 'resumed' }]]);
        // The upstream records a status once it has finished a response, which may be just after the answer arrived.
        await pollUntil('the resumed streams to finish', async () => (resumptions().every((request) => request.status !== undefined) ? true : undefined));
        const resumed = resumptions().slice(before);
        expect(resumed.map((request) => [request.status, request.headers['authorization']])).toEqual([
          [200, 'Bearer upstream-secret'],
          [200, 'Bearer upstream-secret'],
        ]);
      } finally {
        await client.close();
      }
    });
  }
});
