import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport, type EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ElicitResultSchema,
  EmptyResultSchema,
  isInitializeRequest,
  type JSONRPCMessage,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { parseJsonObject, readBody } from './read-body.ts';

/** One HTTP request the upstream received, and the status it answered. */
export interface LegacyRequest {
  method: string;
  /** The request's path: `/mcp`, or `/moved`, which redirects (307) there. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body of a POST. */
  body: Record<string, unknown> | undefined;
  status?: number;
}

/**
 * A 2025-era MCP server with sessions (the v1 SDK's `Server` over its
 * Streamable HTTP transport) on 127.0.0.1, recording every request.
 */
export interface LegacyMcpServer {
  url: string;
  requests: LegacyRequest[];
  /** The reasons of the calls of `hang` that the server saw cancelled. */
  cancellations: string[];
  /** Forgets every session, as a restarted server does: their requests then get 404. */
  forgetSessions(): Promise<void>;
  /** While true, a GET resuming a stream (`Last-Event-ID`) gets 503. */
  refuseResumption: boolean;
  close(): Promise<void>;
}

/** The base64 of a 1×1 PNG. */
export const TINY_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** The result a broken upstream answers `broken-result` with: content that is not a list. */
export const BROKEN_RESULT = { content: 'not a list' };

const TOOLS = [
  { name: 'echo', description: 'Echoes the message back.', inputSchema: { type: 'object', properties: { message: { type: 'string' } } } },
  { name: 'show-image', description: 'Returns an image with a caption.', inputSchema: { type: 'object' } },
  {
    name: 'forecast',
    description: 'Structured weather.',
    inputSchema: { type: 'object' },
    outputSchema: { type: 'object', properties: { celsius: { type: 'number' }, sky: { type: 'string' } } },
  },
  { name: 'fail', description: 'Fails as a tool.', inputSchema: { type: 'object' } },
  { name: 'count', description: 'Counts to `to`, reporting progress every `stepMs`.', inputSchema: { type: 'object' } },
  { name: 'ask-client', description: 'Pings the client and asks for its roots mid-call.', inputSchema: { type: 'object' } },
  { name: 'confirm', description: 'Asks the client (form elicitation) whether to go on, and says what it answered.', inputSchema: { type: 'object' } },
  { name: 'announce', description: 'Says on the call’s stream that the tool list changed.', inputSchema: { type: 'object' } },
  { name: 'rpc-error', description: 'Answers with a JSON-RPC error.', inputSchema: { type: 'object' } },
  { name: 'broken-result', description: 'Answers with an invalid result.', inputSchema: { type: 'object' } },
  { name: 'hang', description: 'Never answers until cancelled.', inputSchema: { type: 'object' } },
  { name: 'big', description: 'Answers with `bytes` characters of text.', inputSchema: { type: 'object' } },
  {
    name: 'pause',
    description: 'Reports progress, closes the call’s event stream (resumable upstreams only), then reports again and answers.',
    inputSchema: { type: 'object' },
  },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function createServer(cancellations: string[]): Server {
  const server = new Server({ name: 'legacy-upstream', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async ({ params }, extra) => {
    const args = params.arguments ?? {};
    switch (params.name) {
      case 'echo':
        return { content: [{ type: 'text', text: `echo: ${String(args['message'])}` }] };
      case 'show-image':
        return {
          content: [
            { type: 'text', text: 'a pixel', annotations: { audience: ['user'], priority: 0.5 } },
            { type: 'image', data: TINY_PNG, mimeType: 'image/png' },
          ],
          _meta: { 'example.com/trace': 'abc' },
        };
      case 'forecast':
        return { content: [{ type: 'text', text: '{"celsius":21,"sky":"clear"}' }], structuredContent: { celsius: 21, sky: 'clear' } };
      case 'fail':
        return { content: [{ type: 'text', text: 'the disk is full' }], isError: true };
      case 'count': {
        const to = Number(args['to']);
        // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
        const progressToken = extra._meta?.progressToken;
        for (let step = 1; step <= to; step++) {
          await sleep(Number(args['stepMs'] ?? 10));
          if (progressToken !== undefined) {
            await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: step, total: to, message: `step ${step}` } });
          }
        }
        return { content: [{ type: 'text', text: `counted to ${to}` }] };
      }
      case 'ask-client': {
        await extra.sendRequest({ method: 'ping' }, EmptyResultSchema);
        const roots = await extra.sendRequest({ method: 'roots/list' }, ListRootsResultSchema).then(
          () => 'answered',
          (error: Error) => error.message,
        );
        return { content: [{ type: 'text', text: `ping: answered; roots/list: ${roots}` }] };
      }
      case 'confirm': {
        const answer = await extra.sendRequest(
          { method: 'elicitation/create', params: { message: 'Go on?', requestedSchema: { type: 'object', properties: { sure: { type: 'boolean' } } } } },
          ElicitResultSchema,
        );
        return { content: [{ type: 'text', text: `answered ${answer.action} ${JSON.stringify(answer.content ?? {})}` }] };
      }
      case 'announce':
        await extra.sendNotification({ method: 'notifications/tools/list_changed' });
        return { content: [{ type: 'text', text: 'announced' }] };
      case 'rpc-error':
        throw new McpError(-32042, 'quota exhausted', { retryAfter: 5 });
      case 'big':
        return { content: [{ type: 'text', text: 'x'.repeat(Number(args['bytes'])) }] };
      case 'pause': {
        // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
        const progressToken = extra._meta?.progressToken;
        const progress = (step: number) =>
          progressToken === undefined
            ? Promise.resolve()
            : extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: step, total: 2 } });
        await progress(1);
        extra.closeSSEStream?.();
        await sleep(Number(args['pauseMs'] ?? 50));
        await progress(2);
        return { content: [{ type: 'text', text: 'resumed' }] };
      }
      case 'hang':
        await new Promise<void>((resolve) => {
          extra.signal.addEventListener(
            'abort',
            () => {
              cancellations.push(String(extra.signal.reason));
              resolve();
            },
            { once: true },
          );
        });
        return { content: [{ type: 'text', text: 'too late' }] };
      default:
        throw new McpError(-32602, `unknown tool ${params.name}`);
    }
  });
  return server;
}

/** Events kept per stream so a client can resume after the last one it saw, as the SDK's event store contract asks. */
function createEventStore(): EventStore {
  const events: Array<{ id: string; streamId: string; message: JSONRPCMessage }> = [];
  return {
    storeEvent(streamId, message) {
      const id = `${streamId}:${events.length}`;
      events.push({ id, streamId, message });
      return Promise.resolve(id);
    },
    getStreamIdForEventId(eventId) {
      return Promise.resolve(events.find((event) => event.id === eventId)?.streamId);
    },
    async replayEventsAfter(lastEventId, { send }) {
      const index = events.findIndex((event) => event.id === lastEventId);
      const streamId = events[index]?.streamId ?? '';
      // Priming events (empty messages) are not messages to replay.
      for (const event of events.slice(index + 1)) {
        if (event.streamId === streamId && Object.keys(event.message).length > 0) await send(event.id, event.message);
      }
      return streamId;
    },
  };
}

function answerJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * Starts the upstream on an ephemeral port; its endpoint is `/mcp`.
 * `jsonResponse` makes it answer requests with JSON bodies instead of event streams.
 * `resumeAfterMs` makes its streams resumable: events are kept, each stream
 * opens with a priming event asking clients to reconnect after that delay,
 * and `pause` closes its call's stream midway.
 */
export async function startLegacyMcpServer({ jsonResponse = false, resumeAfterMs }: { jsonResponse?: boolean; resumeAfterMs?: number } = {}): Promise<LegacyMcpServer> {
  const requests: LegacyRequest[] = [];
  const cancellations: string[] = [];
  const sessions = new Map<string, { server: Server; transport: StreamableHTTPServerTransport }>();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = parseJsonObject(req.method === 'POST' ? await readBody(req) : '');
    const recorded: LegacyRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
    requests.push(recorded);
    res.once('finish', () => (recorded.status = res.statusCode));
    // A stream the client closed before the server ended it: its status is what the headers said.
    res.once('close', () => (recorded.status ??= res.headersSent ? res.statusCode : undefined));
    // An endpoint that moved within the server, as a trailing-slash or renamed route does.
    if (req.url === '/moved') return void res.writeHead(307, { location: '/mcp' }).end();
    if (req.method === 'GET' && req.headers['last-event-id'] !== undefined && fake.refuseResumption) {
      return answerJson(res, 503, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Resumption unavailable' } });
    }

    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return answerJson(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      // A result no SDK server would send: the upstream is broken.
      if (body?.['method'] === 'tools/call' && (body['params'] as { name?: unknown } | undefined)?.name === 'broken-result') {
        return answerJson(res, 200, { jsonrpc: '2.0', id: body['id'], result: BROKEN_RESULT });
      }
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const server = createServer(cancellations);
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: jsonResponse,
        ...(resumeAfterMs !== undefined && { eventStore: createEventStore(), retryInterval: resumeAfterMs }),
        onsessioninitialized: (id) => void sessions.set(id, { server, transport }),
      });
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    answerJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: No valid session ID provided' } });
  }

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;

  async function forgetSessions(): Promise<void> {
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.all(open.map(({ server }) => server.close()));
  }

  const fake: LegacyMcpServer = {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    cancellations,
    forgetSessions,
    refuseResumption: false,
    async close() {
      await forgetSessions();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
  return fake;
}
