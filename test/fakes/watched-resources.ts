import { randomUUID } from 'node:crypto';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  isInitializeRequest,
  ListResourcesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { listenForMcp } from './mcp-http.ts';
import { parseJsonObject, readBody } from './read-body.ts';

/** The resources both upstreams publish. */
export const WATCHED_URIS = ['res://a', 'res://b'] as const;

/** An upstream whose resources can be subscribed to, and which says when the test changes one. */
export interface WatchedResourceServer {
  url: string;
  /** URIs subscribed to, in order (a 2025 `resources/subscribe`, or a 2026 listen stream's `resourceSubscriptions`). */
  readonly subscribed: readonly string[];
  /** URIs whose subscription ended (`resources/unsubscribe`, or the listen stream closed). */
  readonly unsubscribed: readonly string[];
  /** Tells the subscribers of `uri` that it changed. */
  update(uri: string): void;
  close(): Promise<void>;
}

const readResult = (uri: string) => ({ contents: [{ uri, mimeType: 'text/plain', text: `contents of ${uri}` }] });

/** A 2026-07-28 upstream (v2 SDK): subscriptions are `subscriptions/listen` streams naming resources. */
export async function startModernResourceServer(): Promise<WatchedResourceServer> {
  const subscribed: string[] = [];
  const unsubscribed: string[] = [];
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: 'modern-resources', version: '1.0.0' }, { capabilities: { resources: { subscribe: true } } });
    for (const uri of WATCHED_URIS) server.registerResource(uri, uri, { mimeType: 'text/plain' }, () => readResult(uri));
    return server;
  });
  const node = toNodeHandler(handler);
  const listener = await listenForMcp(async (req, res) => {
    const body = req.method === 'POST' ? parseJsonObject(await readBody(req)) : undefined;
    const params = body?.['params'] as { notifications?: { resourceSubscriptions?: string[] } } | undefined;
    const uris = body?.['method'] === 'subscriptions/listen' ? (params?.notifications?.resourceSubscriptions ?? []) : [];
    subscribed.push(...uris);
    if (uris.length > 0) res.once('close', () => unsubscribed.push(...uris));
    await node(req, res, body);
  });
  return {
    url: listener.url,
    subscribed,
    unsubscribed,
    update: (uri) => handler.notify.resourceUpdated(uri),
    async close() {
      await handler.close();
      await listener.close();
    },
  };
}

/** A 2025-era upstream (v1 SDK, with sessions): `resources/subscribe` (refused for a URI it does not publish), updates on the session's stream. */
export async function startLegacyResourceServer(): Promise<WatchedResourceServer & { forgetSessions(): Promise<void> }> {
  const subscribed: string[] = [];
  const unsubscribed: string[] = [];
  const sessions = new Map<string, { server: Server; transport: StreamableHTTPServerTransport; watching: Set<string> }>();

  function createSession(): { server: Server; watching: Set<string> } {
    const watching = new Set<string>();
    const server = new Server({ name: 'legacy-resources', version: '1.0.0' }, { capabilities: { resources: { subscribe: true } } });
    server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: WATCHED_URIS.map((uri) => ({ uri, name: uri })) }));
    server.setRequestHandler(ReadResourceRequestSchema, ({ params }) => readResult(params.uri));
    server.setRequestHandler(SubscribeRequestSchema, ({ params }) => {
      subscribed.push(params.uri);
      // As a server that checks: a resource it does not have cannot be watched.
      if (!(WATCHED_URIS as readonly string[]).includes(params.uri)) throw new McpError(-32002, `Resource not found: ${params.uri}`);
      watching.add(params.uri);
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, ({ params }) => {
      unsubscribed.push(params.uri);
      watching.delete(params.uri);
      return {};
    });
    return { server, watching };
  }

  const listener = await listenForMcp(async (req, res) => {
    const body = req.method === 'POST' ? parseJsonObject(await readBody(req)) : undefined;
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }));
        return;
      }
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      res.writeHead(400).end();
      return;
    }
    const { server, watching } = createSession();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, { server, transport, watching }),
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });

  async function forgetSessions(): Promise<void> {
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.all(open.map(({ server }) => server.close()));
  }

  return {
    url: listener.url,
    subscribed,
    unsubscribed,
    update(uri) {
      for (const { server, watching } of sessions.values()) if (watching.has(uri)) void server.sendResourceUpdated({ uri });
    },
    forgetSessions,
    async close() {
      await forgetSessions();
      await listener.close();
    },
  };
}
