/**
 * How the aggregate endpoint `/t/{tenant}/mcp` keeps several servers' names
 * apart, and how it finds the server a published name belongs to.
 *
 * - Tools and prompts: `{server}__{name}` (server slugs never contain `__`).
 * - Resource URIs and URI templates: `botgate://{server}/{upstream}`, the
 *   upstream's URI or template appended verbatim. Taking the prefix off gives
 *   back the exact upstream string, so the scheme is reversible without any
 *   decoding. Appending verbatim (rather than percent-encoding the upstream
 *   URI) is what keeps templates faithful: the prefix is a literal, so
 *   expanding `botgate://s/` + T gives `botgate://s/` + the expansion of T, and
 *   the gateway reads exactly the URI the upstream would have built. The result
 *   is still a valid RFC 3986 URI (`demo://x` lands in the path, where `:` and
 *   empty segments are allowed) and a valid RFC 6570 template.
 * - `ui://` URIs (MCP Apps views, SEP-1865) stay `ui://`: upstream `ui://{rest}`
 *   is published as `ui://{server}__{rest}`. Hosts render only URIs that start
 *   with `ui://`, so the `botgate://` form would hide a server's views. The
 *   slug cannot contain `__`, so the first `__` ends it and taking
 *   `{server}__` off gives back the exact upstream URI; the prefix is literal
 *   text here too, so `ui://` templates stay expandable.
 * - MCP Apps links: a tool names its view in `_meta.ui.resourceUri` and the
 *   deprecated `_meta["ui/resourceUri"]` (tool definitions), and tool results
 *   in `_meta["ui/resourceUri"]`. Those that are `ui://` URIs are published in
 *   the same namespace, so a host reads the view through the aggregate; nothing
 *   else in `_meta` changes.
 *
 * Single-server endpoints publish everything unchanged.
 */
export const NAMESPACE_SEPARATOR = '__';

const URI_SCHEME = 'botgate://';

/** The scheme of MCP Apps views, which hosts recognise by this exact prefix. */
const UI_SCHEME = 'ui://';

/** Resolves published names and URIs to a server slug and the upstream's own name or URI. */
export interface Namespace {
  name(slug: string, name: string): string;
  uri(slug: string, uri: string): string;
  /** The server slug and its own name, or undefined when the name is not one this namespace publishes. */
  parseName(name: string): { slug: string; name: string } | undefined;
  parseUri(uri: string): { slug: string; uri: string } | undefined;
}

/** Names in the aggregate endpoint: see the module comment for the scheme. */
export const aggregateNamespace: Namespace = {
  name: (slug, name) => `${slug}${NAMESPACE_SEPARATOR}${name}`,
  uri: (slug, uri) =>
    uri.startsWith(UI_SCHEME)
      ? `${UI_SCHEME}${slug}${NAMESPACE_SEPARATOR}${uri.slice(UI_SCHEME.length)}`
      : `${URI_SCHEME}${slug}/${uri}`,
  parseName(name) {
    const at = name.indexOf(NAMESPACE_SEPARATOR);
    if (at <= 0) return undefined;
    const own = name.slice(at + NAMESPACE_SEPARATOR.length);
    return own ? { slug: name.slice(0, at), name: own } : undefined;
  },
  parseUri(uri) {
    if (uri.startsWith(UI_SCHEME)) {
      const rest = uri.slice(UI_SCHEME.length);
      const at = rest.indexOf(NAMESPACE_SEPARATOR);
      const own = rest.slice(at + NAMESPACE_SEPARATOR.length);
      return at > 0 && own ? { slug: rest.slice(0, at), uri: `${UI_SCHEME}${own}` } : undefined;
    }
    if (!uri.startsWith(URI_SCHEME)) return undefined;
    const rest = uri.slice(URI_SCHEME.length);
    const at = rest.indexOf('/');
    if (at <= 0 || at === rest.length - 1) return undefined;
    return { slug: rest.slice(0, at), uri: rest.slice(at + 1) };
  },
};

/** Names on a single-server endpoint: published as the server has them. */
export function singleServerNamespace(slug: string): Namespace {
  return {
    name: (_slug, name) => name,
    uri: (_slug, uri) => uri,
    parseName: (name) => ({ slug, name }),
    parseUri: (uri) => ({ slug, uri }),
  };
}

/** Content blocks that may carry a resource URI: tool results and prompt messages. */
type UriCarrier = { type: string; uri?: unknown; resource?: unknown };

/**
 * Rewrites the URIs of `resource_link` and embedded `resource` blocks into
 * the namespace, so a client can read them back through the same endpoint.
 * Every other block (text, images, audio) is returned as the same object.
 */
export function namespaceContentUris<T extends UriCarrier>(namespace: Namespace, slug: string, block: T): T {
  if (block.type === 'resource_link' && typeof block.uri === 'string') {
    return { ...block, uri: namespace.uri(slug, block.uri) };
  }
  const resource = block.resource as { uri?: unknown } | undefined;
  if (block.type === 'resource' && typeof resource?.uri === 'string') {
    return { ...block, resource: { ...resource, uri: namespace.uri(slug, resource.uri) } };
  }
  return block;
}

/** The deprecated flat key by which MCP Apps name a view, in tool definitions and tool results. */
const UI_RESOURCE_URI_KEY = 'ui/resourceUri';

type MetaCarrier = { _meta?: Record<string, unknown> | undefined };

/** An MCP Apps view link published in the namespace; undefined when `value` is not a `ui://` URI, which is left alone. */
function namespacedView(namespace: Namespace, slug: string, value: unknown): string | undefined {
  return typeof value === 'string' && value.startsWith(UI_SCHEME) ? namespace.uri(slug, value) : undefined;
}

/**
 * Rewrites the MCP Apps view links of a tool definition (`_meta.ui.resourceUri`
 * and the deprecated `_meta["ui/resourceUri"]`) into the namespace, so a host
 * finds the view among the endpoint's resources. A tool without such links is
 * returned as the same object.
 */
export function namespaceToolViews<T extends MetaCarrier>(namespace: Namespace, slug: string, tool: T): T {
  const meta = tool._meta;
  if (!meta) return tool;
  const ui = meta['ui'];
  const nested = ui !== null && typeof ui === 'object' && !Array.isArray(ui) ? (ui as Record<string, unknown>) : undefined;
  const view = nested && namespacedView(namespace, slug, nested['resourceUri']);
  const flat = namespacedView(namespace, slug, meta[UI_RESOURCE_URI_KEY]);
  if (view === undefined && flat === undefined) return tool;
  return {
    ...tool,
    _meta: { ...meta, ...(view !== undefined && { ui: { ...nested, resourceUri: view } }), ...(flat !== undefined && { [UI_RESOURCE_URI_KEY]: flat }) },
  };
}

/**
 * Rewrites the MCP Apps view link of a tool result (`_meta["ui/resourceUri"]`)
 * into the namespace. A result without one is returned as the same object.
 */
export function namespaceResultView<T extends MetaCarrier>(namespace: Namespace, slug: string, result: T): T {
  const meta = result._meta;
  const view = meta && namespacedView(namespace, slug, meta[UI_RESOURCE_URI_KEY]);
  return meta && view !== undefined ? { ...result, _meta: { ...meta, [UI_RESOURCE_URI_KEY]: view } } : result;
}
