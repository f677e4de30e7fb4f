/**
 * MCP endpoints as OAuth protected resources (RFC 8707 indicators, RFC 9728
 * metadata, RFC 6750 challenges). Pure functions: no I/O.
 */

/** `mcp` uses every tool and bot the member may use; `mcp:read` only tools marked read-only. */
export const MCP_SCOPES = ['mcp', 'mcp:read'] as const;
export type McpScope = (typeof MCP_SCOPES)[number];

/** The scope a client is told to ask for when it has none. */
export const DEFAULT_SCOPE: McpScope = 'mcp';

// /t/{tenant}/mcp, /t/{tenant}/mcp/servers/{server}, /t/{tenant}/mcp/bots/{bot}; slugs as tenancy validates them.
const SLUG = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const MCP_PATH = new RegExp(`^/t/(${SLUG})/mcp(?:/(servers|bots)/(${SLUG}))?$`);

/** An MCP endpoint named by a resource indicator. */
export interface McpResource {
  /** The canonical resource URL: the issuer's base URL and the endpoint's path. */
  url: string;
  /** The endpoint's path, `/t/{tenant}/mcp...`. */
  path: string;
  tenantSlug: string;
  /** The one server or bot the endpoint serves; none for the tenant's aggregate endpoint. */
  endpoint?: McpEndpoint;
}

/** One server's or one bot's endpoint: `/t/{tenant}/mcp/servers/{slug}` or `/t/{tenant}/mcp/bots/{slug}`. */
export interface McpEndpoint {
  kind: 'servers' | 'bots';
  slug: string;
}

/** The path of a request without a trailing slash (express matches `/mcp/` like `/mcp`). */
export function canonicalPath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** The resource URL of an MCP endpoint path under `baseUrl` (the issuer). */
export function resourceUrl(baseUrl: string, path: string): string {
  return `${baseUrl}${canonicalPath(path)}`;
}

/**
 * The MCP endpoint a resource indicator names, or undefined when it names
 * none of this gateway's endpoints. Only the exact canonical form is accepted:
 * the token's audience is compared with the request's URL as a string.
 */
export function parseMcpResource(baseUrl: string, indicator: string): McpResource | undefined {
  if (!indicator.startsWith(`${baseUrl}/`)) return undefined;
  const path = indicator.slice(baseUrl.length);
  const match = MCP_PATH.exec(path);
  if (!match?.[1]) return undefined;
  const [, tenantSlug, kind, slug] = match;
  const endpoint: McpEndpoint | undefined = (kind === 'servers' || kind === 'bots') && slug ? { kind, slug } : undefined;
  return { url: indicator, path, tenantSlug, ...(endpoint && { endpoint }) };
}

/** Where RFC 9728 puts the metadata of a resource: the well-known segment between origin and path. */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  return `${url.origin}/.well-known/oauth-protected-resource${url.pathname === '/' ? '' : url.pathname}`;
}

/** RFC 9728 metadata of one MCP endpoint. */
export function protectedResourceMetadata(resource: McpResource, issuer: string) {
  return {
    resource: resource.url,
    authorization_servers: [issuer],
    scopes_supported: [...MCP_SCOPES],
    bearer_methods_supported: ['header'],
    resource_name: `Botgate MCP endpoint ${resource.path}`,
  };
}

/** Why a request was refused, for the challenge (RFC 6750 §3.1); none when it carried no token. */
export interface ChallengeError {
  error: 'invalid_token' | 'insufficient_scope';
  description: string;
}

// RFC 6750 quoted strings: no quotes or backslashes, visible ASCII and spaces.
const quoted = (text: string) => `"${text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ' ')}"`;

/** The `WWW-Authenticate` value that points a client at the metadata and the scope it needs. */
export function bearerChallenge(options: { resourceMetadataUrl: string; scope: string; error?: ChallengeError | undefined }): string {
  const params = [
    ...(options.error ? [`error=${quoted(options.error.error)}`, `error_description=${quoted(options.error.description)}`] : []),
    `resource_metadata=${quoted(options.resourceMetadataUrl)}`,
    `scope=${quoted(options.scope)}`,
  ];
  return `Bearer ${params.join(', ')}`;
}
