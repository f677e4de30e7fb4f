import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  isInitializeRequest,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { parseJsonObject, readBody } from './read-body.ts';

/** The MCP Apps extension (SEP-1865) as clients declare it and servers check it. */
const UI_EXTENSION = 'io.modelcontextprotocol/ui';
export const APP_MIME_TYPE = 'text/html;profile=mcp-app';

/** The upstream's view, its template, and a resource of another scheme. */
export const VIEW_URI = 'ui://demo/view.html';
export const VIEW_TEMPLATE = 'ui://demo/{page}.html';
export const NOTE_URI = 'demo://notes/readme';

/** The HTML of the view at `uri`. */
export const viewHtml = (uri: string) => `<!doctype html><title>${uri}</title><p>demo view</p>`;

/** What the upstream tells clients in its handshake. */
export const APPS_INSTRUCTIONS = 'Call show-view to show the demo view.';

/** The tool linked to the view, as the upstream lists it. */
export const SHOW_VIEW = {
  name: 'show-view',
  description: 'Shows the demo view.',
  inputSchema: { type: 'object' as const },
  // The current link and the deprecated flat one, as servers send both for older hosts.
  _meta: { ui: { resourceUri: VIEW_URI, visibility: ['model', 'app'] }, 'ui/resourceUri': VIEW_URI, 'example.com/owner': 'demo' },
};

/** What a call of `show-view` answers. */
export const SHOW_VIEW_RESULT = {
  content: [
    { type: 'text' as const, text: 'shown' },
    { type: 'resource_link' as const, uri: VIEW_URI, name: 'view', mimeType: APP_MIME_TYPE },
  ],
  _meta: { 'ui/resourceUri': VIEW_URI, 'example.com/trace': 'abc' },
};

/**
 * A 2025-era MCP server (the v1 SDK's `Server` over its Streamable HTTP
 * transport, with sessions) on 127.0.0.1 offering an MCP Apps view: the
 * `ui://` resource and a tool linked to it. As servers built with the ext-apps
 * helpers do, it offers the tool only to clients that declared the extension
 * with its MIME type; `echo` it offers to every client.
 */
export interface AppsMcpServer {
  url: string;
  close(): Promise<void>;
}

const ECHO = { name: 'echo', description: 'Echoes the message back.', inputSchema: { type: 'object' as const } };

/** The upstream's MCP server, for any transport (`apps-stdio-server.ts` serves it over stdio). */
export function createAppsServer(): Server {
  const server = new Server({ name: 'apps-upstream', version: '1.0.0' }, { capabilities: { tools: {}, resources: {} }, instructions: APPS_INSTRUCTIONS });
  const rendersApps = () => {
    const declared: { mimeTypes?: unknown } | undefined = server.getClientCapabilities()?.extensions?.[UI_EXTENSION];
    return Array.isArray(declared?.mimeTypes) && declared.mimeTypes.includes(APP_MIME_TYPE);
  };
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: rendersApps() ? [ECHO, SHOW_VIEW] : [ECHO] }));
  server.setRequestHandler(CallToolRequestSchema, ({ params }) => {
    if (params.name === 'echo') return { content: [{ type: 'text', text: `echo: ${String(params.arguments?.['message'])}` }] };
    if (params.name === 'show-view' && rendersApps()) return SHOW_VIEW_RESULT;
    throw new McpError(-32602, `unknown tool ${params.name}`);
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [
      { uri: VIEW_URI, name: 'view', mimeType: APP_MIME_TYPE, _meta: { ui: { prefersBorder: true } } },
      { uri: NOTE_URI, name: 'readme', mimeType: 'text/plain' },
    ],
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [{ uriTemplate: VIEW_TEMPLATE, name: 'page', mimeType: APP_MIME_TYPE }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, ({ params }) => {
    const { uri } = params;
    if (uri === NOTE_URI) return { contents: [{ uri, mimeType: 'text/plain', text: 'read me' }] };
    if (/^ui:\/\/demo\/[a-z0-9-]+\.html$/.test(uri)) return { contents: [{ uri, mimeType: APP_MIME_TYPE, text: viewHtml(uri) }] };
    throw new McpError(-32002, `Resource ${uri} not found`, { uri });
  });
  return server;
}

function answerJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Starts the upstream on an ephemeral port; its endpoint is `/mcp`. */
export async function startAppsMcpServer(): Promise<AppsMcpServer> {
  const sessions = new Map<string, { server: Server; transport: StreamableHTTPServerTransport }>();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = parseJsonObject(req.method === 'POST' ? await readBody(req) : '');
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return answerJson(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const server = createAppsServer();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
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
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    async close() {
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.all(open.map(({ server }) => server.close()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
