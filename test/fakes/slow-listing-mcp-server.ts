import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { listenForMcp } from './mcp-http.ts';
import { parseJsonObject, readBody } from './read-body.ts';

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
  const listener = await listenForMcp(async (req, res) => {
    const body = req.method === 'POST' ? parseJsonObject(await readBody(req)) : undefined;
    if (body?.['method'] === 'tools/list') await new Promise((resolve) => setTimeout(resolve, state.listDelayMs));
    await node(req, res, body);
  });
  state.url = listener.url;
  state.close = async () => {
    await handler.close();
    await listener.close();
  };
  return state;
}
