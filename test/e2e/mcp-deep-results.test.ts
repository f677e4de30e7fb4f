import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { FULL_CLIENTS } from '../support/mcp-full-clients.ts';

// An upstream whose result nests thousands of levels deep: serialized again
// as it is, it overflows the stack of the gateway or of the client.

const LEVELS = 6_000;
/** `{"content":[…],"structuredContent":{"a":[[[…]]]}}`, written out rather than stringified. */
const DEEP_RESULT = `{"content":[{"type":"text","text":"deep"}],"structuredContent":{"a":${'['.repeat(LEVELS)}${']'.repeat(LEVELS)}}}`;

/** A 2025-11-25 upstream over plain JSON answers, with a tool `deep` answering DEEP_RESULT and `fine` answering "ok". */
async function startDeepUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(req.method === 'DELETE' ? 200 : 405).end();
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const message = JSON.parse(body) as { id?: number | string; method: string; params?: { name?: string } };
      if (message.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      const answer = (result: string) =>
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'deep-session' }).end(`{"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":${result}}`);
      if (message.method === 'initialize') {
        answer(JSON.stringify({ protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'deep', version: '1.0.0' } }));
      } else if (message.method === 'tools/list') {
        answer(JSON.stringify({ tools: ['deep', 'fine'].map((name) => ({ name, description: `The ${name} tool.`, inputSchema: { type: 'object' } })) }));
      } else if (message.method === 'tools/call') {
        answer(message.params?.name === 'deep' ? DEEP_RESULT : JSON.stringify({ content: [{ type: 'text', text: 'ok' }] }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('a result nested too deeply to pass on', () => {
  let gateway: GatewayProcess;
  let upstream: Awaited<ReturnType<typeof startDeepUpstream>>;
  let dataDir: string;
  let key: string;

  beforeAll(async () => {
    upstream = await startDeepUpstream();
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } });
    key = (await seedTenant(dataDir, 'acme')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'deep', kind: 'remote', config: { url: upstream.url } });
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  for (const [era, connect] of FULL_CLIENTS) {
    it(`gives the ${era} client an error result naming the depth, and the server goes on working`, async () => {
      const client = await connect(`${gateway.url}/t/acme/mcp/servers/deep`, key);
      try {
        const result = await client.callTool('deep', {});
        expect(result.isError).toBe(true);
        expect(result.content).toEqual([{ type: 'text', text: 'The tool deep returned a result nested more than 512 levels deep, which the gateway does not pass on.' }]);
        expect(await client.callTool('fine', {})).toMatchObject({ content: [{ type: 'text', text: 'ok' }] });
      } finally {
        await client.close();
      }
    });
  }

  it('audits the call as a tool error', async () => {
    const deepCalls = await pollUntil('the deep calls audited', async () => {
      const { body } = await apiClient(gateway.url, key).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100');
      const found = body.events.filter((event) => (event.after as { tool?: string } | null)?.tool === 'deep');
      return found.length >= FULL_CLIENTS.length ? found : undefined;
    });
    for (const event of deepCalls) expect(event.after).toMatchObject({ outcome: 'tool_error' });
  });
});
