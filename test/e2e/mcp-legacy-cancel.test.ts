import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingMcpServer, type RecordingMcpServer } from '../fakes/recording-mcp-server.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { startRecordedGateway, type RecordedGateway } from '../support/recorded-gateway.ts';

const LEGACY = '2025-11-25';

/** A 2025-era POST of `message`, as such a client sends it without a session; resolves to the answer's text, rejects when cut off. */
async function postLegacy(
  url: string,
  key: string,
  message: Record<string, unknown>,
  options: { chunked?: boolean; session?: string } = {},
): Promise<{ status: number; text: string; session: string | null }> {
  const body = JSON.stringify({ jsonrpc: '2.0', ...message });
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': LEGACY,
      ...(options.session !== undefined && { 'mcp-session-id': options.session }),
    },
    ...(options.chunked ? { body: new Blob([body]).stream(), duplex: 'half' } : { body }),
  });
  return { status: response.status, text: await response.text(), session: response.headers.get('mcp-session-id') };
}

/** The message of the error a request ends with once its answer is cut off; handled at once, since it may come before it is awaited. */
const cutOff = (answer: Promise<unknown>): Promise<string> =>
  answer.then(
    (value) => `answered: ${JSON.stringify(value)}`,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );

const callCount = (id: string, to: number) => ({ id, method: 'tools/call', params: { name: 'count', arguments: { to } } });
const cancel = (requestId: string | number) => ({ method: 'notifications/cancelled', params: { requestId, reason: 'not needed' } });
const toolCalls = (upstream: RecordingMcpServer) => upstream.requests.filter((r) => r.rpcMethod === 'tools/call').length;

/** Waits until the upstream has received one more tool call than `before`. */
function upstreamReceived(upstream: RecordingMcpServer, before: number) {
  return pollUntil('the upstream to receive the call', async () => (toolCalls(upstream) > before ? true : undefined));
}

async function connectV1(url: string, key: string): Promise<V1Client> {
  const client = new V1Client({ name: 'legacy-cancel', version: '1.0.0' });
  await client.connect(new V1Transport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

describe('a 2025-era client cancelling a request (notifications/cancelled)', () => {
  let setup: RecordedGateway | undefined;
  let gateway: GatewayProcess;
  let upstream: RecordingMcpServer;
  let key: string;
  let otherKey: string;

  beforeAll(async () => {
    setup = await startRecordedGateway();
    ({ gateway, upstream, key } = setup);
    otherKey = (await operatorCommand<{ key: { secret: string } }>(setup.dataDir, 'key.create', { tenant: 'acme', name: 'other', scopes: ['mcp'] })).key.secret;
  });
  afterAll(() => setup?.stop());

  for (const { endpoint, tool } of [
    { endpoint: '/t/acme/mcp/servers/rec', tool: 'hang' },
    { endpoint: '/t/acme/mcp', tool: 'rec__hang' },
  ]) {
    it(`reaches the upstream through ${endpoint}, is audited as cancelled, and the client goes on`, async () => {
      const client = await connectV1(`${gateway.url}${endpoint}`, key);
      try {
        expect(client.getServerVersion()).toBeDefined();
        const api = apiClient(gateway.url, key);
        const hangEvents = async () => {
          const { body } = await api.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100');
          return body.events.filter((event) => (event.after as { tool?: unknown } | null)?.tool === 'hang');
        };
        const audited = (await hangEvents()).length;
        const cancelled = upstream.cancellations;
        const before = toolCalls(upstream);
        const controller = new AbortController();
        const call = client.callTool({ name: tool, arguments: {} }, undefined, { signal: controller.signal });
        await upstreamReceived(upstream, before);
        controller.abort('the user pressed Escape');
        await expect(call).rejects.toThrow(/Escape/);
        await pollUntil('the upstream to see the cancellation', async () => (upstream.cancellations > cancelled ? true : undefined));
        expect(upstream.cancellations).toBe(cancelled + 1);

        const next = await client.callTool({ name: tool.replace('hang', 'echo'), arguments: { message: 'still here' } });
        expect(next.content).toEqual([{ type: 'text', text: 'echo: still here' }]);

        // Newest first.
        const events = await pollUntil('the cancelled call to be audited', async () => {
          const hang = await hangEvents();
          return hang.length > audited ? hang : undefined;
        });
        expect(events[0]?.after).toMatchObject({ server: 'rec', tool: 'hang', outcome: 'cancelled' });
      } finally {
        await client.close();
      }
    });
  }

  it('names each connection on its initialize answer, so that of two clients sharing a key, at the same request id, only the one that cancels is cancelled', async () => {
    const url = `${gateway.url}/t/acme/mcp/servers/rec`;
    const [first, second] = [await connectV1(url, key), await connectV1(url, key)];
    try {
      expect(first.transport?.sessionId).toMatch(/^[\w-]{16,}$/);
      expect(second.transport?.sessionId).toMatch(/^[\w-]{16,}$/);
      expect(first.transport?.sessionId).not.toBe(second.transport?.sessionId);
      const before = toolCalls(upstream);
      const cancelled = upstream.cancellations;
      // Each client's first request after initialize carries the same id.
      const controller = new AbortController();
      const hang = first.callTool({ name: 'hang', arguments: {} }, undefined, { signal: controller.signal }).catch((error: unknown) => error);
      const count = second.callTool({ name: 'count', arguments: { to: 60 } });
      await pollUntil('the upstream to receive both calls', async () => (toolCalls(upstream) >= before + 2 ? true : undefined));
      controller.abort('not this one');
      await pollUntil('the upstream to see the cancellation', async () => (upstream.cancellations > cancelled ? true : undefined));
      expect((await count).content).toEqual([{ type: 'text', text: 'counted to 60' }]);
      expect(upstream.cancellations).toBe(cancelled + 1);
      expect(await hang).toBeInstanceOf(Error);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('leaves the request running when the cancellation comes with another key, to another endpoint, or names another id', async () => {
    const before = toolCalls(upstream);
    const cancelled = upstream.cancellations;
    let settled = false;
    const call = postLegacy(`${gateway.url}/t/acme/mcp/servers/rec`, key, callCount('call-1', 60)).finally(() => (settled = true));
    await upstreamReceived(upstream, before);
    const refused = [
      await postLegacy(`${gateway.url}/t/acme/mcp/servers/rec`, otherKey, cancel('call-1')),
      await postLegacy(`${gateway.url}/t/acme/mcp`, key, cancel('call-1')),
      await postLegacy(`${gateway.url}/t/acme/mcp/servers/rec`, key, cancel('call-2')),
      // The same id as a number is another id.
      await postLegacy(`${gateway.url}/t/acme/mcp/servers/rec`, key, { method: 'notifications/cancelled', params: { requestId: 1 } }),
    ];
    expect(refused.map((answer) => answer.status)).toEqual([202, 202, 202, 202]);
    // Still running once they were answered: they came while it could be cancelled.
    expect(settled).toBe(false);
    const answer = await call;
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('counted to 60');
    expect(upstream.cancellations).toBe(cancelled);
  });

  it('answers and cancels a call sent without a stated length (chunked) as one with it', async () => {
    const url = `${gateway.url}/t/acme/mcp`;
    const answered = await postLegacy(url, key, { id: 'chunked', method: 'tools/call', params: { name: 'rec__echo', arguments: { message: 'in chunks' } } }, { chunked: true });
    expect(answered.status).toBe(200);
    expect(answered.text).toContain('echo: in chunks');

    const before = toolCalls(upstream);
    const cancelled = upstream.cancellations;
    const call = cutOff(postLegacy(url, key, { id: 'chunked-hang', method: 'tools/call', params: { name: 'rec__hang', arguments: {} } }, { chunked: true }));
    await upstreamReceived(upstream, before);
    expect((await postLegacy(url, key, cancel('chunked-hang'), { chunked: true })).status).toBe(202);
    expect(await call).toMatch(/terminated|fetch failed|other side closed/);
    await pollUntil('the upstream to see the cancellation', async () => (upstream.cancellations > cancelled ? true : undefined));
  });

  it('cancels neither of two requests of one key and no session that carry the same id, since it cannot tell which one was meant', async () => {
    const before = toolCalls(upstream);
    const cancelled = upstream.cancellations;
    const url = `${gateway.url}/t/acme/mcp/servers/rec`;
    let settled = 0;
    const calls = [postLegacy(url, key, callCount('same', 60)), postLegacy(url, key, callCount('same', 60))].map((call) => call.finally(() => (settled += 1)));
    await pollUntil('the upstream to receive both calls', async () => (toolCalls(upstream) >= before + 2 ? true : undefined));
    expect((await postLegacy(url, key, cancel('same'))).status).toBe(202);
    expect(settled).toBe(0);
    const answers = await Promise.all(calls);
    expect(answers.map((answer) => answer.text.includes('counted to 60'))).toEqual([true, true]);
    expect(upstream.cancellations).toBe(cancelled);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('a 2025-era cancellation sent to another gateway replica', () => {
  let database: Awaited<ReturnType<typeof createThrowawayPostgres>> | undefined;
  const gateways: GatewayProcess[] = [];
  const dataDirs: string[] = [];
  let upstream: RecordingMcpServer | undefined;
  let key: string;

  beforeAll(async () => {
    database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    upstream = await startRecordingMcpServer();
    const env = { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8', BOTGATE_SECRET_KEY: randomBytes(32).toString('hex') };
    // One after the other: the first migrates the database.
    for (let i = 0; i < 2; i += 1) dataDirs.push(await makeDataDir());
    for (const dataDir of dataDirs) gateways.push(await startGateway({ dataDir, databaseUrl: database.url, env }));
    key = (await seedTenant(dataDirs[0] ?? '', 'acme')).key.secret;
    await operatorCommand(dataDirs[0] ?? '', 'server.create', { tenant: 'acme', slug: 'rec', kind: 'remote', config: { url: upstream.url } });
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await upstream?.close();
    await database?.drop();
    await Promise.all(dataDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  it('cancels the request on the replica serving it', async () => {
    const [serving, other] = gateways;
    if (!serving || !other || !upstream) throw new Error('setup: two replicas and an upstream');
    const before = toolCalls(upstream);
    const call = cutOff(postLegacy(`${serving.url}/t/acme/mcp/servers/rec`, key, { id: 42, method: 'tools/call', params: { name: 'hang', arguments: {} } }));
    await upstreamReceived(upstream, before);
    expect((await postLegacy(`${other.url}/t/acme/mcp/servers/rec`, key, cancel(42))).status).toBe(202);
    expect(await call).toMatch(/terminated|fetch failed|other side closed/);
    await pollUntil('the upstream to see the cancellation', async () => (upstream?.cancellations === 1 ? true : undefined));
  });

  it('cancels only the request of the connection that cancels, though the cancellation reaches the replica serving another connection’s request of the same key and id', async () => {
    const [one, two] = gateways;
    if (!one || !two || !upstream) throw new Error('setup: two replicas and an upstream');
    const rec = upstream;
    const initialize = { id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } } };
    const sessionOn = async (node: GatewayProcess) => (await postLegacy(`${node.url}/t/acme/mcp/servers/rec`, key, initialize)).session ?? '';
    const [first, second] = [await sessionOn(one), await sessionOn(two)];
    expect(first).not.toBe(second);
    const before = toolCalls(rec);
    const cancelled = rec.cancellations;
    const hang = cutOff(postLegacy(`${one.url}/t/acme/mcp/servers/rec`, key, { id: 1, method: 'tools/call', params: { name: 'hang', arguments: {} } }, { session: first }));
    const count = postLegacy(`${two.url}/t/acme/mcp/servers/rec`, key, { id: 1, method: 'tools/call', params: { name: 'count', arguments: { to: 60 } } }, { session: second });
    await pollUntil('the upstream to receive both calls', async () => (toolCalls(rec) >= before + 2 ? true : undefined));
    expect((await postLegacy(`${two.url}/t/acme/mcp/servers/rec`, key, cancel(1), { session: first })).status).toBe(202);
    expect(await hang).toMatch(/terminated|fetch failed|other side closed/);
    expect((await count).text).toContain('counted to 60');
    expect(rec.cancellations).toBe(cancelled + 1);
  });
});
