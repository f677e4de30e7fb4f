import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createListenStreams } from '../../src/gateway/mcp/listen-streams.ts';
import { publishListsChanges, type ResourceWatchListener } from '../../src/servers/index.ts';
import { createInProcessChangeBus } from '../../src/shared/change-bus.ts';
import { AppError } from '../../src/shared/errors.ts';
import { publishCredentialsChanged } from '../../src/tenancy/index.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { readBody } from '../fakes/read-body.ts';

const ENVELOPE = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };

/** One 2026-07-28 listen request for `uris`; resolves with the status once the answer's head arrives, the body left open. */
async function openListen(url: string, uris: string[], signal: AbortSignal): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'subscriptions/listen',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'l', method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: uris }, _meta: ENVELOPE } }),
    signal,
  });
  return response.status;
}

/** One node's listen streams over an in-process bus, with `options` besides what every test here gives. */
function nodeListenStreams(options: Partial<Parameters<typeof createListenStreams>[0]> = {}) {
  const logger = createLogger({ level: 'silent' });
  const changes = createInProcessChangeBus(logger);
  const listen = createListenStreams({
    changes,
    factory: () => new McpServer({ name: 'listen-test', version: '1.0.0' }),
    logger,
    maxBodyBytes: 1024 * 1024,
    stopping: undefined,
    ...options,
  });
  return { changes, listen };
}

describe('listen streams still waiting for their upstreams', () => {
  // Upstreams that never answer the subscriptions: every stream waits out the accept wait.
  const watched: string[] = [];
  const watchResource = (uri: string, _listener: ResourceWatchListener) => {
    watched.push(uri);
    return () => {};
  };
  const { listen } = nodeListenStreams({
    factory: () => new McpServer({ name: 'listen-test', version: '1.0.0' }, { capabilities: { resources: { subscribe: true } } }),
    maxStreamsPerTenant: 2,
    acceptWaitMs: 1_000,
  });
  let server: http.Server;
  let url: string;
  const controller = new AbortController();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      void (async () => {
        const body: unknown = JSON.parse(await readBody(req));
        const scope = { tenantId: 'tenant-a', server: undefined, mayUseServer: () => true, watchResource, credentialHolds: async () => true };
        await listen.serve(Object.assign(req, { auth: { token: 't', clientId: 'c', scopes: ['mcp'] } }), res, scope, body);
      })().catch((error: unknown) => {
        res.writeHead(error instanceof AppError && error.code === 'rate_limited' ? 429 : 500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    controller.abort();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('count against the tenant’s limit while they wait, and once they are open', async () => {
    const first = openListen(url, ['r://1'], controller.signal);
    const second = openListen(url, ['r://2'], controller.signal);
    // Both are waiting for their upstreams (nothing is answered for a second): a third is refused now.
    await expect.poll(() => [...watched].sort()).toEqual(['r://1', 'r://2']);
    expect(await openListen(url, ['r://3'], controller.signal)).toBe(429);
    // Acknowledged after the wait, they are open streams: still no room.
    expect([await first, await second]).toEqual([200, 200]);
    expect(await openListen(url, ['r://4'], controller.signal)).toBe(429);
    expect(watched).toEqual(['r://1', 'r://2']);
  });
});

describe('2025-era GET streams', () => {
  const { changes, listen } = nodeListenStreams({ maxStreamsPerTenant: 1 });
  const notify = publishListsChanges(changes);
  let server: http.Server;
  let port: number;
  const sockets: net.Socket[] = [];
  let slowServed = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      void (async () => {
        // The tenant is the path's last segment; under /slow/ the stream opens only after a while, as after a slow authentication.
        const path = req.url ?? '/';
        if (path.startsWith('/slow/')) await new Promise((resolve) => setTimeout(resolve, 300));
        const tenantId = path.slice(path.lastIndexOf('/') + 1);
        const scope = { tenantId, server: undefined, mayUseServer: () => true, watchResource: () => undefined, credentialHolds: async () => true };
        // The endpoint offers tools and prompts.
        listen.serveLegacy(res, scope, {
          lists: ['tools', 'prompts'],
          resumed: req.headers['last-event-id'] !== undefined,
          primed: req.headers['mcp-protocol-version'] === '2025-11-25',
        });
        if (path.startsWith('/slow/')) slowServed += 1;
      })().catch((error: unknown) => {
        res.writeHead(error instanceof AppError && error.code === 'rate_limited' ? 429 : 500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A GET stream whose client sends its request and then reads nothing more; resolves with the status line. */
  async function openUnread(): Promise<string> {
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.write('GET /tenant-a HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    const head = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.pause();
    return head.toString('latin1').split('\r\n', 1)[0] ?? '';
  }

  it('count against the tenant’s limit, and one whose client stops reading is ended once 64 KiB wait unread', async () => {
    expect(await openUnread()).toBe('HTTP/1.1 200 OK');
    expect(await openUnread()).toBe('HTTP/1.1 429 Too Many Requests');
    // Changes pile up unread until the stream is ended, which makes room for another.
    await expect
      .poll(
        async () => {
          for (let i = 0; i < 2_000; i += 1) notify('tenant-a', 'files');
          return openUnread();
        },
        { timeout: 20_000, interval: 10 },
      )
      .toBe('HTTP/1.1 200 OK');
  });

  it('tell of changes to the lists the endpoint offers only, and a resumed stream of each of them at once', async () => {
    const read = async (headers: Record<string, string>) => {
      const controller = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}/tenant-b`, {
        headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers },
        signal: controller.signal,
      });
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      return {
        status: response.status,
        /** The data of the events read so far, once `count` have arrived. */
        data: async (count: number) => {
          while (text.split('\n\n').length - 1 < count) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`the stream ended after ${JSON.stringify(text)}`);
            text += value;
          }
          return [...text.matchAll(/^data: (.*)$/gm)].map((match) => match[1]);
        },
        close: () => controller.abort(),
      };
    };
    const fresh = await read({});
    expect(await fresh.data(1)).toEqual(['']);
    fresh.close();
    // The tenant holds one stream at most: the next opens once the closed one is let go.
    const resumed = await vi.waitUntil(async () => {
      const stream = await read({ 'last-event-id': '3' });
      if (stream.status === 200) return stream;
      stream.close();
      return undefined;
    });
    const method = (list: string) => JSON.stringify({ jsonrpc: '2.0', method: `notifications/${list}/list_changed` });
    expect(await resumed.data(3)).toEqual(['', method('tools'), method('prompts')]);
    // A change to every list: the endpoint offers no resources, so none is told of.
    notify('tenant-b', 'files', ['tools', 'prompts', 'resources']);
    notify('tenant-b', 'files', ['resources']);
    notify('tenant-b', 'files', ['tools']);
    expect(await resumed.data(6)).toEqual(['', method('tools'), method('prompts'), method('tools'), method('prompts'), method('tools')]);
    resumed.close();
  });

  it('hold nothing for a client that went away before its stream opened', async () => {
    const gone = new AbortController();
    const request = fetch(`http://127.0.0.1:${port}/slow/tenant-c`, { headers: { accept: 'text/event-stream' }, signal: gone.signal });
    setTimeout(() => gone.abort(), 50);
    await expect(request).rejects.toThrow(/aborted/i);
    await expect.poll(() => slowServed).toBe(1);
    // The tenant's one stream is free.
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/tenant-c`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    controller.abort();
    expect(response.status).toBe(200);
  });
});

describe('open streams when a tenant’s credentials change', () => {
  // Never within the test: only a change can end a stream.
  const { changes, listen } = nodeListenStreams({ recheckCredentialMs: 3_600_000 });
  const credentialsChanged = publishCredentialsChanged(changes);
  // Credentials that no longer hold, and how often each stream's was checked, as "tenant/credential".
  const revoked = new Set<string>();
  const checks = new Map<string, number>();
  const slowChecks: Array<(holds: boolean) => void> = [];
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      void (async () => {
        // The path names the tenant and the stream's credential: /tenant/credential.
        const url = new URL(req.url ?? '/', 'http://listen.test');
        const [, tenantId = '', credential = ''] = url.pathname.split('/');
        const held = `${tenantId}/${credential}`;
        const credentialHolds = () => {
          checks.set(held, (checks.get(held) ?? 0) + 1);
          // The credential "slow" is checked until the test settles the check.
          return credential === 'slow' ? new Promise<boolean>((resolve) => slowChecks.push(resolve)) : Promise.resolve(!revoked.has(held));
        };
        // As the gateway reads it before authenticating the request.
        const credentialChangesSeen = listen.credentialChangesHeard();
        if (url.searchParams.has('changed-meanwhile')) {
          // The tenant's credentials change while the request is being authenticated.
          credentialsChanged(tenantId);
          await new Promise((resolve) => setImmediate(resolve));
        }
        const scope = { tenantId, server: undefined, mayUseServer: () => true, watchResource: () => undefined, credentialHolds, credentialChangesSeen };
        listen.serveLegacy(res, scope, { lists: ['tools'], resumed: false, primed: false });
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A 2025-era GET stream; `ended` resolves once the server ends it. */
  async function openStream(path: string) {
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let isEnded = false;
    const ended = (async () => {
      while (!(await reader.read()).done);
      isEnded = true;
    })().catch(() => undefined);
    return { ended, isEnded: () => isEnded, close: () => controller.abort() };
  }

  it('checks the tenant’s streams again at once, ending those whose credential no longer holds', async () => {
    const doomed = await openStream('/acme/key-a');
    const kept = await openStream('/acme/key-b');
    const otherTenant = await openStream('/globex/key-a');
    revoked.add('acme/key-a');

    // Another tenant's change checks nothing of this one's.
    credentialsChanged('globex');
    await expect.poll(() => checks.get('globex/key-a')).toBe(1);
    expect(checks.get('acme/key-a')).toBeUndefined();
    expect(doomed.isEnded()).toBe(false);

    credentialsChanged('acme');
    await doomed.ended;
    await expect.poll(() => checks.get('acme/key-b')).toBe(1);
    expect(checks.get('acme/key-a')).toBe(1);
    expect(checks.get('globex/key-a')).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(kept.isEnded()).toBe(false);
    expect(otherTenant.isEnded()).toBe(false);
    kept.close();
    otherTenant.close();
  });

  it('checks a stream once held when a change came while its request was authenticated, and not otherwise', async () => {
    revoked.add('initech/changed').add('umbrella/unchanged');
    const unchanged = await openStream('/umbrella/unchanged');
    const changed = await openStream('/initech/changed?changed-meanwhile');
    await changed.ended;
    expect(checks.get('initech/changed')).toBe(1);
    // No change since its request came (another tenant's aside): its next check is the periodic one.
    expect(checks.get('umbrella/unchanged')).toBeUndefined();
    expect(unchanged.isEnded()).toBe(false);
    unchanged.close();
  });

  it('checks a stream once more after the check under way, however many changes come meanwhile', async () => {
    const stream = await openStream('/hooli/slow');
    for (let i = 0; i < 5; i += 1) credentialsChanged('hooli');
    await expect.poll(() => slowChecks.length).toBe(1);
    slowChecks.shift()?.(true);
    await expect.poll(() => slowChecks.length).toBe(1);
    slowChecks.shift()?.(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(checks.get('hooli/slow')).toBe(2);
    expect(stream.isEnded()).toBe(false);
    stream.close();
  });
});
