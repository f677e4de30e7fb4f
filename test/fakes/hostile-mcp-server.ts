import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, isInitializeRequest, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { parseJsonObject, readBody } from './read-body.ts';

/** The protocol an upstream speaks: 2025-11-25 with sessions, or 2026-07-28 stateless. */
export type HostileEra = 'legacy' | 'modern';

/** One HTTP request the upstream received. */
export interface HostileRequest {
  method: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body of a POST. */
  body: Record<string, unknown> | undefined;
}

/** What became of one call of `sleep`. */
export interface SleepRun {
  ms: number;
  outcome: 'completed' | 'cancelled';
}

/**
 * An MCP upstream on 127.0.0.1 that misbehaves on request, in either era.
 * `sleep` ({ ms }) answers after `ms`, or stops when cancelled (its runs are
 * recorded). The tools in `HOSTILE_TOOLS` answer, after `afterMs` (default
 * 0), with something no MCP server should send.
 */
export interface HostileMcpServer {
  url: string;
  era: HostileEra;
  requests: HostileRequest[];
  /** Every call of `sleep` that ended, in the order they ended. */
  runs: SleepRun[];
  /** Sessions open now (2025 era). */
  readonly openSessions: number;
  /** When set, `tools/list` is answered with these raw definitions. */
  listedTools: unknown[] | undefined;
  /** Where `redirect` points. */
  redirectTo: string;
  /** When set, every request is answered as this hostile tool answers, from the first (as a misconfigured endpoint does). */
  answerAll: 'redirect' | 'unauthorized' | 'forbidden' | undefined;
  close(): Promise<void>;
}

/** The tools that answer badly, by what they answer. */
export const HOSTILE_TOOLS = ['invalid-json', 'http-500', 'wrong-id', 'redirect', 'unauthorized', 'forbidden', 'reset'] as const;
type HostileTool = (typeof HOSTILE_TOOLS)[number];

const isHostile = (name: unknown): name is HostileTool => HOSTILE_TOOLS.includes(name as HostileTool);

const SLEEP_DESCRIPTION = 'Answers after `ms` milliseconds.';

/** Waits `ms`, recording whether the wait completed or was cancelled through `signal`. */
function sleep(ms: number, signal: AbortSignal, runs: SleepRun[]): Promise<{ content: Array<{ type: 'text'; text: string }> }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      runs.push({ ms, outcome: 'completed' });
      resolve({ content: [{ type: 'text', text: `slept ${ms} ms` }] });
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      runs.push({ ms, outcome: 'cancelled' });
      resolve({ content: [{ type: 'text', text: 'cancelled' }] });
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function answerJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Answers a call of a hostile tool as its name says. */
function misbehave(res: http.ServerResponse, tool: HostileTool, id: unknown, redirectTo: string): void {
  switch (tool) {
    case 'invalid-json':
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":');
    case 'http-500':
      return answerJson(res, 500, { jsonrpc: '2.0', id, error: { code: -32603, message: 'the tool crashed' } });
    case 'wrong-id':
      return answerJson(res, 200, { jsonrpc: '2.0', id: typeof id === 'number' ? id + 1000 : `${String(id)}-other`, result: { content: [] } });
    case 'redirect':
      return void res.writeHead(302, { location: redirectTo }).end();
    case 'unauthorized':
      return void res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    case 'forbidden':
      return answerJson(res, 403, { error: 'forbidden' });
    case 'reset':
      // The connection breaks under the request, as when the upstream's process dies.
      return void res.socket?.destroy();
  }
}

function legacyServer(runs: SleepRun[]): Server {
  const server = new Server({ name: 'hostile-upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [{ name: 'sleep', description: SLEEP_DESCRIPTION, inputSchema: { type: 'object', properties: { ms: { type: 'number' } } } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, ({ params }, extra) => {
    if (params.name !== 'sleep') throw new McpError(-32602, `unknown tool ${params.name}`);
    return sleep(Number(params.arguments?.['ms']), extra.signal, runs);
  });
  return server;
}

function modernServer(runs: SleepRun[]): McpServer {
  const server = new McpServer({ name: 'hostile-upstream', version: '1.0.0' });
  server.registerTool('sleep', { description: SLEEP_DESCRIPTION, inputSchema: z.object({ ms: z.number() }) }, ({ ms }, ctx) =>
    sleep(ms, ctx.mcpReq.signal, runs),
  );
  return server;
}

/** Starts the upstream on an ephemeral port; its endpoint is `/mcp`. */
export async function startHostileMcpServer(era: HostileEra): Promise<HostileMcpServer> {
  const requests: HostileRequest[] = [];
  const runs: SleepRun[] = [];
  const sessions = new Map<string, { server: Server; transport: StreamableHTTPServerTransport }>();
  const modern = toNodeHandler(createMcpHandler(() => modernServer(runs)));

  /** Answers a request the upstream misbehaves on; false for one served as a real server would. */
  function answeredBadly(body: Record<string, unknown> | undefined, res: http.ServerResponse): boolean {
    const params = (body?.['params'] ?? {}) as { name?: unknown; arguments?: { afterMs?: unknown } };
    if (body?.['method'] === 'tools/list' && fake.listedTools) {
      const result = { tools: fake.listedTools, ...(era === 'modern' && { resultType: 'complete', ttlMs: 0, cacheScope: 'private' }) };
      answerJson(res, 200, { jsonrpc: '2.0', id: body['id'], result });
      return true;
    }
    if (body?.['method'] !== 'tools/call' || !isHostile(params.name)) return false;
    const tool = params.name;
    setTimeout(() => misbehave(res, tool, body['id'], fake.redirectTo), Number(params.arguments?.afterMs ?? 0));
    return true;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = parseJsonObject(req.method === 'POST' ? await readBody(req) : '');
    requests.push({ method: req.method ?? '', headers: req.headers, body });
    if (fake.answerAll) return misbehave(res, fake.answerAll, body?.['id'], fake.redirectTo);
    if (era === 'modern') {
      if (!answeredBadly(body, res)) await modern(req, res, body);
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return answerJson(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      if (!answeredBadly(body, res)) await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const server = legacyServer(runs);
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, { server, transport }),
        onsessionclosed: (id) => void sessions.delete(id),
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

  const fake: HostileMcpServer = {
    url: `http://127.0.0.1:${port}/mcp`,
    era,
    requests,
    runs,
    get openSessions() {
      return sessions.size;
    },
    listedTools: undefined,
    redirectTo: 'https://login.example.com/sso?next=%2Fmcp',
    answerAll: undefined,
    async close() {
      await Promise.all([...sessions.values()].map(({ server }) => server.close()));
      sessions.clear();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
  return fake;
}
