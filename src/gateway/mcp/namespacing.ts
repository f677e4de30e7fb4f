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
 *
 * Single-server endpoints publish everything unchanged.
 */
export const NAMESPACE_SEPARATOR = '__';

const URI_SCHEME = 'botgate://';

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
  uri: (slug, uri) => `${URI_SCHEME}${slug}/${uri}`,
  parseName(name) {
    const at = name.indexOf(NAMESPACE_SEPARATOR);
    if (at <= 0) return undefined;
    const own = name.slice(at + NAMESPACE_SEPARATOR.length);
    return own ? { slug: name.slice(0, at), name: own } : undefined;
  },
  parseUri(uri) {
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
