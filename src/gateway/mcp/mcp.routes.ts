import { createMcpHandler, type AuthInfo } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ServersModule, ServerRuntime } from '../../servers/index.ts';
import { mayUseServer, type AuditWriter, type Principal, type TenancyModule } from '../../tenancy/index.ts';
import { restrictSource } from '../restricted-source.ts';
import { bearerToken } from '../auth.ts';
import { contextOf, param } from '../http.ts';
import { summarizeArguments } from './tool-audit.ts';
import { createContentCatalog, type ContentCatalog } from './content-catalog.ts';
import { createToolCatalog, type CatalogEntry, type CatalogOptions, type ToolCatalog } from './tool-catalog.ts';
import { createToolServer } from './tool-server.ts';

export interface McpRouteDependencies {
  logger: Logger;
  tenancy: TenancyModule;
  servers: ServersModule;
  auditWriter: AuditWriter;
  version: string;
}

interface EndpointState {
  principal: Principal;
  catalog: ToolCatalog;
  content: ContentCatalog;
  name: string;
  request: Request;
  response: Response;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The tenant's MCP endpoints: `/t/{tenant}/mcp` (every server; tools and
 * prompts named `{server}__{name}`, resource URIs `botgate://{server}/{uri}`,
 * see namespacing.ts) and `/t/{tenant}/mcp/servers/{server}` (one server,
 * names unchanged). Tools, resources, templates, prompts and completions are
 * proxied on both.
 * Both eras of the protocol are served statelessly from the same URL.
 */
export function createMcpRoutes(deps: McpRouteDependencies): Router {
  const router = Router();

  const handler = createMcpHandler(
    ({ authInfo }) => {
      const state = authInfo?.extra?.['endpoint'] as EndpointState | undefined;
      if (!state) throw new Error('MCP request reached the handler without authentication');
      return createToolServer({
        name: state.name,
        version: deps.version,
        catalog: state.catalog,
        content: state.content,
        logger: deps.logger,
        onToolCall: (call) =>
          deps.auditWriter.enqueue(state.principal.tenant.id, contextOf(state.request, state.response), {
            action: 'tool.call',
            resourceType: 'server',
            resourceId: call.entry.serverId,
            after: {
              server: call.entry.slug,
              tool: call.tool,
              arguments: summarizeArguments(call.args),
              outcome: call.outcome,
              duration_ms: Math.round(call.durationMs),
            },
          }),
      });
    },
    { legacy: 'stateless' },
  );
  const serveNode = toNodeHandler(handler, {
    maxRequestBodySize: MAX_BODY_BYTES,
    onerror: (error) => deps.logger.error({ err: error }, 'MCP transport error'),
  });

  /** Authenticates the key, checks the tenant in the path and the `mcp` scope. */
  const authenticate: RequestHandler = async (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (!token) throw new AppError('unauthorized', 'an API key is required: send "Authorization: Bearer bgk_..."');
    const principal = await deps.tenancy.apiKeys.authenticate(token);
    if (!principal) throw new AppError('unauthorized', 'the API key is invalid, expired or revoked');
    // Another tenant's endpoint looks exactly like one that does not exist.
    if (principal.tenant.slug !== param(req, 'tenant')) throw new AppError('not_found', 'tenant not found');
    if (!principal.scopes.includes('mcp')) throw new AppError('forbidden', 'this key lacks the "mcp" scope');
    res.locals['principal'] = principal;
    req.log = req.log.child({ tenantId: principal.tenant.id, keyId: principal.keyId });
    next();
  };

  /**
   * The sources a key may use. A key restricted to single tools of a server
   * sees only those tools; one granted the whole server sees all of it.
   */
  async function entriesFor(principal: Principal, runtimes: ServerRuntime[]): Promise<CatalogEntry[]> {
    const allowed = runtimes.filter((server) => mayUseServer(principal.tools, server.slug));
    return Promise.all(
      allowed.map(async (server) => {
        const source = await deps.servers.sources.sourceFor(principal.tenant, server);
        const whole = principal.tools === null || principal.tools.includes(server.slug);
        return {
          slug: server.slug,
          serverId: server.id,
          source: whole ? source : restrictSource(source, server.slug, principal.tools),
        };
      }),
    );
  }

  function serve(req: Request, res: Response, state: Omit<EndpointState, 'request' | 'response'>): Promise<void> {
    const principal = state.principal;
    const auth: AuthInfo = {
      token: 'api-key',
      clientId: principal.keyId,
      scopes: principal.scopes,
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
      extra: { endpoint: { ...state, request: req, response: res } satisfies EndpointState },
    };
    return serveNode(Object.assign(req, { auth }), res);
  }

  const onListError = (entry: CatalogEntry, error: unknown, what: string) =>
    deps.logger.warn({ err: error, server: entry.slug }, `listing a server’s ${what} failed; left out`);

  /** The tool and content catalogs of one endpoint over `entries`. */
  function catalogsFor(entries: CatalogEntry[], namespaced: boolean) {
    const options: CatalogOptions = { namespaced, onListError };
    return { catalog: createToolCatalog(entries, options), content: createContentCatalog(entries, options) };
  }

  router.all('/t/:tenant/mcp', authenticate, async (req, res) => {
    const principal = res.locals['principal'] as Principal;
    const runtimes = await deps.servers.servers.listRuntime(principal.tenant);
    const catalogs = catalogsFor(await entriesFor(principal, runtimes), true);
    await serve(req, res, { principal, ...catalogs, name: `botgate/${principal.tenant.slug}` });
  });

  router.all('/t/:tenant/mcp/servers/:server', authenticate, async (req, res) => {
    const principal = res.locals['principal'] as Principal;
    const slug = param(req, 'server');
    const runtime = (await deps.servers.servers.listRuntime(principal.tenant)).find((s) => s.slug === slug);
    if (!runtime) throw new AppError('not_found', 'server not found');
    if (!mayUseServer(principal.tools, slug)) throw new AppError('forbidden', `this key may not use the server ${slug}`);
    const catalogs = catalogsFor(await entriesFor(principal, [runtime]), false);
    await serve(req, res, { principal, ...catalogs, name: `botgate/${principal.tenant.slug}/${slug}` });
  });

  return router;
}
