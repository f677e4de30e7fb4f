import type { Tool } from '@modelcontextprotocol/server';
import type { ToolCatalog } from '../mcp/tool-catalog.ts';

const isReadOnly = (tool: Tool) => tool.annotations?.readOnlyHint === true;

/** An endpoint's catalog as an `mcp:read` token sees it, and the check that refuses its other calls. */
export interface ReadOnlyView {
  /** Lists only read-only tools; routes only names known to be read-only (after `deniedCall`). */
  catalog: ToolCatalog;
  /** The first tool a JSON-RPC body calls that is not read-only, or undefined when none is. */
  deniedCall(body: unknown, signal: AbortSignal): Promise<string | undefined>;
}

/** The `tools/call` names in a JSON-RPC message or batch. */
export function calledTools(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((message) => {
    if (typeof message !== 'object' || message === null) return [];
    const { method, params } = message as { method?: unknown; params?: { name?: unknown } };
    return method === 'tools/call' && typeof params?.name === 'string' ? [params.name] : [];
  });
}

/**
 * Read-only access: a tool counts as read-only when its definition says so
 * (`readOnlyHint`); built-in servers set it honestly, and upstream definitions
 * are pinned and approved by an admin before they are served.
 */
export function createReadOnlyView(catalog: ToolCatalog): ReadOnlyView {
  let allowed: Set<string> | undefined;
  let listing: Promise<Tool[]> | undefined;
  // One listing per request serves the check and the routing.
  const listAll = (signal: AbortSignal) =>
    (listing ??= catalog.list(signal).then((tools) => {
      allowed = new Set(tools.filter(isReadOnly).map((t) => t.name));
      return tools;
    }));

  return {
    catalog: {
      list: async (signal) => (await catalog.list(signal)).filter(isReadOnly),
      // Nothing is routed that was not seen to be read-only: an unchecked name is an unknown tool.
      route: (name) => (allowed?.has(name) ? catalog.route(name) : undefined),
      call: (routed, args, context) => catalog.call(routed, args, context),
    },
    async deniedCall(body, signal) {
      const names = calledTools(body);
      if (names.length === 0) return undefined;
      const all = await listAll(signal);
      const known = new Set(all.map((t) => t.name));
      // An unknown name is left to the server, which answers "Unknown tool" as for anyone.
      return names.find((name) => known.has(name) && !allowed?.has(name));
    },
  };
}
