import fs from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPS_INSTRUCTIONS, startAppsMcpServer, type AppsMcpServer } from '../fakes/apps-mcp-server.ts';
import { FULL_CLIENTS } from '../support/mcp-full-clients.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { operatorCommand, seedTenant } from '../support/http.ts';

interface Raw {
  status: number;
  body: string;
}

/** One raw HTTP request, optionally chunked (no Content-Length). */
function raw(url: string, method: string, headers: Record<string, string>, body?: string, chunked = false): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, ...(body !== undefined && !chunked && { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined && chunked) {
      for (let i = 0; i < body.length; i += 1000) req.write(body.slice(i, i + 1000));
      req.end();
    } else req.end(body);
  });
}

const LEGACY = { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-protocol-version': '2025-06-18' };
const init = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});

describe('a single server endpoint reads legacy bodies as the aggregate does', () => {
  let upstream: AppsMcpServer | undefined;
  let gateway: GatewayProcess | undefined;
  let dataDir: string;
  let key: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    await Promise.all([
      startAppsMcpServer().then((server) => (upstream = server)),
      startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } }).then((g) => (gateway = g)),
    ]);
    key = (await seedTenant(dataDir, 'acme')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'apps', kind: 'remote', config: { url: upstream!.url } });
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), upstream?.close()]);
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const cases: [string, string, Record<string, string>, string | undefined, boolean?][] = [
    ['batch', 'POST', LEGACY, JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 2, method: 'ping' }])],
    ['batch with initialize', 'POST', LEGACY, JSON.stringify([init(1)])],
    ['notification', 'POST', LEGACY, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })],
    ['not JSON', 'POST', LEGACY, '{"jsonrpc":'],
    ['not JSON, chunked', 'POST', LEGACY, '{"jsonrpc":', true],
    ['null', 'POST', LEGACY, 'null'],
    ['empty', 'POST', LEGACY, ''],
    ['ping', 'POST', LEGACY, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })],
    ['ping chunked', 'POST', LEGACY, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), true],
    ['over the limit, chunked', 'POST', LEGACY, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { x: 'a'.repeat(4 * 1024 * 1024) } }), true],
    ['over the limit', 'POST', LEGACY, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { x: 'a'.repeat(4 * 1024 * 1024) } })],
    ['GET', 'GET', { accept: 'text/event-stream' }, undefined],
    ['DELETE', 'DELETE', LEGACY, undefined],
    ['text/plain', 'POST', { ...LEGACY, 'content-type': 'text/plain' }, JSON.stringify(init(1))],
  ];
  for (const [name, method, headers, body, chunked] of cases) {
    it(`answers ${name} as the aggregate does`, async () => {
      const auth = { ...headers, authorization: `Bearer ${key}` };
      const aggregate = await raw(`${gateway!.url}/t/acme/mcp`, method, auth, body, chunked);
      const single = await raw(`${gateway!.url}/t/acme/mcp/servers/apps`, method, auth, body, chunked);

      expect(single.status).toBe(aggregate.status);
      expect(single.body.replaceAll('botgate/acme/apps', 'botgate/acme')).toBe(aggregate.body);
    });
  }
});

describe('instructions, views and restricted keys on a single server endpoint', () => {
  let upstream: AppsMcpServer | undefined;
  let gateway: GatewayProcess | undefined;
  let dataDir: string;
  let key: string;
  let deadPort: number;
  let dead: http.Server;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await makeDataDir();
    // An upstream that accepts connections and never answers.
    dead = http.createServer(() => undefined);
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    deadPort = (dead.address() as { port: number }).port;
    await Promise.all([
      startAppsMcpServer().then((server) => (upstream = server)),
      startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } }).then((g) => (gateway = g)),
    ]);
    key = (await seedTenant(dataDir, 'acme')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'apps', kind: 'remote', config: { url: upstream!.url } });
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'notes', kind: 'remote', config: { url: upstream!.url } });
    await operatorCommand(dataDir, 'server.create', {
      tenant: 'acme',
      slug: 'dead',
      kind: 'remote',
      config: { url: `http://127.0.0.1:${deadPort}/mcp`, timeoutMs: 60_000 },
    });
    // Operators may give slow upstreams up to 10 minutes per request; a handshake must not wait that long.
    await operatorCommand(dataDir, 'server.create', {
      tenant: 'acme',
      slug: 'patient',
      kind: 'remote',
      config: { url: `http://127.0.0.1:${deadPort}/mcp`, timeoutMs: 300_000 },
    });
    await operatorCommand(dataDir, 'server.create', {
      tenant: 'acme',
      slug: 'slow',
      kind: 'remote',
      config: { url: `http://127.0.0.1:${deadPort}/mcp`, timeoutMs: 1_500 },
    });
    for (const [name, tools] of Object.entries({ echoOnly: ['apps__echo'], viewOnly: ['apps__show-view'], notesOnly: ['notes'] })) {
      const { key: made } = await operatorCommand<{ key: { secret: string } }>(dataDir, 'key.create', { tenant: 'acme', name, scopes: ['mcp'], tools });
      keys[name] = made.secret;
    }
  });

  afterAll(async () => {
    dead.closeAllConnections();
    dead.close();
    await Promise.all([gateway?.stop(), upstream?.close()]);
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  for (const [name, connect] of FULL_CLIENTS) {
    it(`gives the upstream's instructions only to keys that may use the whole server, to the ${name} client`, async () => {
      const whole = await connect(`${gateway!.url}/t/acme/mcp/servers/apps`, key);
      const echoOnly = await connect(`${gateway!.url}/t/acme/mcp/servers/apps`, keys['echoOnly']);
      const aggregate = await connect(`${gateway!.url}/t/acme/mcp`, key);
      try {
        expect(whole.instructions()).toBe(APPS_INSTRUCTIONS);
        expect(echoOnly.instructions()).toBeUndefined();
        expect(aggregate.instructions()).toBeUndefined();
        expect((await echoOnly.listTools()).map((t) => t.name)).toEqual(['echo']);
      } finally {
        await Promise.all([whole.close(), echoOnly.close(), aggregate.close()]);
      }
    });

    it(`reads no view of a server a key may not use, to the ${name} client`, async () => {
      const notesOnly = await connect(`${gateway!.url}/t/acme/mcp`, keys['notesOnly']);
      const viewOnly = await connect(`${gateway!.url}/t/acme/mcp`, keys['viewOnly']);
      try {
        for (const uri of ['ui://apps__demo/view.html', 'botgate://apps/ui://demo/view.html', 'ui://apps__demo/help.html']) {
          await expect(notesOnly.readResource(uri)).rejects.toMatchObject({ code: -32602 });
          // A key limited to single tools has no resources at all: the endpoint offers none.
          await expect(viewOnly.readResource(uri)).rejects.toBeInstanceOf(Error);
        }
        expect((await notesOnly.readResource('ui://notes__demo/view.html')).contents).toHaveLength(1);
        expect((await notesOnly.listResources()).map((r) => r.uri).filter((u) => u.includes('apps'))).toEqual([]);
      } finally {
        await Promise.all([notesOnly.close(), viewOnly.close()]);
      }
    });
  }

  it('does not wait on an upstream that never answers once the client has gone away', async () => {
    const started = Date.now();
    const url = `${gateway!.url}/t/acme/mcp/servers/dead`;
    const body = JSON.stringify(init(1));
    await new Promise<void>((resolve) => {
      const req = http.request(url, { method: 'POST', headers: { ...LEGACY, authorization: `Bearer ${key}`, 'content-length': String(body.length) } });
      req.on('error', () => resolve());
      req.end(body);
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 500);
    });
    // The gateway still answers others at once.
    const ping = await raw(`${gateway!.url}/t/acme/mcp/servers/apps`, 'POST', { ...LEGACY, authorization: `Bearer ${key}` }, JSON.stringify(init(2)));
    expect(ping.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers the handshake without instructions once an upstream that never answers has had its time', async () => {
    const started = Date.now();
    const answer = await raw(`${gateway!.url}/t/acme/mcp/servers/slow`, 'POST', { ...LEGACY, authorization: `Bearer ${key}` }, JSON.stringify(init(3)));
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('"serverInfo"');
    expect(answer.body).not.toContain('"instructions"');
    expect(Date.now() - started).toBeLessThan(10_000);
    // The operator can tell why.
    const logged = (line: string) => line.includes('instructions could not be given') && line.includes('"server":"slow"');
    await pollUntil('the gateway to log why the instructions are missing', async () => (gateway!.output().split('\n').some(logged) ? true : undefined));
  });

  it('answers the handshake well within a client’s request timeout when the upstream’s own timeout is long', { timeout: 30_000 }, async () => {
    const url = `${gateway!.url}/t/acme/mcp/servers/patient`;
    const answer = await Promise.race([
      raw(url, 'POST', { ...LEGACY, authorization: `Bearer ${key}` }, JSON.stringify(init(4))),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000).unref()),
    ]);
    expect(answer?.status).toBe(200);
    expect(answer?.body).toContain('"serverInfo"');
    expect(answer?.body).not.toContain('"instructions"');
  });
});
