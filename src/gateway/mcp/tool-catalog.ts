import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import type { ToolCallContext, ToolSource } from '../../servers/index.ts';

/** One tool source published on an endpoint, under a namespace or (single-server endpoints) none. */
export interface CatalogEntry {
  /** The server's slug; tools are named `{slug}__{tool}` when `namespaced`. */
  slug: string;
  serverId: string;
  source: ToolSource;
}

export const NAMESPACE_SEPARATOR = '__';

/** What `tools/list` shows and where `tools/call` goes, for one endpoint. */
export interface ToolCatalog {
  list(signal: AbortSignal): Promise<Tool[]>;
  /** The source and its own tool name for a published name, or undefined. */
  route(name: string): { entry: CatalogEntry; tool: string } | undefined;
}

/**
 * A catalog over several sources. A source whose listing fails is left out of
 * the list (and reported through `onListError`) without harming the others.
 */
export function createToolCatalog(
  entries: readonly CatalogEntry[],
  options: { namespaced: boolean; onListError: (entry: CatalogEntry, error: unknown) => void },
): ToolCatalog {
  const bySlug = new Map(entries.map((e) => [e.slug, e]));
  return {
    async list(signal) {
      const lists = await Promise.all(
        entries.map(async (entry) => {
          try {
            const tools = await entry.source.listTools(signal);
            return options.namespaced
              ? tools.map((tool) => ({ ...tool, name: `${entry.slug}${NAMESPACE_SEPARATOR}${tool.name}` }))
              : tools;
          } catch (error) {
            options.onListError(entry, error);
            return [];
          }
        }),
      );
      return lists.flat();
    },

    route(name) {
      if (!options.namespaced) {
        const only = entries[0];
        return only ? { entry: only, tool: name } : undefined;
      }
      const at = name.indexOf(NAMESPACE_SEPARATOR);
      if (at <= 0) return undefined;
      const entry = bySlug.get(name.slice(0, at));
      const tool = name.slice(at + NAMESPACE_SEPARATOR.length);
      return entry && tool ? { entry, tool } : undefined;
    },
  };
}

/** Calls a routed tool; the result comes back as the source produced it. */
export function callRoutedTool(
  routed: { entry: CatalogEntry; tool: string },
  args: Record<string, unknown>,
  context: ToolCallContext,
): Promise<CallToolResult> {
  return routed.entry.source.callTool(routed.tool, args, context);
}
