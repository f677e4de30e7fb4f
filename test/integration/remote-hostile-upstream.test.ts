import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorResult, unavailableResult, type ToolCallOutcome } from '../../src/servers/index.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import { createProxySource, createRemoteSource } from '../../src/servers/remote/index.ts';
import { buildUpstreamHeaders, createUpstreamConnector } from '../../src/servers/remote/upstream-connection.ts';
import { startHostileMcpServer, type HostileEra, type HostileMcpServer } from '../fakes/hostile-mcp-server.ts';
import { captureLog } from '../support/captured-log.ts';
import { pollUntil, quietContext } from '../support/remote-source.ts';

const LOOPBACK = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });

type SourceOptions = Partial<Parameters<typeof createRemoteSource>[0]>;

/** A remote source whose tool calls go through the SDK client even on a 2025-era session (no direct leg). */
function createClientPathSource(url: string, { timeoutMs = 30_000, logger }: SourceOptions = {}) {
  const connector = createUpstreamConnector({
    url,
    headers: buildUpstreamHeaders({}),
    fetch: LOOPBACK.fetch,
    request: LOOPBACK.request,
    maxMessageBytes: LOOPBACK.maxMessageBytes,
    connectTimeoutMs: 5_000,
    eraCache: undefined,
    onToolsDropped: (dropped) => {
      for (const { name, reason } of dropped) logger?.warn({ tool: name, reason }, 'dropped an invalid tool from the upstream’s listing');
    },
  });
  return createProxySource({
    connector: {
      acquire: async (wait) => ({ ...(await connector.acquire(wait)), directCall: undefined }),
      discard: (client) => connector.discard(client),
      close: () => connector.close(),
    },
    upstream: new URL(url).host,
    timeoutMs,
  });
}

const slept = (ms: number): ToolCallOutcome => ({ content: [{ type: 'text', text: `slept ${ms} ms` }] });
const host = /127\.0\.0\.1:\d+/.source;
const matching = (pattern: string) => expect.stringMatching(new RegExp(`^${pattern}$`)) as unknown as string;
const rpcMethod = (request: { body: Record<string, unknown> | undefined }) => request.body?.['method'];

const PATHS: Array<{ name: string; era: HostileEra; clientPath: boolean }> = [
  { name: '2026-07-28 (stateless)', era: 'modern', clientPath: false },
  { name: '2025-11-25 (session), direct calls', era: 'legacy', clientPath: false },
  { name: '2025-11-25 (session), calls through the SDK client', era: 'legacy', clientPath: true },
];

describe.each(PATHS)('remote source against a hostile upstream: $name', ({ era, clientPath }) => {
  let upstream: HostileMcpServer;
  const opened: Array<{ close(): Promise<void> }> = [];
  const signal = new AbortController().signal;

  function source(options: SourceOptions = {}) {
    const created = clientPath ? createClientPathSource(upstream.url, options) : createRemoteSource({ url: upstream.url, outbound: LOOPBACK, ...options });
    opened.push(created);
    return created;
  }

  /** Connections the source opened: 2025 sessions initialized, or 2026 clients that probed the era. */
  const connections = () => upstream.requests.filter((request) => rpcMethod(request) === (era === 'legacy' ? 'initialize' : 'server/discover')).length;
  const toolCalls = (name: string) => upstream.requests.filter((request) => rpcMethod(request) === 'tools/call' && (request.body?.['params'] as { name?: unknown } | undefined)?.name === name);

  beforeAll(async () => {
    upstream = await startHostileMcpServer(era);
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    upstream.requests.length = 0;
    upstream.runs.length = 0;
    upstream.listedTools = undefined;
    upstream.answerAll = undefined;
  });

  afterAll(async () => {
    await upstream.close();
  });

  it('fails only the call that timed out, cancels it upstream, and lets the call beside it complete', async () => {
    const remote = source({ timeoutMs: 2_000 });
    await remote.listTools(signal);
    const slow = remote.callTool('sleep', { ms: 10_000 }, quietContext());
    await delay(1_000);
    // Answers 2.5 s after the slow call started: after the slow call's timeout, well within its own.
    const quick = remote.callTool('sleep', { ms: 1_500 }, quietContext());

    expect(await slow).toEqual(unavailableResult(matching(`upstream ${host} unavailable: no answer within 2000 ms`)));
    expect(await quick).toEqual(slept(1_500));
    await pollUntil(() => upstream.runs.length === 2);
    expect(upstream.runs).toEqual([
      { ms: 10_000, outcome: 'cancelled' },
      { ms: 1_500, outcome: 'completed' },
    ]);
    expect(connections()).toBe(1);
  });

  for (const tool of ['invalid-json', 'http-500', 'wrong-id']) {
    it(`fails only its own call, at once, when the upstream answers it with ${tool}`, async () => {
      const remote = source({ timeoutMs: 10_000 });
      await remote.listTools(signal);
      const beside = Array.from({ length: 20 }, () => remote.callTool('sleep', { ms: 700 }, quietContext()));
      await pollUntil(() => toolCalls('sleep').length === 20);

      const started = Date.now();
      const failed = await remote.callTool(tool, {}, quietContext());
      expect(failed.isError).toBe(true);
      // Not the 10 s timeout: the answer says at once that it is not this call's.
      expect(Date.now() - started).toBeLessThan(2_000);

      expect(await Promise.all(beside)).toEqual(beside.map(() => slept(700)));
      expect(await remote.callTool('sleep', { ms: 1 }, quietContext())).toEqual(slept(1));
      expect(connections()).toBe(1);
    });
  }

  it('says what was wrong with an unusable answer or a refused call, naming the host', async () => {
    const remote = source({ timeoutMs: 10_000 });
    const expected: Record<string, ToolCallOutcome> = {
      'invalid-json': errorResult(matching(`upstream ${host} gave an unusable answer: its response is not valid JSON`)),
      'wrong-id': errorResult(matching(`upstream ${host} gave an unusable answer: its response answers another request \\(id [^)]+\\), not this one`)),
      'http-500': unavailableResult(matching(`upstream ${host} unavailable: HTTP 500 Internal Server Error: "the tool crashed"`)),
      redirect: errorResult(
        matching(
          `upstream ${host} redirected the request to https://login\\.example\\.com/sso, and redirects are not followed: ` +
            'if the server moved there, change its URL',
        ),
      ),
      unauthorized: errorResult(
        matching(`upstream ${host} refused the credentials configured for this server \\(HTTP 401 Unauthorized\\): an admin should check its token and headers`),
      ),
      forbidden: errorResult(
        matching(`upstream ${host} refused the credentials configured for this server \\(HTTP 403 Forbidden: "forbidden"\\): an admin should check its token and headers`),
      ),
    };
    for (const [tool, outcome] of Object.entries(expected)) {
      expect({ tool, result: await remote.callTool(tool, {}, quietContext()) }).toEqual({ tool, result: outcome });
    }
    expect(connections()).toBe(1);
  });

  it('names the redirect target, or the refused credentials, when the endpoint itself answers so', async () => {
    upstream.answerAll = 'redirect';
    await expect(source().listTools(signal)).rejects.toThrow(
      new RegExp(`^upstream ${host} redirected the request to https://login\\.example\\.com/sso, and redirects are not followed`),
    );
    upstream.answerAll = 'unauthorized';
    await expect(source().listTools(signal)).rejects.toThrow(
      new RegExp(`^upstream ${host} refused the credentials configured for this server \\(HTTP 401 Unauthorized\\)`),
    );
  });

  it('lists the valid tools of a listing with invalid ones, and logs each one dropped with the reason', async () => {
    const log = captureLog();
    upstream.listedTools = [
      { name: 'sleep', inputSchema: { type: 'object' } },
      { name: 'stringly', inputSchema: { type: 'string' } },
      { name: 'schemaless' },
      { name: 'listed', inputSchema: [] },
      { name: '', inputSchema: { type: 'object' } },
      { name: 'fine', description: 'Also valid.', inputSchema: { type: 'object', properties: { a: { type: 'string' } } } },
    ];
    const tools = await source({ logger: log.logger }).listTools(signal);
    expect(tools.map((tool) => tool.name)).toEqual(['sleep', 'fine']);

    const dropped = log.entries.filter((entry) => entry['msg'] === 'dropped an invalid tool from the upstream’s listing');
    expect(dropped.map((entry) => [entry['level'], entry['tool'], entry['reason']])).toEqual([
      [40, 'stringly', expect.stringContaining('inputSchema')],
      [40, 'schemaless', expect.stringContaining('inputSchema')],
      [40, 'listed', expect.stringContaining('inputSchema')],
      [40, '', expect.stringContaining('name')],
    ]);
  });

  it('replaces a connection that broke, without failing the calls in flight on it', async () => {
    const remote = source({ timeoutMs: 10_000 });
    await remote.listTools(signal);
    const beside = Array.from({ length: 5 }, () => remote.callTool('sleep', { ms: 700 }, quietContext()));
    await pollUntil(() => toolCalls('sleep').length === 5);

    expect(await remote.callTool('reset', {}, quietContext())).toEqual(unavailableResult(matching(`upstream ${host} unavailable: .+`)));
    expect(await Promise.all(beside)).toEqual(beside.map(() => slept(700)));
    expect(await remote.callTool('sleep', { ms: 1 }, quietContext())).toEqual(slept(1));
    expect(connections()).toBe(2);
  });

  it.runIf(era === 'legacy')('ends the session of a connection it replaced (HTTP DELETE): at once, or once the calls in flight on it are done', async () => {
    const remote = source({ timeoutMs: 10_000 });
    const deleted = () => upstream.requests.filter((request) => request.method === 'DELETE').map((request) => request.headers['mcp-session-id']);
    const lastSession = () => upstream.requests.findLast((request) => rpcMethod(request) === 'notifications/initialized')?.headers['mcp-session-id'];

    await remote.listTools(signal);
    const first = lastSession();
    await remote.callTool('reset', {}, quietContext());
    await pollUntil(() => deleted().length === 1);
    expect(deleted()).toEqual([first]);

    await remote.listTools(signal);
    const second = lastSession();
    const beside = remote.callTool('sleep', { ms: 500 }, quietContext());
    await pollUntil(() => toolCalls('sleep').length === 1);
    await remote.callTool('reset', {}, quietContext());
    // The call in flight holds the session until it is answered.
    expect(deleted()).toEqual([first]);
    expect(await beside).toEqual(slept(500));
    await pollUntil(() => deleted().length === 2);
    expect(deleted()).toEqual([first, second]);
    expect(upstream.openSessions).toBe(0);

    expect(await remote.callTool('sleep', { ms: 1 }, quietContext())).toEqual(slept(1));
    expect(upstream.openSessions).toBe(1);
  });
});
