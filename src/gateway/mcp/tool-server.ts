import { ProtocolError, ProtocolErrorCode, Server, type CallToolResult } from '@modelcontextprotocol/server';
import type { Logger } from '../../shared/logger.ts';
import { UnknownToolError } from '../../servers/index.ts';
import { callRoutedTool, type CatalogEntry, type ToolCatalog } from './tool-catalog.ts';

/** What the gateway records about each tool call. */
export interface ToolCallRecord {
  entry: CatalogEntry;
  tool: string;
  args: Record<string, unknown>;
  outcome: 'ok' | 'tool_error' | 'failed';
  durationMs: number;
}

const LIST_TTL_MS = 60_000;

/**
 * A low-level MCP server over a tool catalog, built fresh for each request.
 * Tool lists are per principal, so they are cacheable by that client only.
 */
export function createToolServer(options: {
  name: string;
  version: string;
  catalog: ToolCatalog;
  logger: Logger;
  onToolCall: (record: ToolCallRecord) => void;
}): Server {
  const server = new Server(
    { name: options.name, version: options.version },
    {
      capabilities: { tools: { listChanged: true } },
      cacheHints: { 'tools/list': { ttlMs: LIST_TTL_MS, cacheScope: 'private' } },
    },
  );

  server.setRequestHandler('tools/list', async (_request, ctx) => ({
    tools: await options.catalog.list(ctx.mcpReq.signal),
  }));

  server.setRequestHandler('tools/call', async (request, ctx): Promise<CallToolResult> => {
    const { name } = request.params;
    const args = request.params.arguments ?? {};
    const routed = options.catalog.route(name);
    if (!routed) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const progressToken = ctx.mcpReq._meta?.progressToken;
    const started = performance.now();
    const record = (outcome: ToolCallRecord['outcome']) =>
      options.onToolCall({ entry: routed.entry, tool: routed.tool, args, outcome, durationMs: performance.now() - started });
    try {
      const result = await callRoutedTool(routed, args, {
        signal: ctx.mcpReq.signal,
        progress: async (progress, total, message) => {
          if (progressToken === undefined) return;
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress, ...(total !== undefined && { total }), ...(message !== undefined && { message }) },
          });
        },
      });
      record(result.isError ? 'tool_error' : 'ok');
      return result;
    } catch (error) {
      record('failed');
      if (error instanceof UnknownToolError) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
      options.logger.error({ err: error, server: routed.entry.slug, tool: routed.tool }, 'tool call failed');
      return { content: [{ type: 'text', text: `The tool ${name} failed unexpectedly; try again later.` }], isError: true };
    }
  });

  return server;
}
