import { isInputRequiredResult, type Tool } from '@modelcontextprotocol/server';
import type { RemoteSource, ToolCallContext, ToolCallOutcome } from '../../servers/index.ts';
import {
  aggregateNamespace,
  namespaceContentUris,
  namespaceResultView,
  namespaceToolViews,
  singleServerNamespace,
  type Namespace,
} from './namespacing.ts';

export { NAMESPACE_SEPARATOR } from './namespacing.ts';

/**
 * A source as the gateway publishes it: tools, and optionally resources,
 * prompts and completions (upstreams proxy theirs; built-in servers have
 * none). A source without them contributes nothing to those lists.
 */
export type ProxiedSource = RemoteSource;

/** One source published on an endpoint, under a namespace or (single-server endpoints) none. */
export interface CatalogEntry {
  /** The server's slug; names are `{slug}__{name}` and URIs `botgate://{slug}/{uri}` (`ui://{slug}__{rest}` for `ui://{rest}`) when `namespaced`. */
  slug: string;
  serverId: string;
  /** The server's kind (`filesystem`, `remote`, ...; `bot` for bots), as the metrics count calls. */
  kind?: string;
  source: ProxiedSource;
  /** What the audit trail names for a call of `tool`; a server (`serverId`) when absent. */
  audit?: (tool: string) => { resourceType: string; resourceId: string | null };
}

export interface CatalogOptions {
  namespaced: boolean;
  /**
   * How long the aggregate waits for a source's list (default
   * `AGGREGATE_LIST_WAIT_MS`); a source that has not answered by then is left
   * out of this answer, so one slow server does not hold up the others.
   */
  listWaitMs?: (entry: CatalogEntry) => number;
  /** Told about a source whose listing failed and was left out; `what` names the list. */
  onListError: (entry: CatalogEntry, error: unknown, what: string) => void;
}

/** A published name resolved to its source and the source's own name. */
export interface RoutedTool {
  entry: CatalogEntry;
  tool: string;
}

/** What `tools/list` shows and where `tools/call` goes, for one endpoint. */
export interface ToolCatalog {
  list(signal: AbortSignal): Promise<Tool[]>;
  /** The source and its own tool name for a published name, or undefined. */
  route(name: string): RoutedTool | undefined;
  /**
   * Calls a routed tool; in the aggregate, resource URIs in the result (and
   * its MCP Apps view link) are namespaced so they can be read back. A
   * request for input passes unchanged.
   */
  call(routed: RoutedTool, args: Record<string, unknown>, context: ToolCallContext): Promise<ToolCallOutcome>;
}

/** How an endpoint's catalogs find sources and translate names; shared by the tool and content catalogs. */
export interface CatalogRouting {
  readonly entries: readonly CatalogEntry[];
  readonly namespace: Namespace;
  readonly namespaced: boolean;
  entry(slug: string): CatalogEntry | undefined;
}

/** The routing of one endpoint over `entries`. */
export function createCatalogRouting(entries: readonly CatalogEntry[], namespaced: boolean): CatalogRouting {
  const bySlug = new Map(entries.map((e) => [e.slug, e]));
  const only = entries[0];
  return {
    entries,
    namespaced,
    // A single-server endpoint has one source; every name belongs to it.
    namespace: namespaced || !only ? aggregateNamespace : singleServerNamespace(only.slug),
    entry: (slug) => bySlug.get(slug),
  };
}

/** How long the aggregate endpoint waits for one source's list before answering without it. */
export const AGGREGATE_LIST_WAIT_MS = 5_000;

/** How long the aggregate stops waiting for a server whose list failed or came late. */
export const FAILED_LIST_MEMORY_MS = 30_000;

/**
 * How long the aggregate waits for each server's list: not at all, for
 * `FAILED_LIST_MEMORY_MS`, after one failed or came late (its listing still
 * runs, and may recover), so that a hanging upstream costs its tenant one
 * wait rather than one every listing.
 */
export function createListWaits(now: () => number = Date.now): { waitMs(entry: CatalogEntry): number; failed(entry: CatalogEntry): void } {
  const failedUntil = new Map<string, number>();
  return {
    waitMs(entry) {
      const until = failedUntil.get(entry.serverId);
      if (until !== undefined && until > now()) return 0;
      failedUntil.delete(entry.serverId);
      return AGGREGATE_LIST_WAIT_MS;
    },
    failed(entry) {
      // Bots have no server id; they run in this process. Missing the no-wait while remembered
      // does not prolong it: once it ends, the next listing waits for the server again.
      const until = failedUntil.get(entry.serverId);
      if (entry.serverId && (until === undefined || until <= now())) failedUntil.set(entry.serverId, now() + FAILED_LIST_MEMORY_MS);
    },
  };
}

/** `listed`, or a failure saying it took too long once `ms` have passed; the listing itself goes on, bounded by its source. */
function withinWait<T>(listed: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`its ${what} did not come within ${ms} ms; left out of this answer`)), ms);
  });
  return Promise.race([listed, late]).finally(() => clearTimeout(timer));
}

/**
 * Lists one kind of item from every source that offers it, concurrently. A
 * source whose listing fails is reported, and left out of the aggregate
 * without harming the others; a single server's endpoint, which has no
 * others, answers with the failure instead of an empty list that would hide it.
 * A listing that failed because the client gave up (`signal`) is not the
 * source's failure and is not reported: it would make other clients' listings
 * leave the source out.
 */
export async function collectLists<T>(
  entries: readonly CatalogEntry[],
  what: string,
  fetch: (entry: CatalogEntry) => Promise<T[]> | undefined,
  options: CatalogOptions,
  signal?: AbortSignal,
): Promise<T[]> {
  const lists = await Promise.all(
    entries.map(async (entry) => {
      try {
        const listed = fetch(entry);
        return (await (options.namespaced && listed ? withinWait(listed, options.listWaitMs?.(entry) ?? AGGREGATE_LIST_WAIT_MS, what) : listed)) ?? [];
      } catch (error) {
        if (!signal?.aborted) options.onListError(entry, error, what);
        if (!options.namespaced) throw error;
        return [];
      }
    }),
  );
  return lists.flat();
}

/** A tool catalog over several sources. */
export function createToolCatalog(entries: readonly CatalogEntry[], options: CatalogOptions): ToolCatalog {
  const routing = createCatalogRouting(entries, options.namespaced);
  const { namespace } = routing;
  return {
    list: (signal) =>
      collectLists(
        entries,
        'tools',
        async (entry) => {
          const tools = await entry.source.listTools(signal);
          if (!options.namespaced) return tools;
          return tools.map((tool) => ({ ...namespaceToolViews(namespace, entry.slug, tool), name: namespace.name(entry.slug, tool.name) }));
        },
        options,
        signal,
      ),

    route(name) {
      const parsed = namespace.parseName(name);
      const entry = parsed && routing.entry(parsed.slug);
      return entry && parsed ? { entry, tool: parsed.name } : undefined;
    },

    async call(routed, args, context) {
      const result = await routed.entry.source.callTool(routed.tool, args, context);
      if (!options.namespaced || isInputRequiredResult(result)) return result;
      const { slug } = routed.entry;
      return { ...namespaceResultView(namespace, slug, result), content: result.content.map((block) => namespaceContentUris(namespace, slug, block)) };
    },
  };
}
