import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { seedTenant } from '../support/http.ts';
import { connectV2 } from '../support/mcp-clients.ts';

/** The gateway's JSON log lines for requests to `path`. */
function requestLines(gateway: GatewayProcess, path: string): Array<Record<string, unknown>> {
  return gateway
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line['msg'] === 'request completed' && (line['req'] as { url?: string } | undefined)?.url === path);
}

describe('request log lines', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let seeded: Awaited<ReturnType<typeof seedTenant>>;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { LOG_LEVEL: 'info' } });
    seeded = await seedTenant(dataDir, 'acme');
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('name the tenant and the actor of an authenticated request, never its credential', async () => {
    const client = await connectV2(`${gateway.url}/t/acme/mcp`, seeded.key.secret);
    await client.listToolNames();
    await client.close();
    const me = await fetch(`${gateway.url}/api/v1/me`, { headers: { authorization: `Bearer ${seeded.key.secret}` } });
    expect(me.status).toBe(200);

    await pollUntil('the request lines', async () => (requestLines(gateway, '/api/v1/me').length > 0 ? true : undefined));
    for (const path of ['/t/acme/mcp', '/api/v1/me']) {
      const [line] = requestLines(gateway, path);
      expect(line).toMatchObject({ tenantId: seeded.tenant.id, actor: { type: 'api_key', id: seeded.key.id } });
    }
    expect(gateway.output()).not.toContain(seeded.key.secret);
  });

  it('name no tenant for a request that was refused before authentication', async () => {
    const refused = await fetch(`${gateway.url}/t/acme/mcp`, { method: 'POST', headers: { authorization: 'Bearer bgk_not-a-key' } });
    expect(refused.status).toBe(401);
    const refusedLine = () => requestLines(gateway, '/t/acme/mcp').find((line) => (line['res'] as { statusCode?: number } | undefined)?.statusCode === 401);
    await pollUntil('the refused request line', async () => refusedLine());
    expect(refusedLine()).not.toHaveProperty('tenantId');
  });
});
