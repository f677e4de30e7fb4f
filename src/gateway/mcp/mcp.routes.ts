import { createMcpHandler, type AuthInfo } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ServersModule, ServerRuntime } from '../../servers/index.ts';
import type { AuditWriter, Principal, TenancyModule } from '../../tenancy/index.ts';
import { bearerToken } from '../auth.ts';
import { contextOf, param } from '../http.ts';
import { summarizeArguments } from './tool-audit.ts';
import { createToolCatalog, type CatalogEntry, type ToolCatalog } from './tool-catalog.ts';
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
  name: string;
  request: Request;
  response: Response;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The tenant's MCP endpoints: `/t/{tenant}/mcp` (every server, tools named
 * `{server}__{tool}`) and `/t/{tenant}/mcp/servers/{server}` (one server).
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

  async function entriesFor(principal: Principal, runtimes: ServerRuntime[]): Promise<CatalogEntry[]> {
    return Promise.all(
      runtimes.map(async (server) => ({
        slug: server.slug,
        serverId: server.id,
        source: await deps.servers.sources.sourceFor(principal.tenant, server),
      })),
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

  const onListError = (entry: CatalogEntry, error: unknown) =>
    deps.logger.warn({ err: error, server: entry.slug }, 'listing a server’s tools failed; left out');

  router.all('/t/:tenant/mcp', authenticate, async (req, res) => {
    const principal = res.locals['principal'] as Principal;
    const runtimes = await deps.servers.servers.listRuntime(principal.tenant);
    const catalog = createToolCatalog(await entriesFor(principal, runtimes), { namespaced: true, onListError });
    await serve(req, res, { principal, catalog, name: `botgate/${principal.tenant.slug}` });
  });

  router.all('/t/:tenant/mcp/servers/:server', authenticate, async (req, res) => {
    const principal = res.locals['principal'] as Principal;
    const slug = param(req, 'server');
    const runtime = (await deps.servers.servers.listRuntime(principal.tenant)).find((s) => s.slug === slug);
    if (!runtime) throw new AppError('not_found', 'server not found');
    const catalog = createToolCatalog(await entriesFor(principal, [runtime]), { namespaced: false, onListError });
    await serve(req, res, { principal, catalog, name: `botgate/${principal.tenant.slug}/${slug}` });
  });

  return router;
}
