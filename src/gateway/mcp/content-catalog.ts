import {
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  type CompleteRequestParams,
  type CompleteResult,
  type GetPromptResult,
  type InputRequiredResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplateType,
  type ServerCapabilities,
} from '@modelcontextprotocol/server';
import type { AskingContext, ResourceWatchListener } from '../../servers/index.ts';
import { namespaceContentUris } from './namespacing.ts';
import { collectLists, createCatalogRouting, type CatalogEntry, type CatalogOptions } from './tool-catalog.ts';

/**
 * An endpoint's resources, resource templates, prompts and completions,
 * gathered from the sources that offer them and routed back by name or URI.
 * Lookups that match no source throw the JSON-RPC error a client expects;
 * a source's own failures propagate for the caller to translate.
 */
export interface ContentCatalog {
  /** The capabilities the sources support between them; none for an endpoint of built-in servers only. */
  readonly capabilities: Pick<ServerCapabilities, 'resources' | 'prompts' | 'completions'>;
  listResources(signal: AbortSignal): Promise<Resource[]>;
  listResourceTemplates(signal: AbortSignal): Promise<ResourceTemplateType[]>;
  /**
   * Throws `ResourceNotFoundError` for a URI no source publishes. A source's
   * request for the client's input passes unchanged, as with `getPrompt`.
   */
  readResource(uri: string, signal: AbortSignal, asking?: AskingContext): Promise<ReadResourceResult | InputRequiredResult>;
  listPrompts(signal: AbortSignal): Promise<Prompt[]>;
  /** Throws an Invalid Params error for a prompt no source publishes. */
  getPrompt(
    name: string,
    args: Record<string, string> | undefined,
    signal: AbortSignal,
    asking?: AskingContext,
  ): Promise<GetPromptResult | InputRequiredResult>;
  complete(params: CompleteRequestParams, signal: AbortSignal): Promise<CompleteResult>;
  /** Whether some source's resources can be watched for updates. */
  readonly watchable: boolean;
  /**
   * Hears of updates to a resource by the URI this endpoint publishes, until
   * the returned function is called; updates name the resource by that URI.
   * Undefined when no source publishes the URI or its source cannot be watched.
   */
  watchResource(uri: string, listener: ResourceWatchListener): (() => void) | undefined;
}

const NO_COMPLETIONS: CompleteResult = { completion: { values: [] } };

/** A content catalog over several sources, namespaced as the endpoint's tools are. */
export function createContentCatalog(entries: readonly CatalogEntry[], options: CatalogOptions): ContentCatalog {
  const routing = createCatalogRouting(entries, options.namespaced);
  const { namespace, namespaced } = routing;
  const offers = (method: keyof CatalogEntry['source']) => entries.some((e) => typeof e.source[method] === 'function');

  function routeUri(uri: string) {
    const parsed = namespace.parseUri(uri);
    const entry = parsed && routing.entry(parsed.slug);
    return entry && parsed ? { entry, uri: parsed.uri } : undefined;
  }

  function routePrompt(name: string) {
    const parsed = namespace.parseName(name);
    const entry = parsed && routing.entry(parsed.slug);
    return entry && parsed ? { entry, name: parsed.name } : undefined;
  }

  return {
    capabilities: {
      ...((offers('listResources') || offers('listResourceTemplates') || offers('readResource')) && { resources: {} }),
      ...((offers('listPrompts') || offers('getPrompt')) && { prompts: {} }),
      ...(offers('complete') && { completions: {} }),
    },

    listResources: (signal) =>
      collectLists(
        entries,
        'resources',
        (entry) =>
          entry.source.listResources?.(signal).then((resources) =>
            namespaced ? resources.map((r) => ({ ...r, uri: namespace.uri(entry.slug, r.uri) })) : resources,
          ),
        options,
        signal,
      ),

    listResourceTemplates: (signal) =>
      collectLists(
        entries,
        'resource templates',
        (entry) =>
          entry.source.listResourceTemplates?.(signal).then((templates) =>
            namespaced ? templates.map((t) => ({ ...t, uriTemplate: namespace.uri(entry.slug, t.uriTemplate) })) : templates,
          ),
        options,
        signal,
      ),

    async readResource(uri, signal, asking) {
      const routed = routeUri(uri);
      if (!routed?.entry.source.readResource) throw new ResourceNotFoundError(uri);
      const result = await routed.entry.source.readResource(routed.uri, signal, asking);
      if (!namespaced || isInputRequiredResult(result)) return result;
      return { ...result, contents: result.contents.map((c) => ({ ...c, uri: namespace.uri(routed.entry.slug, c.uri) })) };
    },

    listPrompts: (signal) =>
      collectLists(
        entries,
        'prompts',
        (entry) =>
          entry.source.listPrompts?.(signal).then((prompts) =>
            namespaced ? prompts.map((p) => ({ ...p, name: namespace.name(entry.slug, p.name) })) : prompts,
          ),
        options,
        signal,
      ),

    async getPrompt(name, args, signal, asking) {
      const routed = routePrompt(name);
      if (!routed?.entry.source.getPrompt) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${name}`);
      const result = await routed.entry.source.getPrompt(routed.name, args, signal, asking);
      if (!namespaced || isInputRequiredResult(result)) return result;
      const slug = routed.entry.slug;
      return { ...result, messages: result.messages.map((m) => ({ ...m, content: namespaceContentUris(namespace, slug, m.content) })) };
    },

    watchable: offers('watchResource'),

    watchResource(uri, listener) {
      const routed = routeUri(uri);
      if (!routed?.entry.source.watchResource) return undefined;
      return routed.entry.source.watchResource(routed.uri, {
        updated: (update) => listener.updated({ ...update, uri }),
        ended: () => listener.ended(),
        accepted: (accepted) => listener.accepted?.(accepted),
      });
    },

    async complete(params, signal) {
      const { ref } = params;
      const routed = ref.type === 'ref/prompt' ? routePrompt(ref.name) : routeUri(ref.uri);
      if (!routed) {
        const what = ref.type === 'ref/prompt' ? `prompt: ${ref.name}` : `resource template: ${ref.uri}`;
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown ${what}`);
      }
      // A source that cannot complete has nothing to suggest; that is not an error.
      if (!routed.entry.source.complete) return NO_COMPLETIONS;
      const upstreamRef = 'name' in routed ? { ...ref, name: routed.name } : { ...ref, uri: routed.uri };
      return routed.entry.source.complete({ ...params, ref: upstreamRef }, signal);
    },
  };
}
