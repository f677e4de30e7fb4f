import type { ChildProcess } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import { createRemoteSource, type RemoteSource } from '../../src/servers/remote/index.ts';
import { UPSTREAM_ASKABLE } from '../../src/servers/remote/upstream-connection.ts';
import { freePort, startEverything, stopEverything } from '../support/everything-server.ts';
import { quietContext } from '../support/remote-source.ts';
import { unavailableResult } from '../../src/servers/index.ts';
import { resultOf } from '../support/tool-outcome.ts';

// Dynamic resources carry the time they were made; compare everything else.
const stripTimes = (text: string) => text.replace(/created at [^"\\]+/g, 'created at <time>');

/** server-everything stamps its dynamic resources with the time, in text and inside base64 blobs alike. */
function withoutTimes<T>(value: T): T {
  return JSON.parse(stripTimes(JSON.stringify(value)), (key, v: unknown) =>
    key === 'blob' && typeof v === 'string' ? stripTimes(Buffer.from(v, 'base64').toString('utf8')) : v,
  ) as T;
}

describe('remote source proxying server-everything over Streamable HTTP', () => {
  let port: number;
  let url: string;
  let upstream: ChildProcess | undefined;
  let direct: Client;
  let remote: Required<Omit<RemoteSource, 'check'>>;
  const eraCache = new Map<string, unknown>();
  const signal = new AbortController().signal;

  beforeAll(async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}/mcp`;
    upstream = await startEverything(port);
    // Declaring what the gateway declares upstream on its clients' behalf, so the upstream offers it the same tools.
    direct = new Client({ name: 'direct', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities: UPSTREAM_ASKABLE });
    await direct.connect(new StreamableHTTPClientTransport(new URL(url)));
    remote = createRemoteSource({ url, outbound: createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] }), eraCache, timeoutMs: 2_000 });
  });

  afterAll(async () => {
    await remote?.close();
    await direct?.close();
    await stopEverything(upstream);
  });

  it('lists the tools a direct v2 client sees, and caches the legacy era verdict', async () => {
    const tools = await remote.listTools(signal);
    expect(tools).toEqual((await direct.listTools()).tools);
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'get-tiny-image', 'trigger-long-running-operation']));
    expect([...eraCache.values()]).toEqual([expect.objectContaining({ prior: { kind: 'legacy' } })]);
  });

  it('round-trips an echo call', async () => {
    expect(await remote.callTool('echo', { message: 'hello upstream' }, quietContext())).toEqual({
      content: [{ type: 'text', text: 'Echo: hello upstream' }],
    });
  });

  it('returns images, annotations, resource links, embedded resources and structured content unchanged', async () => {
    const image = resultOf(await remote.callTool('get-tiny-image', {}, quietContext()));
    expect(image.content[1]).toEqual({ type: 'image', data: expect.stringMatching(/^iVBORw0KGgo/), mimeType: 'image/png' });

    const calls: Array<[string, Record<string, unknown>]> = [
      ['get-tiny-image', {}],
      ['get-annotated-message', { messageType: 'error', includeImage: true }],
      ['get-resource-links', { count: 3 }],
      ['get-resource-reference', { resourceType: 'Blob', resourceId: 2 }],
      ['get-structured-content', { location: 'Chicago' }],
    ];
    for (const [name, args] of calls) {
      const proxied = await remote.callTool(name, args, quietContext());
      expect({ name, result: withoutTimes(proxied) }).toEqual({
        name,
        result: withoutTimes(await direct.callTool({ name, arguments: args })),
      });
    }
  });

  it('relays the upstream’s progress notifications', async () => {
    const progress: Array<[number, number | undefined]> = [];
    const result = await remote.callTool('trigger-long-running-operation', { duration: 0.6, steps: 3 }, {
      signal,
      progress: async (value, total) => void progress.push([value, total]),
    });
    expect(result.isError).toBeUndefined();
    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('settles a call whose caller goes away, and keeps working afterwards', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const call = remote.callTool('trigger-long-running-operation', { duration: 10, steps: 10 }, {
      signal: controller.signal,
      progress: async () => controller.abort(),
    });
    const result = await call;
    expect(result).toEqual({ content: [{ type: 'text', text: expect.stringMatching(/was cancelled/) }], isError: true });
    expect(Date.now() - started).toBeLessThan(5_000);

    expect(await remote.callTool('echo', { message: 'still here' }, quietContext())).toEqual({
      content: [{ type: 'text', text: 'Echo: still here' }],
    });
  });

  it('proxies resources, templates, prompts and completions as a direct client sees them', async () => {
    const resources = await remote.listResources(signal);
    expect(resources).toEqual((await direct.listResources()).resources);
    expect(await remote.listResourceTemplates(signal)).toEqual((await direct.listResourceTemplates()).resourceTemplates);
    const uri = resources[0]?.uri ?? '';
    expect(uri).not.toBe('');
    expect(await remote.readResource(uri, signal)).toEqual(await direct.readResource({ uri }));

    expect(await remote.listPrompts(signal)).toEqual((await direct.listPrompts()).prompts);
    expect(await remote.getPrompt('args-prompt', { city: 'Paris', state: 'IDF' }, signal)).toEqual(
      await direct.getPrompt({ name: 'args-prompt', arguments: { city: 'Paris', state: 'IDF' } }),
    );

    const completion = { ref: { type: 'ref/prompt' as const, name: 'completable-prompt' }, argument: { name: 'department', value: 'S' } };
    const completed = await remote.complete(completion, signal);
    expect(completed).toEqual(await direct.complete(completion));
    expect(completed.completion.values).toEqual(['Sales', 'Support']);
  });

  it('reports a dead upstream as a tool error, and recovers when it comes back on the same port', async () => {
    await stopEverything(upstream);

    const result = await remote.callTool('echo', { message: 'anyone?' }, quietContext());
    expect(result).toEqual(unavailableResult(expect.stringMatching(/^upstream 127\.0\.0\.1:\d+ unavailable: /) as unknown as string));
    await expect(remote.listTools(signal)).rejects.toThrow(/^upstream 127\.0\.0\.1:\d+ unavailable: /);

    upstream = await startEverything(port);
    expect(await remote.callTool('echo', { message: 'welcome back' }, quietContext())).toEqual({
      content: [{ type: 'text', text: 'Echo: welcome back' }],
    });
  });

  it('reconnects transparently when the upstream restarted between calls and forgot the session', async () => {
    await stopEverything(upstream);
    upstream = await startEverything(port);
    expect(await remote.callTool('echo', { message: 'new session' }, quietContext())).toEqual({
      content: [{ type: 'text', text: 'Echo: new session' }],
    });
    expect((await remote.listTools(signal)).length).toBeGreaterThan(0);
  });
});
