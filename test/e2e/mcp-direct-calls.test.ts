import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordingMcpServer } from '../fakes/recording-mcp-server.ts';
import { CALLS_ANSWERED_ALIKE, startDirectCallsGateway, type DirectCallsGateway } from '../support/direct-calls.ts';
import { pollUntil, type GatewayProcess } from '../support/gateway-process.ts';
import { postToolCall } from '../support/raw-tool-call.ts';

describe('2026-07-28 tool calls answered directly (without the SDK per-request server)', () => {
  let setup: DirectCallsGateway | undefined;
  let gateway: GatewayProcess;
  let upstream: RecordingMcpServer;
  let dataDir: string;
  let key: string;
  let readerKey: string;

  beforeAll(async () => {
    setup = await startDirectCallsGateway();
    ({ gateway, upstream, dataDir, key, readerKey } = setup);
  });

  afterAll(() => setup?.stop());

  for (const c of CALLS_ANSWERED_ALIKE) {
    it(`answers ${c.what} exactly as the SDK path does, with and without progress`, async () => {
      const call = { url: `${gateway.url}${c.endpoint}`, key: c.reader ? readerKey : key, name: c.name, ...(c.args && { args: c.args }) };
      const direct = await postToolCall(call);
      const viaSdk = await postToolCall({ ...call, chunked: true });
      expect(direct.json).toEqual(viaSdk.json);
      expect(direct.status).toBe(viaSdk.status);
      expect(direct.status).toBe(200);
      expect(direct.contentType).toBe('application/json');

      const withProgress = await postToolCall({ ...call, progress: true });
      const withProgressViaSdk = await postToolCall({ ...call, progress: true, chunked: true });
      expect(withProgress.messages).toEqual(withProgressViaSdk.messages);
      expect([withProgress.status, withProgress.contentType]).toEqual([withProgressViaSdk.status, withProgressViaSdk.contentType]);
    });
  }

  it('streams progress before the result as the SDK path does, each notification as it comes', async () => {
    const call = { url: `${gateway.url}/t/acme/mcp/servers/rec`, key, name: 'count', args: { to: 3 }, progress: true };
    const direct = await postToolCall(call);
    expect(direct.contentType).toBe('text/event-stream');
    expect(direct.messages.slice(0, -1)).toEqual(
      [1, 2, 3].map((progress) => ({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'progress-1', progress, total: 3 } })),
    );
    expect(direct.json).toMatchObject({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'counted to 3' }], structuredContent: { counted: 3 } } });
    expect(direct.messages).toEqual((await postToolCall({ ...call, chunked: true })).messages);
  });

  it('leaves a request whose Mcp-Name header disagrees with its body to the SDK, which refuses it; nothing runs', async () => {
    const answer = await postToolCall({
      url: `${gateway.url}/t/acme/mcp/servers/files`,
      key,
      name: 'write_file',
      args: { path: 'smuggled.txt', content: 'x' },
      headers: { 'mcp-name': 'read_file' },
    });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32020, message: expect.stringMatching(/Mcp-Name/) } });
    await expect(fs.stat(path.join(dataDir, 'files', 'acme', 'files', 'smuggled.txt'))).rejects.toThrow(/ENOENT/);
  });

  it('leaves a body that is not JSON to the SDK, which answers a parse error', async () => {
    const answer = await postToolCall({ url: `${gateway.url}/t/acme/mcp/servers/files`, key, name: 'read_file', body: '{"jsonrpc": "2.0", "id": 7,' });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
  });

  it('gives up on an upstream call after the server’s configured timeout, and tells the upstream', async () => {
    const before = upstream.cancellations;
    const answer = await postToolCall({ url: `${gateway.url}/t/acme/mcp/servers/impatient`, key, name: 'hang' });
    expect(answer.json).toMatchObject({
      result: { content: [{ type: 'text', text: expect.stringMatching(/^upstream 127\.0\.0\.1:\d+ unavailable: no answer within 1000 ms$/) }], isError: true },
    });
    await pollUntil('the upstream to see the cancellation', async () => (upstream.cancellations > before ? true : undefined));
  });

  it('cancels the upstream call when the client closes its request', async () => {
    const controller = new AbortController();
    const cancelledBefore = upstream.cancellations;
    const before = upstream.requests.filter((r) => r.rpcMethod === 'tools/call').length;
    const call = postToolCall({ url: `${gateway.url}/t/acme/mcp/servers/rec`, key, name: 'hang', signal: controller.signal });
    await pollUntil('the upstream to receive the call', async () => (upstream.requests.filter((r) => r.rpcMethod === 'tools/call').length > before ? true : undefined));
    controller.abort();
    await expect(call).rejects.toThrow(/abort/i);
    await pollUntil('the upstream to see the cancellation', async () => (upstream.cancellations === cancelledBefore + 1 ? true : undefined));
  });
});
