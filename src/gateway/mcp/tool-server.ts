import { ProtocolError, ProtocolErrorCode, Server, type CallToolResult } from '@modelcontextprotocol/server';
import type { Logger } from '../../shared/logger.ts';
import { UnknownToolError } from '../../servers/index.ts';
import type { ContentCatalog } from './content-catalog.ts';
import { registerContentHandlers } from './content-handlers.ts';
import type { CatalogEntry, ToolCatalog } from './tool-catalog.ts';

/** What the gateway records about each tool call. */
export interface ToolCallRecord {
  entry: CatalogEntry;
  tool: string;
  args: Record<string, unknown>;
  outcome: 'ok' | 'tool_error' | 'failed';
  durationMs: number;
}

/** How long a client may keep a list (the `tools/list` cache hint). */
export const LIST_TTL_MS = 60_000;
// Lists are per principal, so only that client may cache them.
const PRIVATE_LIST = { ttlMs: LIST_TTL_MS, cacheScope: 'private' } as const;

/**
 * A low-level MCP server over an endpoint's catalogs, built fresh for each
 * request. It declares resources, prompts and completions only when some
 * source offers them, and `listChanged` on tools, prompts and resources when
 * asked to: the gateway then delivers their changes over `subscriptions/listen`.
 */
export function createToolServer(options: {
  name: string;
  version: string;
  catalog: ToolCatalog;
  content: ContentCatalog;
  logger: Logger;
  /**
   * Promise list-changed notifications. They reach 2026-07-28 clients over
   * `subscriptions/listen` (see listen-streams.ts) when a server is created,
   * reconfigured or deleted, or a tool is withheld or approved; 2025-era
   * clients are served statelessly, without a stream to carry them, so they
   * are promised none.
   */
  listChanged: boolean;
  onToolCall: (record: ToolCallRecord) => void;
}): Server {
  const changing = options.listChanged ? { listChanged: true } : {};
  const { resources, prompts, completions } = options.content.capabilities;
  const server = new Server(
    { name: options.name, version: options.version },
    {
      capabilities: {
        tools: { ...changing },
        logging: {},
        ...(resources && { resources: { ...resources, ...changing } }),
        ...(prompts && { prompts: { ...prompts, ...changing } }),
        ...(completions && { completions }),
      },
      cacheHints: {
        'tools/list': PRIVATE_LIST,
        'resources/list': PRIVATE_LIST,
        'resources/templates/list': PRIVATE_LIST,
        'prompts/list': PRIVATE_LIST,
        // Resource contents may change at any time; the upstream's own hint, when it gives one, wins.
        'resources/read': { ttlMs: 0, cacheScope: 'private' },
      },
    },
  );
  registerContentHandlers(server, options.content, options.logger);

  // 2025-era clients may set a log level; the gateway sends no log notifications, so every level holds.
  server.setRequestHandler('logging/setLevel', () => ({}));

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
      const result = await options.catalog.call(routed, args, {
        signal: ctx.mcpReq.signal,
        meta: ctx.mcpReq._meta,
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
