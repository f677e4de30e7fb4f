import fs from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLegacyMcpServer, type LegacyMcpServer } from '../fakes/legacy-mcp-server.ts';
import { startLegacyResourceServer, startModernResourceServer, type WatchedResourceServer } from '../fakes/watched-resources.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, request, seedTenant, type KeyJson } from '../support/http.ts';
import { connectFullV1, connectFullV2 } from '../support/mcp-full-clients.ts';
import { openListener, type McpListener } from '../support/mcp-listener.ts';

/** Waits until `list` holds `item` `times` times (the gateway subscribes upstream in the background). */
const seen = (list: readonly string[], item: string, times = 1) =>
  pollUntil(`${times} × ${item}`, async () => (list.filter((x) => x === item).length >= times ? true : undefined));

describe('resource updates over subscriptions/listen, relayed from upstreams of both eras', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let modern: WatchedResourceServer;
  let legacy: Awaited<ReturnType<typeof startLegacyResourceServer>>;
  let otherModern: WatchedResourceServer;
  /** An upstream that offers no resource subscriptions. */
  let plain: LegacyMcpServer;
  const keys = {} as Record<'acme' | 'other' | 'onlyModern' | 'onlyTool', string>;
  const listeners: McpListener[] = [];

  const aggregate = (tenant: string) => `${gateway.url}/t/${tenant}/mcp`;

  /** The headers of a raw 2026-07-28 `subscriptions/listen` POST with acme's key. */
  const listenHeaders = () => ({
    authorization: `Bearer ${keys.acme}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'subscriptions/listen',
  });
  const listenBody = (params: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', id: 'listen:raw', method: 'subscriptions/listen', params });

  /**
   * Posts a listen body with node's client, chunked or with its length, and
   * reads the answer: the gateway may answer, and close, before the whole body is sent.
   */
  function postListenAnswer(params: Record<string, unknown>, chunked: boolean): Promise<{ status: number | undefined; body: unknown }> {
    const body = Buffer.from(listenBody(params));
    return new Promise((resolve, reject) => {
      let answered = false;
      const headers = { ...listenHeaders(), ...(!chunked && { 'content-length': String(body.length) }) };
      const req = http.request(aggregate('acme'), { method: 'POST', headers }, (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
        res.on('error', reject);
      });
      req.on('error', (error) => {
        if (!answered) reject(error);
      });
      if (chunked) {
        for (let offset = 0; offset < body.length; offset += 64 * 1024) req.write(body.subarray(offset, offset + 64 * 1024));
        req.end();
      } else {
        req.end(body);
      }
    });
  }
  const ENVELOPE = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  async function listen(url: string, key: string, resourceSubscriptions: string[]) {
    const listener = await openListener(url, key, { resourceSubscriptions });
    listeners.push(listener);
    return listener;
  }

  beforeAll(async () => {
    [modern, legacy, otherModern, plain] = await Promise.all([
      startModernResourceServer(),
      startLegacyResourceServer(),
      startModernResourceServer(),
      startLegacyMcpServer(),
    ]);
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } });
    keys.acme = (await seedTenant(dataDir, 'acme')).key.secret;
    keys.other = (await seedTenant(dataDir, 'other')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'modern', kind: 'remote', config: { url: modern.url } });
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'legacy', kind: 'remote', config: { url: legacy.url } });
    await operatorCommand(dataDir, 'server.create', { tenant: 'other', slug: 'modern', kind: 'remote', config: { url: otherModern.url } });
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'plain', kind: 'remote', config: { url: plain.url } });
    const key = async (name: string, tools: string[]) =>
      (await operatorCommand<{ key: KeyJson & { secret: string } }>(dataDir, 'key.create', { tenant: 'acme', name, scopes: ['mcp'], tools })).key
        .secret;
    keys.onlyModern = await key('only-modern', ['modern']);
    keys.onlyTool = await key('only-a-tool', ['modern__anything']);
  });

  afterAll(async () => {
    await Promise.all(listeners.map((listener) => listener.close().catch(() => {})));
    await gateway?.stop();
    await Promise.all([modern, legacy, otherModern, plain].map((upstream) => upstream?.close()));
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('offers resource subscriptions to 2026-07-28 clients only; a 2025-era client, served without a session, is refused resources/subscribe', async () => {
    const v2 = await connectFullV2(aggregate('acme'), keys.acme);
    expect(v2.capabilities()).toMatchObject({ resources: { subscribe: true, listChanged: true } });
    await v2.close();

    const v1 = await connectFullV1(aggregate('acme'), keys.acme);
    expect((v1.capabilities() as { resources?: { subscribe?: boolean } }).resources?.subscribe).toBeUndefined();
    await v1.close();
    // What the v1 client's subscribeResource sends: answered on an event stream, so read as text.
    const subscribe = await fetch(aggregate('acme'), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${keys.acme}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'botgate://legacy/res://a' } }),
    });
    expect(await subscribe.text()).toMatch(/"code":-32601,"message":"Method not found"/);
    expect(legacy.subscribed).toEqual([]);
  });

  it('relays updates from both upstreams to a listener on the aggregate, named as the aggregate publishes them', async () => {
    const uris = ['botgate://modern/res://a', 'botgate://legacy/res://a'];
    const listener = await listen(aggregate('acme'), keys.acme, uris);
    expect(listener.honored).toEqual({ resourceSubscriptions: uris });
    await seen(modern.subscribed, 'res://a');
    await seen(legacy.subscribed, 'res://a');

    modern.update('res://a');
    await listener.waitForUpdate('botgate://modern/res://a');
    legacy.update('res://a');
    await listener.waitForUpdate('botgate://legacy/res://a');
    // The resource that was not asked for was never subscribed upstream, so its updates go nowhere.
    modern.update('res://b');
    legacy.update('res://b');
    modern.update('res://a');
    await listener.waitForUpdate('botgate://modern/res://a', 2);
    expect(listener.updates).not.toContain('botgate://modern/res://b');
    expect([...modern.subscribed, ...legacy.subscribed]).not.toContain('res://b');

    // Closing the stream ends the upstream subscriptions it held.
    await listener.close();
    await seen(modern.unsubscribed, 'res://a');
    await seen(legacy.unsubscribed, 'res://a');
  });

  it('keeps one upstream subscription for many listeners, until the last one leaves', async () => {
    const before = legacy.subscribed.length;
    const first = await listen(`${gateway.url}/t/acme/mcp/servers/legacy`, keys.acme, ['res://b']);
    const second = await listen(aggregate('acme'), keys.acme, ['botgate://legacy/res://b']);
    await seen(legacy.subscribed, 'res://b');
    legacy.update('res://b');
    // A single-server endpoint names resources as the server does.
    await first.waitForUpdate('res://b');
    await second.waitForUpdate('botgate://legacy/res://b');
    expect(legacy.subscribed.slice(before)).toEqual(['res://b']);

    await first.close();
    legacy.update('res://b');
    await second.waitForUpdate('botgate://legacy/res://b', 2);
    expect(legacy.unsubscribed).not.toContain('res://b');
    await second.close();
    await seen(legacy.unsubscribed, 'res://b');
  });

  it('never subscribes for a listener what its key may not read, nor another tenant’s resources', async () => {
    const onlyModern = await listen(aggregate('acme'), keys.onlyModern, ['botgate://legacy/res://a', 'botgate://modern/res://b']);
    const onlyTool = await listen(aggregate('acme'), keys.onlyTool, ['botgate://modern/res://a']);
    const other = await listen(aggregate('other'), keys.other, ['botgate://legacy/res://a', 'botgate://modern/res://a']);
    await seen(modern.subscribed, 'res://b');
    await seen(otherModern.subscribed, 'res://a');

    const legacyBefore = legacy.subscribed.length;
    const modernA = modern.subscribed.filter((uri) => uri === 'res://a').length;
    modern.update('res://b');
    otherModern.update('res://a');
    await onlyModern.waitForUpdate('botgate://modern/res://b');
    await other.waitForUpdate('botgate://modern/res://a');
    // The other tenant's `modern` is its own upstream; acme's upstreams never heard of its listener.
    expect(legacy.subscribed.length).toBe(legacyBefore);
    expect(modern.subscribed.filter((uri) => uri === 'res://a').length).toBe(modernA);
    expect(onlyTool.updates).toEqual([]);
    expect(onlyModern.updates).toEqual(['botgate://modern/res://b']);
    // What a stream cannot deliver is not acknowledged either.
    expect(onlyModern.honored).toEqual({ resourceSubscriptions: ['botgate://modern/res://b'] });
    expect(onlyTool.honored.resourceSubscriptions ?? []).toEqual([]);
    expect(other.honored).toEqual({ resourceSubscriptions: ['botgate://modern/res://a'] });
  });

  it('acknowledges only the resources it can watch: published, readable with the key, accepted by their upstream; in a chunked body too', async () => {
    const asked = [
      'botgate://modern/res://b',
      'botgate://nowhere/res://a',
      'res://a',
      // The legacy upstream refuses a resource it does not publish; `plain` offers no subscriptions.
      'botgate://legacy/res://unknown',
      'botgate://plain/res://a',
      'botgate://legacy/res://b',
    ];
    const listener = await listen(aggregate('acme'), keys.acme, asked);
    expect(listener.honored).toEqual({ resourceSubscriptions: ['botgate://modern/res://b', 'botgate://legacy/res://b'] });
    await seen(legacy.subscribed, 'res://unknown');

    const controller = new AbortController();
    const response = await fetch(aggregate('acme'), {
      method: 'POST',
      headers: listenHeaders(),
      body: new Blob([listenBody({ notifications: { resourceSubscriptions: asked }, _meta: ENVELOPE })]).stream(),
      duplex: 'half',
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('\n\n')) text += (await reader.read()).value ?? '';
    controller.abort();
    const first: unknown = JSON.parse(text.split('\n').find((line) => line.startsWith('data: '))?.slice(6) ?? 'null');
    expect(first).toMatchObject({
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: { resourceSubscriptions: ['botgate://modern/res://b', 'botgate://legacy/res://b'] } },
    });
  });

  it('answers a chunked listen body over 4 MiB as the SDK answers one that states such a length, and watches nothing', async () => {
    const before = modern.subscribed.length;
    const params = { notifications: { resourceSubscriptions: ['botgate://modern/res://b'] }, _meta: { ...ENVELOPE, padding: 'x'.repeat(5 * 1024 * 1024) } };
    const chunked = await postListenAnswer(params, true);
    expect(chunked).toEqual({
      status: 413,
      body: { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Payload Too Large: Request body must not exceed 4194304 bytes' } },
    });
    expect(await postListenAnswer(params, false)).toEqual(chunked);
    expect(modern.subscribed.length).toBe(before);
  });

  it('refuses a stream that asks to watch more than 100 resources', async () => {
    const uris = Array.from({ length: 101 }, (_, i) => `botgate://modern/res://${i}`);
    const before = modern.subscribed.length;
    const response = await request(gateway.url, 'POST', '/t/acme/mcp', {
      key: keys.acme,
      headers: {
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'subscriptions/listen',
      },
      json: {
        jsonrpc: '2.0',
        id: 'listen:1',
        method: 'subscriptions/listen',
        params: {
          notifications: { resourceSubscriptions: uris },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/at most 100 resources; it asked for 101/);
    expect(modern.subscribed.length).toBe(before);
  });

  it('ends a listener’s stream when its server is reconfigured, so that it listens again on the new configuration', async () => {
    const times = modern.subscribed.filter((uri) => uri === 'res://a').length;
    const listener = await listen(aggregate('acme'), keys.acme, ['botgate://modern/res://a']);
    await seen(modern.subscribed, 'res://a', times + 1);
    const patched = await apiClient(gateway.url, keys.acme).patch('/api/v1/servers/modern', { json: { config: { url: modern.url, headers: { 'x-v': '2' } } } });
    expect(patched.status).toBe(200);
    await expect(listener.closed).resolves.toBe('graceful');
  });

  it('subscribes again when a 2025-era upstream forgets its session', async () => {
    const times = legacy.subscribed.filter((uri) => uri === 'res://a').length;
    const listener = await listen(aggregate('acme'), keys.acme, ['botgate://legacy/res://a']);
    await seen(legacy.subscribed, 'res://a', times + 1);
    await legacy.forgetSessions();
    await seen(legacy.subscribed, 'res://a', times + 2);
    legacy.update('res://a');
    await listener.waitForUpdate('botgate://legacy/res://a');
    expect(listener.updates).toEqual(['botgate://legacy/res://a']);
  });
});
