import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import { createRemoteSource, UpstreamError } from '../../src/servers/remote/index.ts';
import { unavailableResult } from '../../src/servers/index.ts';
import { startRecordingMcpServer, WAV_BASE64, type RecordingMcpServer } from '../fakes/recording-mcp-server.ts';
import { pollUntil, quietContext, TRANSPORT_HEADERS } from '../support/remote-source.ts';

const LOOPBACK = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });

describe('remote source against a recording upstream (2026-07-28 era)', () => {
  let upstream: RecordingMcpServer;
  const sources: Array<{ close(): Promise<void> }> = [];

  function source(options: Partial<Parameters<typeof createRemoteSource>[0]> = {}) {
    const created = createRemoteSource({ url: upstream.url, outbound: LOOPBACK, ...options });
    sources.push(created);
    return created;
  }

  beforeAll(async () => {
    upstream = await startRecordingMcpServer();
  });

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.close()));
    upstream.requests.length = 0;
  });

  afterAll(async () => {
    await upstream.close();
  });

  it('sends exactly the configured token and headers, on every request, and nothing else', async () => {
    const remote = source({
      token: 'upstream-token-1',
      headers: { 'X-Tenant': 'acme' },
      secretHeaders: { 'X-Api-Key': 'secret-key' },
    });
    await remote.listTools(new AbortController().signal);
    expect(await remote.callTool('echo', { message: 'hi' }, quietContext())).toEqual({
      content: [{ type: 'text', text: 'echo: hi' }],
    });

    expect(upstream.requests.length).toBeGreaterThanOrEqual(3);
    for (const { headers } of upstream.requests) {
      expect(headers['authorization']).toBe('Bearer upstream-token-1');
      expect(headers['x-tenant']).toBe('acme');
      expect(headers['x-api-key']).toBe('secret-key');
      const extra = Object.keys(headers).filter((name) => !TRANSPORT_HEADERS.has(name));
      expect(extra.sort()).toEqual(['authorization', 'x-api-key', 'x-tenant']);
    }
  });

  it('sends no Authorization header at all when no token is configured', async () => {
    const remote = source();
    await remote.callTool('echo', { message: 'hi' }, quietContext());
    expect(upstream.requests.length).toBeGreaterThan(0);
    for (const { headers } of upstream.requests) expect(headers['authorization']).toBeUndefined();
  });

  it('keeps protocol headers under the transport’s control', async () => {
    const remote = source({ headers: { 'Mcp-Protocol-Version': '1999-01-01', 'Content-Type': 'text/plain' } });
    expect((await remote.callTool('echo', { message: 'hi' }, quietContext())).isError).toBeUndefined();
    for (const { headers } of upstream.requests) {
      expect(headers['mcp-protocol-version']).not.toBe('1999-01-01');
      expect(headers['content-type']).not.toBe('text/plain');
    }
  });

  it('refuses a loopback upstream without the allow-list, before sending anything', async () => {
    const remote = source({ outbound: createOutboundGuard({ allowPrivateNetworks: [] }), token: 'upstream-token-1' });

    const listing = remote.listTools(new AbortController().signal);
    await expect(listing).rejects.toBeInstanceOf(UpstreamError);
    await expect(listing).rejects.toThrow(/^upstream 127\.0\.0\.1:\d+ is not allowed: .*private or reserved address/);
    const result = await remote.callTool('echo', { message: 'hi' }, quietContext());
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([{ type: 'text', text: expect.stringMatching(/is not allowed: .*private or reserved/) }]);
    await expect(remote.listResources(new AbortController().signal)).rejects.toThrow(/is not allowed/);

    expect(upstream.requests).toEqual([]);
  });

  it('negotiates the modern era once and reuses the verdict on reconnects', async () => {
    const eraCache = new Map<string, unknown>();
    await source({ eraCache, token: 't' }).listTools(new AbortController().signal);
    expect(upstream.requests[0]?.rpcMethod).toBe('server/discover');
    expect([...eraCache.values()]).toEqual([expect.objectContaining({ prior: expect.objectContaining({ kind: 'modern' }) })]);

    upstream.requests.length = 0;
    const second = source({ eraCache, token: 't' });
    expect((await second.listTools(new AbortController().signal)).map((tool) => tool.name)).toContain('echo');
    expect(upstream.requests.map((request) => request.rpcMethod)).toEqual(['tools/list']);

    // Another authorization context does not reuse it.
    upstream.requests.length = 0;
    await source({ eraCache, token: 'other' }).listTools(new AbortController().signal);
    expect(upstream.requests[0]?.rpcMethod).toBe('server/discover');
  });

  it('relays progress and returns structured content unchanged', async () => {
    const progress: Array<[number, number | undefined]> = [];
    const result = await source().callTool('count', { to: 3 }, {
      signal: new AbortController().signal,
      progress: async (value, total) => void progress.push([value, total]),
    });
    expect(result).toEqual({ content: [{ type: 'text', text: 'counted to 3' }], structuredContent: { counted: 3 } });
    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('returns an upstream tool error with audio content unchanged', async () => {
    expect(await source().callTool('report-failure', {}, quietContext())).toEqual({
      content: [
        { type: 'text', text: 'the recording is corrupt' },
        { type: 'audio', data: WAV_BASE64, mimeType: 'audio/wav' },
      ],
      isError: true,
    });
  });

  it('aborts the upstream request when the caller goes away, and keeps working', async () => {
    const remote = source();
    const controller = new AbortController();
    const call = remote.callTool('hang', {}, quietContext(controller.signal));
    await pollUntil(() => upstream.requests.some((request) => request.rpcMethod === 'tools/call'));
    controller.abort();
    expect(await call).toEqual({ content: [{ type: 'text', text: expect.stringMatching(/was cancelled/) }], isError: true });
    await pollUntil(() => upstream.cancellations === 1);
    expect((await remote.callTool('echo', { message: 'next' }, quietContext())).content).toEqual([
      { type: 'text', text: 'echo: next' },
    ]);
  });

  it('shares one connection between concurrent first calls', async () => {
    const remote = source();
    await Promise.all([remote.listTools(new AbortController().signal), remote.callTool('echo', { message: 'a' }, quietContext())]);
    expect(upstream.requests.filter((request) => request.rpcMethod === 'server/discover')).toHaveLength(1);
  });

  it('gives up connecting to an upstream that accepts but never answers after connectTimeoutMs', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const remote = source({ url: `http://127.0.0.1:${port}/mcp`, connectTimeoutMs: 300 });
      await expect(remote.listTools(new AbortController().signal)).rejects.toThrow(
        `upstream 127.0.0.1:${port} unavailable: no answer within 300 ms while connecting`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('gives up on a silent upstream after timeoutMs, cancelling the call there, and serves the next call on the same connection', async () => {
    const remote = source({ timeoutMs: 300 });
    const cancelledBefore = upstream.cancellations;
    const result = await remote.callTool('hang', {}, quietContext());
    expect(result).toEqual(unavailableResult(expect.stringMatching(/^upstream 127\.0\.0\.1:\d+ unavailable: no answer within 300 ms$/) as unknown as string));
    await pollUntil(() => upstream.cancellations === cancelledBefore + 1);
    expect(await remote.callTool('echo', { message: 'again' }, quietContext())).toEqual({
      content: [{ type: 'text', text: 'echo: again' }],
    });
    expect(upstream.requests.filter((request) => request.rpcMethod === 'server/discover')).toHaveLength(1);
  });
});
