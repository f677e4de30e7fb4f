import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';

/** An MCP server (both eras) with one tool, `echo`, whose tools/list answers after `listDelayMs`. */
export interface SlowListingMcpServer {
  url: string;
  listDelayMs: number;
  close(): Promise<void>;
}

export async function startSlowListingMcpServer(): Promise<SlowListingMcpServer> {
  const state: SlowListingMcpServer = { url: '', listDelayMs: 0, close: async () => undefined };
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: 'slow-listing', version: '1.0.0' });
    server.registerTool('echo', { description: 'Echoes the message back.', inputSchema: z.object({ message: z.string().optional() }) }, async ({ message }) => ({
      content: [{ type: 'text', text: `echo: ${message ?? ''}` }],
    }));
    return server;
  });
  const node = toNodeHandler(handler);
  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const isList = (body as { method?: string } | undefined)?.method === 'tools/list';
      setTimeout(
        () => {
          node(req, res, body).catch(() => {
            if (!res.headersSent) res.writeHead(500);
            res.end();
          });
        },
        isList ? state.listDelayMs : 0,
      );
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`;
  state.close = async () => {
    await handler.close();
    httpServer.closeAllConnections();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  };
  return state;
}
