import { Server, type InputRequiredResult } from '@modelcontextprotocol/server';
import type { ContentCatalog } from './content-catalog.ts';
import { registerContentHandlers } from './content-handlers.ts';
import { askingOf, progressNotification, refuseUnknownTool, runToolCall, type ToolCallRunner } from './tool-call.ts';

/** How long a client may keep a list (the `tools/list` cache hint). */
export const LIST_TTL_MS = 60_000;
// Lists are per principal, so only that client may cache them.
const PRIVATE_LIST = { ttlMs: LIST_TTL_MS, cacheScope: 'private' } as const;

/**
 * A low-level MCP server over an endpoint's catalogs, built fresh for each
 * request. It declares resources, prompts and completions only when some
 * source offers them, and `listChanged` on tools, prompts and resources: the
 * gateway delivers their changes over `subscriptions/listen` and 2025-era GET
 * streams; and resource updates (`resources.subscribe`) when asked to and some
 * source can be watched.
 */
export function createToolServer(options: ToolCallRunner & {
  name: string;
  version: string;
  content: ContentCatalog;
  /**
   * Promise resource updates (when some source can be watched): they reach
   * 2026-07-28 clients on `subscriptions/listen`; a 2025-era client's
   * `resources/subscribe` would need a session, which stateless serving has not.
   */
  resourceUpdates: boolean;
  /**
   * The request's `tools/call` already ran on the direct path and asked for
   * input: it is answered with this result, not run again, so that the SDK
   * checks and encodes it as it does every `input_required` result.
   */
  answered?: InputRequiredResult | undefined;
  /** What the handshake (`initialize`, `server/discover`) tells the client: a single server's endpoint passes on its upstream's. */
  instructions?: string | undefined;
}): Server {
  // Changes reach clients (see listen-streams.ts) when a server is created, reconfigured or deleted, or a tool is withheld or approved.
  const changing = { listChanged: true };
  const subscribing = options.resourceUpdates && options.content.watchable ? { subscribe: true } : {};
  const { resources, prompts, completions } = options.content.capabilities;
  const server = new Server(
    { name: options.name, version: options.version },
    {
      capabilities: {
        tools: { ...changing },
        logging: {},
        ...(resources && { resources: { ...resources, ...changing, ...subscribing } }),
        ...(prompts && { prompts: { ...prompts, ...changing } }),
        ...(completions && { completions }),
      },
      ...(options.instructions !== undefined && { instructions: options.instructions }),
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

  server.setRequestHandler('tools/call', async (request, ctx) => {
    if (options.answered) return options.answered;
    const started = performance.now();
    const { name } = request.params;
    const routed = options.catalog.route(name);
    if (!routed) throw refuseUnknownTool(options, name, request.params.arguments ?? {}, started);
    const progressToken = ctx.mcpReq._meta?.progressToken;
    return runToolCall(options, routed, {
      ...askingOf(ctx.mcpReq),
      name,
      args: request.params.arguments ?? {},
      signal: ctx.mcpReq.signal,
      meta: ctx.mcpReq._meta,
      ...(progressToken !== undefined && {
        progress: (progress, total, message) => ctx.mcpReq.notify(progressNotification(progressToken, progress, total, message)),
      }),
    });
  });

  return server;
}
