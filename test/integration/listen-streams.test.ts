import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListenStreams } from '../../src/gateway/mcp/listen-streams.ts';
import type { ResourceWatchListener } from '../../src/servers/index.ts';
import { createInProcessChangeBus } from '../../src/shared/change-bus.ts';
import { AppError } from '../../src/shared/errors.ts';
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

describe('listen streams still waiting for their upstreams', () => {
  const logger = createLogger({ level: 'silent' });
  const changes = createInProcessChangeBus(logger);
  // Upstreams that never answer the subscriptions: every stream waits out the accept wait.
  const watched: string[] = [];
  const watchResource = (uri: string, _listener: ResourceWatchListener) => {
    watched.push(uri);
    return () => {};
  };
  const listen = createListenStreams({
    changes,
    factory: () => new McpServer({ name: 'listen-test', version: '1.0.0' }, { capabilities: { resources: { subscribe: true } } }),
    logger,
    maxBodyBytes: 1024 * 1024,
    stopping: undefined,
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
