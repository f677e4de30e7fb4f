import fs from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDataDir, startGateway } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { connectV2 } from '../support/mcp-clients.ts';

describe('tool-call audit across a clean shutdown', () => {
  const dirs: string[] = [];

  afterAll(async () => {
    await Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  it('writes every accepted tool call before the gateway exits', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const first = await startGateway({ dataDir });
    const { key } = await seedTenant(dataDir, 'drain');
    await operatorCommand(dataDir, 'server.create', { tenant: 'drain', slug: 'files', kind: 'filesystem' });
    const client = await connectV2(`${first.url}/t/drain/mcp`, key.secret);
    const calls = 12;
    for (let i = 0; i < calls; i += 1) await client.callTool('files__list_allowed_directories', {});
    await client.close();
    // Stop at once: the batched audit events are still queued in memory.
    await first.stop();

    const second = await startGateway({ dataDir });
    try {
      const page = await apiClient(second.url, key.secret).get<{ events: AuditEventJson[] }>(
        '/api/v1/audit?action=tool.call&limit=100',
      );
      expect(page.body.events.length).toBe(calls);
    } finally {
      await second.stop();
    }
  });
});
