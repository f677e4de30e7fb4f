import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { parseJsonObject, readBody } from './read-body.ts';

/**
 * A stateless 2025-era MCP server (the v1 SDK's `Server`, a fresh one per
 * request) on 127.0.0.1 that lists whatever `list()` returns, however
 * malformed: duplicate names, names MCP does not allow, NUL characters,
 * megabytes of description. Every tool it is called with answers `ran {name}`.
 */
export interface ListingMcpServer {
  url: string;
  /** The raw tool definitions the next `tools/list` answers with. */
  list: () => unknown[];
  /** Names of the tools called, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

/** Starts the fake upstream on an ephemeral port; its endpoint is `/mcp`. */
export async function startListingMcpServer(list: () => unknown[]): Promise<ListingMcpServer> {
  const calls: string[] = [];
  const fake: ListingMcpServer = { url: '', list, calls, close: async () => undefined };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const body = parseJsonObject(await readBody(req));
    const server = new Server({ name: 'listing-upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: fake.list() }));
    server.setRequestHandler(CallToolRequestSchema, ({ params }) => {
      calls.push(params.name);
      return { content: [{ type: 'text', text: `ran ${params.name}` }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.once('close', () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`;
  fake.close = async () => {
    httpServer.closeAllConnections();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  };
  return fake;
}
