import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseSource } from '../../src/servers/database/index.ts';
import { createGithubSource } from '../../src/servers/github/index.ts';
import { createOutboundGuard, OutboundRefusedError, type ResolveHost } from '../../src/servers/outbound.ts';
import { createRemoteSource, UpstreamError } from '../../src/servers/remote/index.ts';
import { seedGithub } from '../fakes/github-fixture.ts';
import { FAKE_GITHUB_TOKEN, startFakeGithub, type FakeGithub } from '../fakes/github.ts';
import { startRecordingMcpServer, type RecordingMcpServer } from '../fakes/recording-mcp-server.ts';
import { TEST_DATABASE_URL } from '../support/databases.ts';
import type { ToolCallOutcome } from '../../src/servers/index.ts';
import { resultOf } from '../support/tool-outcome.ts';

/**
 * A resolver that knows only the names the test gives it (the system resolver
 * knows none of them), recording each lookup: a connection to such a name
 * succeeds only if it used the address the guard checked.
 */
function fakeDns(answers: Record<string, string>) {
  const asked: string[] = [];
  const resolve: ResolveHost = async (hostname) => {
    asked.push(hostname);
    const address = answers[hostname];
    if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return [{ address, family: isIP(address) }];
  };
  return { answers, asked, resolve };
}

const LOOPBACK = ['127.0.0.0/8'];
const context = () => ({ signal: new AbortController().signal, progress: async () => undefined });
const text = (outcome: ToolCallOutcome) => resultOf(outcome).content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');

describe('outbound guard: every connection is checked where it is made', () => {
  let server: Server;
  let port: number;
  const hosts: string[] = [];

  beforeAll(async () => {
    // A new connection per request, so every request resolves its host again.
    server = createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      res.setHeader('connection', 'close');
      // Answers nothing: a request left in flight.
      if (req.url === '/silent') return;
      if (req.url === '/to-metadata') res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      else res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('refuses a name that rebinds to a private address between two connections, sending nothing', async () => {
    const dns = fakeDns({ 'rebind.test': '127.0.0.1' });
    const guard = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.1/32'], resolve: dns.resolve });
    hosts.length = 0;

    expect(await (await guard.fetch(`http://rebind.test:${port}/`)).text()).toBe('ok');
    dns.answers['rebind.test'] = '10.0.0.7';
    const refused = guard.fetch(`http://rebind.test:${port}/`);
    await expect(refused).rejects.toThrow('fetch failed');
    const cause = await refused.catch((error: Error) => error.cause);
    expect(cause).toBeInstanceOf(OutboundRefusedError);
    expect(cause).toMatchObject({
      host: 'rebind.test',
      reason: 'rebind.test resolves to 10.0.0.7, a private or reserved address the operator has not allowed (BOTGATE_ALLOW_PRIVATE_NETWORKS)',
    });

    expect(dns.asked).toEqual(['rebind.test', 'rebind.test']);
    expect(hosts).toEqual([`rebind.test:${port}`]);
  });

  it("refuses this host's own addresses, at which a service listening on all interfaces answers, sending nothing", async () => {
    const everywhere = createServer((_req, res) => res.end('reached'));
    await new Promise<void>((resolve) => everywhere.listen(0, '0.0.0.0', resolve));
    let reached = 0;
    everywhere.on('request', () => (reached += 1));
    try {
      const { port: open } = everywhere.address() as AddressInfo;
      const guard = createOutboundGuard({ allowPrivateNetworks: [] });
      const addresses = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []);
      // Loopback, and the public or private address of each other interface this machine has.
      expect(addresses.length).toBeGreaterThan(0);
      const notRefused: string[] = [];
      for (const { address, family } of addresses) {
        const host = family === 'IPv6' ? `[${address}]` : address;
        const cause = await guard.fetch(`http://${host}:${open}/`).then(
          () => undefined,
          (error: Error) => error.cause,
        );
        if (!(cause instanceof OutboundRefusedError)) notRefused.push(address);
      }
      expect(notRefused).toEqual([]);
      expect(reached).toBe(0);
    } finally {
      everywhere.closeAllConnections();
      await new Promise((resolve) => everywhere.close(resolve));
    }
  });

  it('leaves no abort listener on a signal shared by many requests, and still aborts a request when it fires', async () => {
    const guard = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.1/32'] });
    // As an MCP client's connection passes one signal with every request it makes.
    const connection = new AbortController();
    for (let i = 0; i < 300; i += 1) expect(await (await guard.fetch(`http://127.0.0.1:${port}/`, { signal: connection.signal })).text()).toBe('ok');
    expect(getEventListeners(connection.signal, 'abort')).toHaveLength(0);

    const inFlight = guard.fetch(`http://127.0.0.1:${port}/silent`, { signal: connection.signal });
    connection.abort(new Error('connection closed'));
    await expect(inFlight).rejects.toThrow('connection closed');
  });

  it('refuses literal private addresses, and a redirect to one, without a lookup', async () => {
    const dns = fakeDns({ 'app.test': '127.0.0.1' });
    const guard = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.1/32'], resolve: dns.resolve });
    hosts.length = 0;

    for (const url of ['http://169.254.169.254/latest/meta-data/', `http://[::1]:${port}/`, `http://127.0.0.2:${port}/`]) {
      const cause = await guard.fetch(url).then(
        () => undefined,
        (error: Error) => error.cause,
      );
      expect(cause).toBeInstanceOf(OutboundRefusedError);
      expect((cause as Error).message).toMatch(/^(169\.254\.169\.254|::1|127\.0\.0\.2) is a private or reserved address the operator has not allowed \(BOTGATE_ALLOW_PRIVATE_NETWORKS\)$/);
    }
    const redirected = await guard.fetch(`http://app.test:${port}/to-metadata`).then(
      () => undefined,
      (error: Error) => error.cause,
    );
    expect(redirected).toMatchObject({ host: '169.254.169.254' });
    expect(redirected).toBeInstanceOf(OutboundRefusedError);

    expect(dns.asked).toEqual(['app.test']);
    expect(hosts).toEqual([`app.test:${port}`]);
  });

  it('checks requests over node streams the same way, and follows no redirect', async () => {
    const dns = fakeDns({ 'rebind.test': '127.0.0.1' });
    const guard = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.1/32'], resolve: dns.resolve });
    const get = (url: string) => guard.request(new URL(url), { method: 'GET', headers: {} });
    hosts.length = 0;

    const allowed = await get(`http://rebind.test:${port}/`);
    expect([allowed.statusCode, await allowed.body.text()]).toEqual([200, 'ok']);
    const redirect = await get(`http://rebind.test:${port}/to-metadata`);
    expect([redirect.statusCode, redirect.headers.location]).toEqual([302, 'http://169.254.169.254/latest/meta-data/']);
    await redirect.body.dump();

    dns.answers['rebind.test'] = '10.0.0.7';
    await expect(get(`http://rebind.test:${port}/`)).rejects.toMatchObject({
      host: 'rebind.test',
      reason: 'rebind.test resolves to 10.0.0.7, a private or reserved address the operator has not allowed (BOTGATE_ALLOW_PRIVATE_NETWORKS)',
    });
    await expect(get(`http://127.0.0.2:${port}/`)).rejects.toBeInstanceOf(OutboundRefusedError);

    expect(hosts).toEqual([`rebind.test:${port}`, `rebind.test:${port}`]);
  });

  it('refuses a database socket to a refused or literal private address, and to a Unix socket path', async () => {
    const dns = fakeDns({ 'db.test': '127.0.0.1' });
    const { createSocket } = createOutboundGuard({ allowPrivateNetworks: [], resolve: dns.resolve });
    const failure = (connect: (socket: ReturnType<typeof createSocket>) => void) =>
      new Promise<Error>((resolve, reject) => {
        const socket = createSocket();
        connect(socket);
        socket.once('error', resolve);
        socket.once('connect', () => reject(new Error('connected')));
      });

    expect(await failure((s) => s.connect(port, 'db.test'))).toMatchObject({ host: 'db.test', reason: expect.stringMatching(/resolves to 127\.0\.0\.1/) });
    expect(await failure((s) => s.connect(port, '127.0.0.1'))).toBeInstanceOf(OutboundRefusedError);
    expect(await failure((s) => (s.connect as (path: string) => unknown)('/var/run/postgresql/.s.PGSQL.5432'))).toBeInstanceOf(OutboundRefusedError);
    expect(hosts).not.toContain(`db.test:${port}`);
  });
});

describe('remote servers connect only where the check allowed', () => {
  let upstream: RecordingMcpServer;
  let url: string;
  const dns = fakeDns({ 'mcp.test': '127.0.0.1' });
  const sources: Array<{ close(): Promise<void> }> = [];
  const remote = (allowPrivateNetworks: string[]) => {
    const source = createRemoteSource({ url, outbound: createOutboundGuard({ allowPrivateNetworks, resolve: dns.resolve }) });
    sources.push(source);
    return source;
  };

  beforeAll(async () => {
    upstream = await startRecordingMcpServer();
    url = `http://mcp.test:${new URL(upstream.url).port}/mcp`;
  });

  afterAll(async () => {
    await Promise.all(sources.map((source) => source.close()));
    await upstream.close();
  });

  it('refuses a name resolving to 127.0.0.1 when 127.0.0.0/8 is not allowed, sending nothing', async () => {
    const source = remote([]);
    const message = /^upstream mcp\.test:\d+ is not allowed: mcp\.test resolves to 127\.0\.0\.1, a private or reserved address the operator has not allowed \(BOTGATE_ALLOW_PRIVATE_NETWORKS\)$/;

    const listing = source.listTools(new AbortController().signal);
    await expect(listing).rejects.toBeInstanceOf(UpstreamError);
    await expect(listing).rejects.toMatchObject({ failure: 'refused', message: expect.stringMatching(message) });
    const result = await source.callTool('echo', { message: 'hi' }, context());
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);

    expect(dns.asked).toContain('mcp.test');
    expect(upstream.requests).toEqual([]);
  });

  it('connects to the checked address when 127.0.0.0/8 is allowed', async () => {
    const result = await remote(LOOPBACK).callTool('echo', { message: 'hi' }, context());
    expect(result).toEqual({ content: [{ type: 'text', text: 'echo: hi' }] });
    expect(upstream.requests.length).toBeGreaterThan(0);
    for (const request of upstream.requests) expect(request.headers.host).toBe(`mcp.test:${new URL(upstream.url).port}`);
  });
});

describe('github servers connect only where the check allowed', () => {
  let fake: FakeGithub;
  let baseUrl: string;
  const dns = fakeDns({ 'ghe.test': '127.0.0.1' });
  const github = (allowPrivateNetworks: string[]) =>
    createGithubSource({
      token: FAKE_GITHUB_TOKEN,
      owner: 'acme',
      repo: 'widgets',
      baseUrl,
      retryAfterCapMs: 0,
      fetch: createOutboundGuard({ allowPrivateNetworks, resolve: dns.resolve }).fetch,
    });

  beforeAll(async () => {
    fake = await startFakeGithub();
    seedGithub(fake);
    baseUrl = `http://ghe.test:${new URL(fake.url).port}`;
  });

  afterAll(() => fake.close());

  it('refuses an API host resolving to 127.0.0.1 when 127.0.0.0/8 is not allowed, sending nothing', async () => {
    const source = github([]);
    const result = await source.callTool('get_issue', { issueNumber: 1 }, context());
    await source.close();
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(
      'GitHub API host ghe.test is not allowed: ghe.test resolves to 127.0.0.1, a private or reserved address the operator has not allowed (BOTGATE_ALLOW_PRIVATE_NETWORKS)',
    );
    expect(dns.asked).toContain('ghe.test');
    expect(fake.requests).toEqual([]);
  });

  it('connects to the checked address when 127.0.0.0/8 is allowed', async () => {
    const source = github(LOOPBACK);
    const result = await source.callTool('get_issue', { issueNumber: 1 }, context());
    await source.close();
    expect(result.isError).toBeFalsy();
    expect(fake.requests.map((request) => request.headers.host)).toEqual([`ghe.test:${new URL(fake.url).port}`]);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('database servers connect only where the check allowed', () => {
  const dns = fakeDns({ 'db.test': '127.0.0.1' });
  /** TEST_DATABASE_URL with its host replaced; the server must listen on 127.0.0.1. */
  const urlOn = (host: string) => {
    const url = new URL(TEST_DATABASE_URL ?? '');
    url.hostname = host;
    return url.toString();
  };
  const query = async (host: string, allowPrivateNetworks: string[]) => {
    const { createSocket } = createOutboundGuard({ allowPrivateNetworks, resolve: dns.resolve });
    const source = createDatabaseSource({ url: urlOn(host), createSocket });
    try {
      return await source.callTool('query', { sql: 'select 41 + 1 as answer' }, context());
    } finally {
      await source.close();
    }
  };

  it('refuses a host resolving to 127.0.0.1, or 127.0.0.1 itself, when 127.0.0.0/8 is not allowed', async () => {
    const byName = await query('db.test', []);
    expect(byName.isError).toBe(true);
    expect(text(byName)).toBe(
      'database host db.test is not allowed: db.test resolves to 127.0.0.1, a private or reserved address the operator has not allowed (BOTGATE_ALLOW_PRIVATE_NETWORKS)',
    );
    expect(dns.asked).toContain('db.test');

    const literal = await query('127.0.0.1', []);
    expect(literal.isError).toBe(true);
    expect(text(literal)).toBe('database host 127.0.0.1 is not allowed: 127.0.0.1 is a private or reserved address the operator has not allowed (BOTGATE_ALLOW_PRIVATE_NETWORKS)');
  });

  it('connects to the checked address when 127.0.0.0/8 is allowed', async () => {
    const result = await query('db.test', LOOPBACK);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ rows: [[42]] });
  });
});
