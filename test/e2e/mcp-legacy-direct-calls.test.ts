import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordingMcpServer } from '../fakes/recording-mcp-server.ts';
import { CALLS_ANSWERED_ALIKE, startDirectCallsGateway, type DirectCallsGateway } from '../support/direct-calls.ts';
import { pollUntil, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, type AuditEventJson } from '../support/http.ts';
import { connectV1 } from '../support/mcp-clients.ts';
import { postLegacyToolCall } from '../support/raw-tool-call.ts';

describe('2025-era tool calls answered directly (without the SDK per-request server and transport)', () => {
  let setup: DirectCallsGateway | undefined;
  let gateway: GatewayProcess;
  let upstream: RecordingMcpServer;
  let key: string;
  let readerKey: string;
  let filesDir: string;

  beforeAll(async () => {
    setup = await startDirectCallsGateway();
    ({ gateway, upstream, key, readerKey, filesDir } = setup);
  });

  afterAll(() => setup?.stop());

  for (const c of CALLS_ANSWERED_ALIKE) {
    it(`answers ${c.what} with the message the SDK path sends, with and without progress`, async () => {
      const call = { url: `${gateway.url}${c.endpoint}`, key: c.reader ? readerKey : key, name: c.name, ...(c.args && { args: c.args }) };
      const direct = await postLegacyToolCall(call);
      const viaSdk = await postLegacyToolCall({ ...call, chunked: true });
      expect(direct.json).toEqual(viaSdk.json);
      expect([direct.status, viaSdk.status]).toEqual([200, 200]);
      // The SDK's 2025-era path opens an event stream for every answer; the direct one sends a JSON body, as the revision allows.
      expect(viaSdk.contentType).toBe('text/event-stream');
      expect(direct.contentType).toBe('application/json');

      const withProgress = await postLegacyToolCall({ ...call, progress: true });
      const withProgressViaSdk = await postLegacyToolCall({ ...call, progress: true, chunked: true });
      expect(withProgress.messages).toEqual(withProgressViaSdk.messages);
    });
  }

  it('refuses a result the 2025 revision cannot carry (structured content that is not an object), as the SDK path does', async () => {
    const call = { url: `${gateway.url}/t/acme/mcp/servers/rec`, key, name: 'list-numbers' };
    const direct = await postLegacyToolCall(call);
    const viaSdk = await postLegacyToolCall({ ...call, chunked: true });
    expect(viaSdk.json).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32602, message: expect.stringMatching(/^Invalid tools\/call result/) } });
    expect(direct.json).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32602, message: expect.stringMatching(/^Invalid tools\/call result: structuredContent must be an object/) } });
  });

  it('streams progress before the result, each notification as it comes', async () => {
    const call = { url: `${gateway.url}/t/acme/mcp/servers/rec`, key, name: 'count', args: { to: 3 }, progress: true };
    const direct = await postLegacyToolCall(call);
    expect(direct.contentType).toBe('text/event-stream');
    expect(direct.messages.slice(0, -1)).toEqual(
      [1, 2, 3].map((progress) => ({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'progress-1', progress, total: 3 } })),
    );
    expect(direct.json).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'counted to 3' }], structuredContent: { counted: 3 } } });
  });

  // Each is refused or answered by the SDK as the protocol requires; a write that would have run directly does not.
  const leftToSdk: Array<{ what: string; headers?: Record<string, string>; params?: Record<string, unknown>; status: number; error?: RegExp }> = [
    { what: 'a client that does not take event streams', headers: { accept: 'application/json' }, status: 406, error: /Not Acceptable/ },
    { what: 'an unsupported revision', headers: { 'mcp-protocol-version': '2024-01-01' }, status: 400, error: /Unsupported protocol version/ },
  ];
  for (const c of leftToSdk) {
    it(`leaves ${c.what} to the SDK, which refuses it; nothing runs`, async () => {
      const answer = await postLegacyToolCall({
        url: `${gateway.url}/t/acme/mcp/servers/files`,
        key,
        name: 'write_file',
        args: { path: 'smuggled.txt', content: 'x' },
        ...(c.headers && { headers: c.headers }),
      });
      expect(answer.status).toBe(c.status);
      expect(answer.json).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringMatching(c.error!) } });
      await expect(fs.stat(path.join(filesDir, 'smuggled.txt'))).rejects.toThrow(/ENOENT/);
    });
  }

  it('leaves a call with params it does not know (a task) to the SDK, which serves it in an event stream', async () => {
    const answer = await postLegacyToolCall({ url: `${gateway.url}/t/acme/mcp/servers/files`, key, name: 'read_file', args: { path: 'note.txt' }, params: { task: { ttl: 1000 } } });
    expect(answer.contentType).toBe('text/event-stream');
    expect(answer.json).toMatchObject({ jsonrpc: '2.0', id: 7 });
  });

  it('leaves a body that is not JSON to the SDK, which answers a parse error', async () => {
    const answer = await postLegacyToolCall({ url: `${gateway.url}/t/acme/mcp/servers/files`, key, name: 'read_file', body: '{"jsonrpc": "2.0", "id": 7,' });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
  });

  it('gives up on an upstream call after the server’s configured timeout, and tells the upstream', async () => {
    const before = upstream.cancellations;
    const answer = await postLegacyToolCall({ url: `${gateway.url}/t/acme/mcp/servers/impatient`, key, name: 'hang' });
    expect(answer.json).toMatchObject({
      result: { content: [{ type: 'text', text: expect.stringMatching(/^upstream 127\.0\.0\.1:\d+ unavailable: no answer within 1000 ms$/) }], isError: true },
    });
    await pollUntil('the upstream to see the cancellation', async () => (upstream.cancellations > before ? true : undefined));
  });

  it('audits each call a v1 client makes, as on every other path', async () => {
    const client = await connectV1(`${gateway.url}/t/acme/mcp`, key);
    try {
      const result = await client.callTool('files__write_file', { path: 'audited.txt', content: 'written by a 2025-era client' });
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    expect(await fs.readFile(path.join(filesDir, 'audited.txt'), 'utf8')).toBe('written by a 2025-era client');
    const api = apiClient(gateway.url, key);
    const event = await pollUntil('the call’s audit event', async () => {
      const { body } = await api.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100');
      return body.events.find((e) => (e.after as { tool?: string } | null)?.tool === 'write_file' && (e.after as { arguments?: { path?: string } }).arguments?.path === 'audited.txt');
    });
    expect(event.after).toMatchObject({ server: 'files', tool: 'write_file', outcome: 'ok' });
  });
});
