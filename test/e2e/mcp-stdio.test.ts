import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS } from '../support/mcp-clients.ts';
import { FULL_CLIENTS } from '../support/mcp-full-clients.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, seedTenant } from '../support/http.ts';

// server-everything speaks stdio when started with no argument.
const EVERYTHING = path.resolve(import.meta.dirname, '../../node_modules/@modelcontextprotocol/server-everything/dist/index.js');

describe('stdio servers over HTTP: only operator-listed commands, proxied to both client eras', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let key: string;
  const admin = () => apiClient(gateway.url, key);

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({
      dataDir,
      env: { BOTGATE_STDIO_COMMANDS: JSON.stringify({ everything: { command: process.execPath, args: [EVERYTHING] } }) },
    });
    key = (await seedTenant(dataDir, 'stdio-e2e')).key.secret;
    const created = await admin().post('/api/v1/servers', { json: { slug: 'ev', kind: 'stdio', config: { command: 'everything' } } });
    if (created.status !== 201) throw new Error(`setup: ${JSON.stringify(created.body)}`);
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  for (const [era, connect] of CLIENTS) {
    it(`lists and calls the command's tools for the ${era} client, on the server's endpoint and in the aggregate`, async () => {
      const single = await connect(`${gateway.url}/t/stdio-e2e/mcp/servers/ev`, key);
      expect(await single.listToolNames()).toEqual(expect.arrayContaining(['echo', 'get-sum']));
      expect(await single.callTool('echo', { message: `hello from ${era}` })).toMatchObject({
        content: [{ type: 'text', text: `Echo: hello from ${era}` }],
      });
      await single.close();

      const aggregate = await connect(`${gateway.url}/t/stdio-e2e/mcp`, key);
      expect(await aggregate.listToolNames()).toEqual(expect.arrayContaining(['ev__echo', 'ev__get-sum']));
      expect(await aggregate.callTool('ev__get-sum', { a: 2, b: 40 })).toMatchObject({ content: [{ type: 'text', text: expect.stringContaining('42') as unknown }] });
      await aggregate.close();
    });
  }

  for (const [era, connect] of FULL_CLIENTS) {
    it(`passes on the command's instructions to the ${era} client on the server's endpoint, and none in the aggregate`, async () => {
      const single = await connect(`${gateway.url}/t/stdio-e2e/mcp/servers/ev`, key);
      expect(single.instructions()).toMatch(/^# Everything Server/);
      await single.close();
      const aggregate = await connect(`${gateway.url}/t/stdio-e2e/mcp`, key);
      expect(aggregate.instructions()).toBeUndefined();
      await aggregate.close();
    });
  }

  it('pins the command’s tool definitions on first use', async () => {
    const pins = await admin().get<{ tools: Array<{ name: string; status: string }> }>('/api/v1/servers/ev/tools');
    expect(pins.status).toBe(200);
    expect(pins.body.tools.find((t) => t.name === 'echo')).toMatchObject({ status: 'pinned' });
  });

  it('refuses a command the operator did not list, and creates nothing', async () => {
    const before = (await admin().get<{ servers: unknown[] }>('/api/v1/servers')).body.servers;
    const refused = await admin().post('/api/v1/servers', { json: { slug: 'sh', kind: 'stdio', config: { command: 'bash' } } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('command');
    const absolute = await admin().post('/api/v1/servers', { json: { slug: 'sh', kind: 'stdio', config: { command: '/bin/sh' } } });
    expect(absolute.status).toBe(400);
    expect((await admin().get<{ servers: unknown[] }>('/api/v1/servers')).body.servers).toEqual(before);
  });
});
