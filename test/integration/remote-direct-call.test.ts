import type { CallToolResult } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ListKind } from '../../src/servers/list-changes.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import { createProxySource, createRemoteSource } from '../../src/servers/remote/index.ts';
import { buildUpstreamHeaders, createUpstreamConnector } from '../../src/servers/remote/upstream-connection.ts';
import { startLegacyMcpServer, TINY_PNG, type LegacyMcpServer, type LegacyRequest } from '../fakes/legacy-mcp-server.ts';
import { pollUntil, quietContext, TRANSPORT_HEADERS } from '../support/remote-source.ts';
import { errorResult, unavailableResult, type ToolCallOutcome } from '../../src/servers/index.ts';
import { resultOf } from '../support/tool-outcome.ts';

const LOOPBACK = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'] });

const text = (outcome: ToolCallOutcome) => resultOf(outcome).content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');

const rpcMethod = (request: LegacyRequest) => request.body?.['method'];
const toolCalls = (requests: LegacyRequest[]) => requests.filter((request) => rpcMethod(request) === 'tools/call');

type SourceOptions = Partial<Parameters<typeof createRemoteSource>[0]>;

/** A remote source with the direct leg taken away: tool calls go through the SDK client, as before the leg existed. */
function createClientPathSource(url: string, { outbound = LOOPBACK, timeoutMs = 30_000, maxCallMs, ...options }: SourceOptions = {}) {
  const connector = createUpstreamConnector({
    url,
    headers: buildUpstreamHeaders(options),
    fetch: outbound.fetch,
    request: outbound.request,
    maxMessageBytes: outbound.maxMessageBytes,
    connectTimeoutMs: 5_000,
    eraCache: undefined,
  });
  return createProxySource({
    connector: {
      acquire: async (wait) => ({ ...(await connector.acquire(wait)), directCall: undefined }),
      discard: (client) => connector.discard(client),
      close: () => connector.close(),
    },
    upstream: new URL(url).host,
    timeoutMs,
    ...(maxCallMs !== undefined && { maxCallMs }),
  });
}

/** The sources a test block opens, closed together by `closeAll`. */
function openedSources() {
  const opened: Array<{ close(): Promise<void> }> = [];
  const keep = <T extends { close(): Promise<void> }>(source: T): T => {
    opened.push(source);
    return source;
  };
  return {
    remote: (url: string, options: SourceOptions = {}) => keep(createRemoteSource({ url, outbound: LOOPBACK, ...options })),
    clientPath: (url: string, options: SourceOptions = {}) => keep(createClientPathSource(url, options)),
    closeAll: () => Promise.all(opened.splice(0).map((source) => source.close())),
  };
}

describe('tool calls to a 2025-era upstream, sent directly on the client’s session', () => {
  let upstream: LegacyMcpServer;
  const sources = openedSources();
  const source = (options?: SourceOptions) => sources.remote(upstream.url, options);
  /** The same source through the SDK client. */
  const clientPathSource = (options?: SourceOptions) => sources.clientPath(upstream.url, options);

  beforeAll(async () => {
    upstream = await startLegacyMcpServer();
  });

  afterEach(async () => {
    await sources.closeAll();
    upstream.requests.length = 0;
    upstream.cancellations.length = 0;
  });

  afterAll(async () => {
    await upstream.close();
  });

  it('posts tools/call itself, with an id of its own, in the session the client opened', async () => {
    const remote = source();
    expect(await remote.callTool('echo', { message: 'hi' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: hi' }] });
    expect(await remote.callTool('echo', { message: 'again' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: again' }] });

    const initialized = upstream.requests.find((request) => rpcMethod(request) === 'notifications/initialized');
    const calls = toolCalls(upstream.requests);
    expect(calls.map((call) => call.body)).toEqual([
      { jsonrpc: '2.0', id: 'botgate-1', method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' }, _meta: { progressToken: 'botgate-1' } } },
      { jsonrpc: '2.0', id: 'botgate-2', method: 'tools/call', params: { name: 'echo', arguments: { message: 'again' }, _meta: { progressToken: 'botgate-2' } } },
    ]);
    for (const call of calls) {
      expect(call.status).toBe(200);
      expect(call.headers['mcp-session-id']).toEqual(expect.any(String));
      expect(call.headers['mcp-session-id']).toBe(initialized?.headers['mcp-session-id']);
      expect(call.headers['mcp-protocol-version']).toBe(initialized?.headers['mcp-protocol-version']);
      expect(call.headers['accept']).toBe('application/json, text/event-stream');
    }
  });

  it('returns text, annotated images, structured content, _meta and tool errors exactly as the client path does', async () => {
    const remote = source();
    const before = clientPathSource();
    const expected: Record<string, CallToolResult> = {
      'show-image': {
        content: [
          { type: 'text', text: 'a pixel', annotations: { audience: ['user'], priority: 0.5 } },
          { type: 'image', data: TINY_PNG, mimeType: 'image/png' },
        ],
        _meta: { 'example.com/trace': 'abc' },
      },
      forecast: { content: [{ type: 'text', text: '{"celsius":21,"sky":"clear"}' }], structuredContent: { celsius: 21, sky: 'clear' } },
      fail: { content: [{ type: 'text', text: 'the disk is full' }], isError: true },
    };
    for (const [name, result] of Object.entries(expected)) {
      const direct = await remote.callTool(name, {}, quietContext());
      expect({ name, direct }).toEqual({ name, direct: result });
      expect({ name, direct }).toEqual({ name, direct: await before.callTool(name, {}, quietContext()) });
    }
    expect(toolCalls(upstream.requests).map((call) => call.body?.['id'])).toEqual([
      'botgate-1',
      expect.any(Number),
      'botgate-2',
      expect.any(Number),
      'botgate-3',
      expect.any(Number),
    ]);
  });

  it('relays progress with its message, and progress keeps a long call within its timeout', async () => {
    const progress: Array<[number, number | undefined, string | undefined]> = [];
    // Fifteen steps of 40 ms: 600 ms in all, each step well within the 400 ms bound.
    const result = await source({ timeoutMs: 400 }).callTool('count', { to: 15, stepMs: 40 }, {
      signal: new AbortController().signal,
      progress: async (value, total, message) => void progress.push([value, total, message]),
    });
    expect(result).toEqual({ content: [{ type: 'text', text: 'counted to 15' }] });
    expect(progress).toEqual(Array.from({ length: 15 }, (_, i) => [i + 1, 15, `step ${i + 1}`]));
  });

  it('ends a call whose progress goes on past the most one call may take, on either path, and tells the upstream', async () => {
    // A hundred steps of 40 ms: each well within the 2 s bound, four seconds in all, past the 300 ms a call may take.
    for (const remote of [source({ timeoutMs: 2_000, maxCallMs: 300 }), clientPathSource({ timeoutMs: 2_000, maxCallMs: 300 })]) {
      const progress: number[] = [];
      const result = await remote.callTool('count', { to: 100, stepMs: 40 }, { signal: new AbortController().signal, progress: async (value) => void progress.push(value) });
      expect(result).toEqual(errorResult(expect.stringMatching(/^upstream 127\.0\.0\.1:\d+ took too long: the call ran past 300 ms, the most one call may take, progress or not$/) as unknown as string));
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.length).toBeLessThan(100);
      // The connection was answering, so it is kept.
      expect(await remote.callTool('echo', { message: 'still here' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: still here' }] });
    }
    const cancelled = () => upstream.requests.filter((request) => rpcMethod(request) === 'notifications/cancelled').map((request) => request.body?.['params']);
    await pollUntil(() => cancelled().length === 2);
    const calls = toolCalls(upstream.requests).filter((request) => (request.body?.['params'] as { name?: string } | undefined)?.name === 'count');
    expect(cancelled()).toEqual(calls.map((call) => ({ requestId: call.body?.['id'], reason: expect.stringContaining('Maximum total timeout exceeded') })));
    expect(upstream.requests.filter((request) => rpcMethod(request) === 'initialize')).toHaveLength(2);
  });

  it('answers the upstream’s ping mid-call, refuses what a client without capabilities cannot do, and completes the call', async () => {
    const remote = source({ token: 'upstream-token-1' });
    const result = await remote.callTool('ask-client', {}, quietContext());
    expect(result).toEqual({ content: [{ type: 'text', text: 'ping: answered; roots/list: MCP error -32601: Method not found' }] });
    expect(result).toEqual(await clientPathSource({ token: 'upstream-token-1' }).callTool('ask-client', {}, quietContext()));

    const call = toolCalls(upstream.requests)[0];
    const answers = upstream.requests.filter((request) => request.body && 'id' in request.body && !('method' in request.body));
    expect(answers.slice(0, 2).map((answer) => answer.body)).toEqual([
      { jsonrpc: '2.0', id: expect.anything(), result: {} },
      { jsonrpc: '2.0', id: expect.anything(), error: { code: -32601, message: 'Method not found' } },
    ]);
    for (const answer of answers.slice(0, 2)) {
      expect(answer.headers['mcp-session-id']).toBe(call?.headers['mcp-session-id']);
      expect(answer.headers['authorization']).toBe('Bearer upstream-token-1');
      expect(answer.status).toBe(202);
    }
  });

  it('gives a JSON-RPC error answer and an invalid result the same error results as the client path, and keeps the connection', async () => {
    const remote = source();
    const before = clientPathSource();

    const refused = await remote.callTool('rpc-error', {}, quietContext());
    expect(refused).toEqual(errorResult(expect.stringMatching(/^upstream 127\.0\.0\.1:\d+ answered with an error: .*quota exhausted/) as unknown as string));
    expect(refused).toEqual(await before.callTool('rpc-error', {}, quietContext()));

    const broken = await remote.callTool('broken-result', {}, quietContext());
    expect(broken).toEqual(errorResult(expect.stringMatching(/^upstream 127\.0\.0\.1:\d+ gave an unusable answer: Invalid result for tools\/call: /) as unknown as string));
    expect(await before.callTool('broken-result', {}, quietContext())).toEqual(errorResult(expect.stringMatching(/^upstream 127\.0\.0\.1:\d+ gave an unusable answer: Invalid result for tools\/call: /) as unknown as string));

    expect(await remote.callTool('echo', { message: 'still' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: still' }] });
    // One session per source: neither answer cost a connection.
    expect(upstream.requests.filter((request) => rpcMethod(request) === 'initialize')).toHaveLength(2);
  });

  it('sends the call again on a new connection when the upstream forgot the session', async () => {
    const remote = source();
    expect(text(await remote.callTool('echo', { message: 'one' }, quietContext()))).toBe('echo: one');
    await upstream.forgetSessions();

    expect(await remote.callTool('echo', { message: 'two' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: two' }] });
    const calls = toolCalls(upstream.requests);
    expect(calls.map((call) => call.status)).toEqual([200, 404, 200]);
    expect(calls[1]?.headers['mcp-session-id']).toBe(calls[0]?.headers['mcp-session-id']);
    expect(calls[2]?.headers['mcp-session-id']).not.toBe(calls[0]?.headers['mcp-session-id']);
    expect(upstream.requests.filter((request) => rpcMethod(request) === 'initialize')).toHaveLength(2);
  });

  it('tells the upstream when the caller cancels, so the upstream’s handler stops, and keeps working', async () => {
    const remote = source();
    const controller = new AbortController();
    const call = remote.callTool('hang', {}, quietContext(controller.signal));
    await pollUntil(() => toolCalls(upstream.requests).length === 1);
    controller.abort(new Error('the user closed the chat'));

    expect(await call).toEqual({ content: [{ type: 'text', text: expect.stringMatching(/was cancelled/) }], isError: true });
    await pollUntil(() => upstream.cancellations.length === 1);
    expect(upstream.cancellations).toEqual(['the user closed the chat']);
    const cancelled = upstream.requests.find((request) => rpcMethod(request) === 'notifications/cancelled');
    expect(cancelled?.body?.['params']).toEqual({ requestId: 'botgate-1', reason: 'the user closed the chat' });
    expect(cancelled?.headers['mcp-session-id']).toBe(toolCalls(upstream.requests)[0]?.headers['mcp-session-id']);

    expect(await remote.callTool('echo', { message: 'next' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: next' }] });
  });

  it('passes a question on to a client that can answer it and holds the call, its timeout paused, until the answer', async () => {
    const remote = source({ timeoutMs: 300 });
    const context = { ...quietContext(), clientCapabilities: { elicitation: { form: {} } } };
    const asking = await remote.callTool('confirm', {}, context);
    expect(asking).toMatchObject({
      resultType: 'input_required',
      inputRequests: { 'ask-1': { method: 'elicitation/create', params: { message: 'Go on?' } } },
    });

    // The client answers after longer than the source's timeout: a person fills in a form meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const state = (asking as { requestState: string }).requestState;
    const input = { responses: { 'ask-1': { action: 'accept', content: { sure: true } } }, state };
    const done = await remote.callTool('confirm', {}, { ...context, input });

    expect(text(done)).toBe('answered accept {"sure":true}');
    expect(upstream.cancellations).toEqual([]);
    expect(toolCalls(upstream.requests)).toHaveLength(1);
  });

  it('gives the timeout error result on a silent upstream, cancels the call there, and keeps the session for the next call', async () => {
    const remote = source({ timeoutMs: 300 });
    expect(await remote.callTool('hang', {}, quietContext())).toEqual(unavailableResult(expect.stringMatching(/^upstream 127\.0\.0\.1:\d+ unavailable: no answer within 300 ms$/) as unknown as string));
    await pollUntil(() => upstream.cancellations.length === 1);
    expect(upstream.cancellations).toEqual(['Request timed out']);

    expect(await remote.callTool('echo', { message: 'again' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: again' }] });
    // One call that timed out says nothing of the session: the others on it go on.
    expect(upstream.requests.filter((request) => rpcMethod(request) === 'initialize')).toHaveLength(1);
  });

  it('relays a list change the upstream announces on the call’s stream, once per burst as the client does', async () => {
    const changes: ListKind[][] = [];
    const remote = source({ onListsChanged: (lists) => changes.push(lists) });
    const calls = Array.from({ length: 3 }, () => remote.callTool('announce', {}, quietContext()));
    expect((await Promise.all(calls)).map(text)).toEqual(['announced', 'announced', 'announced']);
    await pollUntil(() => changes.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Three announcements close together: told fewer times (once, unless the machine spread them past 100 ms).
    expect(changes.length).toBeLessThan(3);
    for (const change of changes) expect(change).toEqual(['tools']);
  });

  it('follows the endpoint’s same-origin redirect on direct calls, as the client does on its own requests', async () => {
    const moved = source({ url: upstream.url.replace(/\/mcp$/, '/moved') });
    expect(await moved.callTool('echo', { message: 'moved' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: moved' }] });
    const direct = upstream.requests.filter((request) => rpcMethod(request) === 'tools/call');
    expect(direct.map((request) => [request.path, request.status])).toEqual([
      ['/moved', 307],
      ['/mcp', 200],
    ]);
  });

  it('sends exactly the configured credentials on every request, the direct ones included', async () => {
    const remote = source({ token: 'upstream-token-1', headers: { 'X-Tenant': 'acme' }, secretHeaders: { 'X-Api-Key': 'secret-key' } });
    await remote.listTools(new AbortController().signal);
    await remote.callTool('echo', { message: 'hi' }, quietContext());
    await remote.callTool('ask-client', {}, quietContext());
    const controller = new AbortController();
    const hanging = remote.callTool('hang', {}, quietContext(controller.signal));
    await pollUntil(() => toolCalls(upstream.requests).length === 3);
    controller.abort();
    await hanging;
    await pollUntil(() => upstream.requests.some((request) => rpcMethod(request) === 'notifications/cancelled'));

    // Tool calls, answers to the upstream's requests, and the cancellation are all sent directly.
    expect(upstream.requests.filter((request) => request.body && !('method' in request.body))).toHaveLength(2);
    for (const { headers } of upstream.requests) {
      expect(headers['authorization']).toBe('Bearer upstream-token-1');
      expect(headers['x-tenant']).toBe('acme');
      expect(headers['x-api-key']).toBe('secret-key');
      const extra = Object.keys(headers).filter((name) => !TRANSPORT_HEADERS.has(name));
      expect(extra.sort()).toEqual(['authorization', 'x-api-key', 'x-tenant']);
    }
  });
});

describe('tool calls to a 2025-era upstream answering with JSON bodies', () => {
  let upstream: LegacyMcpServer;
  const sources = openedSources();

  beforeAll(async () => {
    upstream = await startLegacyMcpServer({ jsonResponse: true });
  });

  afterAll(async () => {
    await sources.closeAll();
    await upstream.close();
  });

  it('reads the answer from a JSON body, results and errors alike', async () => {
    const remote = sources.remote(upstream.url);
    expect(await remote.callTool('echo', { message: 'json' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: json' }] });
    expect(await remote.callTool('rpc-error', {}, quietContext())).toEqual(errorResult(expect.stringMatching(/answered with an error: .*quota exhausted/) as unknown as string));
    const calls = toolCalls(upstream.requests);
    expect(calls.map((call) => [call.body?.['id'], call.status])).toEqual([
      ['botgate-1', 200],
      ['botgate-2', 200],
    ]);
  });
});

describe('tool calls to a 2025-era upstream that closes a call’s event stream midway (SSE polling)', () => {
  let upstream: LegacyMcpServer;
  const sources = openedSources();
  const source = (options?: SourceOptions) => sources.remote(upstream.url, options);

  /** GETs that asked to resume a stream after an event. */
  const resumptions = () => upstream.requests.filter((request) => request.method === 'GET' && request.headers['last-event-id'] !== undefined);

  beforeAll(async () => {
    upstream = await startLegacyMcpServer({ resumeAfterMs: 20 });
  });

  afterEach(async () => {
    await sources.closeAll();
    upstream.requests.length = 0;
    upstream.refuseResumption = false;
  });

  afterAll(async () => {
    await upstream.close();
  });

  it('resumes the stream after its last event, as the client does, and relays what the upstream said before and after', async () => {
    const progress: Array<[number, number | undefined]> = [];
    const result = await source({ token: 'upstream-token-1' }).callTool('pause', {}, {
      signal: new AbortController().signal,
      progress: async (value, total) => void progress.push([value, total]),
    });
    expect(result).toEqual({ content: [{ type: 'text', text: 'resumed' }] });
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);

    const call = toolCalls(upstream.requests)[0];
    expect(call?.body?.['id']).toBe('botgate-1');
    // The upstream records a status once it has finished the response, which may be just after the answer arrived.
    await pollUntil(() => resumptions().every((request) => request.status !== undefined));
    expect(resumptions().map(({ status, headers }) => [status, headers['mcp-session-id'], headers['authorization'], headers['accept']])).toEqual([
      [200, call?.headers['mcp-session-id'], 'Bearer upstream-token-1', 'text/event-stream'],
    ]);
    // The event the upstream numbered last on the closed stream: the progress it sent before closing it.
    expect(resumptions()[0]?.headers['last-event-id']).toMatch(/^.+:\d+$/);
  });

  it('closes a resumed stream once its replay brought the answer: the upstream keeps such a stream open', async () => {
    // The answer is stored before the gateway comes back (no pause after closing), so it arrives as a replay.
    const result = await source().callTool('pause', { pauseMs: 0 }, quietContext());
    expect(result).toEqual({ content: [{ type: 'text', text: 'resumed' }] });
    await pollUntil(() => resumptions().every((request) => request.status !== undefined));
    expect(resumptions().map((request) => request.status)).toEqual([200]);
  });

  it('gives the client path’s result for the same call', async () => {
    const direct = await source().callTool('pause', {}, quietContext());
    const viaClient = sources.clientPath(upstream.url);
    expect(await viaClient.callTool('pause', {}, quietContext())).toEqual(direct);
    // Both resumed their stream once: the client after its own call, the direct leg after ours.
    expect(resumptions()).toHaveLength(2);
  });

  it('gives an error result naming the failed resumption when the upstream refuses it twice, and keeps the session', async () => {
    upstream.refuseResumption = true;
    const remote = source();
    expect(await remote.callTool('pause', {}, quietContext())).toEqual(
      unavailableResult(
        expect.stringMatching(
          /^upstream 127\.0\.0\.1:\d+ unavailable: the upstream ended the call's event stream before answering, and resuming it failed \(HTTP 503\)$/,
        ) as unknown as string,
      ),
    );
    await pollUntil(() => resumptions().every((request) => request.status !== undefined));
    expect(resumptions().map((request) => request.status)).toEqual([503, 503]);

    upstream.refuseResumption = false;
    expect(await remote.callTool('echo', { message: 'after' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: after' }] });
    expect(upstream.requests.filter((request) => rpcMethod(request) === 'initialize')).toHaveLength(1);
  });

  it('stops resuming when the caller cancels while it waits, and tells the upstream', async () => {
    // The upstream asks for a long wait before resuming; the caller gives up first.
    const slow = await startLegacyMcpServer({ resumeAfterMs: 5_000 });
    try {
      const remote = sources.remote(slow.url);
      const controller = new AbortController();
      const call = remote.callTool('pause', {}, quietContext(controller.signal));
      await pollUntil(() => toolCalls(slow.requests).length === 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      controller.abort(new Error('the user closed the chat'));
      expect(await call).toEqual({ content: [{ type: 'text', text: expect.stringMatching(/^The call to pause on .* was cancelled\.$/) }], isError: true });
      await pollUntil(() => slow.requests.some((request) => rpcMethod(request) === 'notifications/cancelled'));
      expect(slow.requests.filter((request) => request.method === 'GET' && request.headers['last-event-id'] !== undefined)).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});

describe('an upstream message over the operator’s limit', () => {
  const LIMIT = 64 * 1024;
  const limited = createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'], maxMessageBytes: LIMIT });
  const upstreams: LegacyMcpServer[] = [];
  const sources = openedSources();

  afterAll(async () => {
    await sources.closeAll();
    await Promise.all(upstreams.map((u) => u.close()));
  });

  for (const jsonResponse of [false, true]) {
    it(`${jsonResponse ? 'in a JSON body' : 'in an event'}: gives an error result naming the limit, keeps the session, and serves the next call`, async () => {
      const upstream = await startLegacyMcpServer({ jsonResponse });
      upstreams.push(upstream);
      const remote = sources.remote(upstream.url, { outbound: limited });

      expect(text(await remote.callTool('big', { bytes: LIMIT / 2 }, quietContext()))).toHaveLength(LIMIT / 2);
      expect(await remote.callTool('big', { bytes: LIMIT * 4 }, quietContext())).toEqual({
        content: [
          {
            type: 'text',
            text: expect.stringMatching(
              /^upstream 127\.0\.0\.1:\d+ gave an unusable answer: it sent a message of more than 65536 bytes, the limit for one message \(BOTGATE_UPSTREAM_MESSAGE_LIMIT\)$/,
            ),
          },
        ],
        isError: true,
      });
      expect(await remote.callTool('echo', { message: 'still here' }, quietContext())).toEqual({ content: [{ type: 'text', text: 'echo: still here' }] });
      expect(upstream.requests.filter((request) => rpcMethod(request) === 'initialize')).toHaveLength(1);
    });
  }

  it('through the SDK client (lists, resources, prompts, 2026-era calls): a JSON body or an event fails at once with the limit', async () => {
    for (const jsonResponse of [true, false]) {
      const upstream = await startLegacyMcpServer({ jsonResponse });
      upstreams.push(upstream);
      // A timeout longer than the test's own: the call must not wait it out.
      const source = sources.clientPath(upstream.url, { outbound: limited, timeoutMs: 120_000 });
      expect(text(await source.callTool('big', { bytes: LIMIT * 4 }, quietContext()))).toMatch(
        /^upstream 127\.0\.0\.1:\d+ gave an unusable answer: it sent a message of more than 65536 bytes, the limit for one message \(BOTGATE_UPSTREAM_MESSAGE_LIMIT\)$/,
      );
      // The event stream's request is cancelled upstream; the session serves the next call.
      if (!jsonResponse) await pollUntil(() => upstream.requests.some((request) => rpcMethod(request) === 'notifications/cancelled'));
      expect(text(await source.callTool('echo', { message: 'next' }, quietContext()))).toBe('echo: next');
      expect(upstream.requests.filter((request) => rpcMethod(request) === 'initialize')).toHaveLength(1);
    }
  });
});
