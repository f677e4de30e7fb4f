import type { ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { ChangeBus } from '../shared/change-bus.ts';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { BotsModule } from '../bots/index.ts';
import type { ServersModule } from '../servers/index.ts';
import type { AuditWriter, Principal, TenancyModule } from '../tenancy/index.ts';
import { requireCredential } from './auth.ts';
import { auditRefusals, errorHandler, notFoundHandler } from './error-handler.ts';
import { createHostGuard } from './host-guard.ts';
import { observeRequests } from './http-metrics.ts';
import type { Metrics } from './metrics.ts';
import { requestLog } from './request-log.ts';
import type { OperatorCommands } from './operator/commands.ts';
import { createMcpRoutes } from './mcp/mcp.routes.ts';
import type { OAuthModule } from './oauth/index.ts';
import { createRunCredentials } from './bots/run-credentials.ts';
import { createBotRoutes } from './routes/bots.routes.ts';
import { createChatRoutes } from './routes/chat.routes.ts';
import { createConversationRoutes } from './routes/conversations.routes.ts';
import { createAuditRoutes } from './routes/audit.routes.ts';
import { createHealthRoutes } from './routes/health.routes.ts';
import { createKeyRoutes } from './routes/keys.routes.ts';
import { createInvitationRoutes } from './routes/invitations.routes.ts';
import { createMemberRoutes } from './routes/members.routes.ts';
import { createMeRoutes } from './routes/me.routes.ts';
import { createMetricsRoutes } from './routes/metrics.routes.ts';
import { createOperatorRoutes } from './routes/operator.routes.ts';
import { createServerRoutes } from './routes/servers.routes.ts';
import { createTenantRoutes } from './routes/tenant.routes.ts';
import { createUsageRoutes } from './routes/usage.routes.ts';
import { createToolListCache } from './bots/tool-list-cache.ts';
import { LIST_TTL_MS } from './mcp/tool-server.ts';
import { createAccountRoutes, createInviteRoutes, createLoginRoutes, createPasswordRoutes, deriveFormKey, type LoginThrottle } from './session/index.ts';

export interface AppDependencies {
  logger: Logger;
  tenancy: TenancyModule;
  servers: ServersModule;
  bots: BotsModule;
  auditWriter: AuditWriter;
  version: string;
  bodyLimit: string;
  /** Hostnames MCP requests may address; see `allowedHostnames`. */
  allowedHostnames: string[] | undefined;
  isReady: () => Promise<boolean>;
  /** Servers' list changes, delivered to MCP clients' `subscriptions/listen` streams. */
  changes: ChangeBus;
  /** Aborted when the gateway starts draining, so that long-lived streams end first. */
  stopping?: AbortSignal;
  /** Base URL of this node once it listens; bots reach their tools through it. */
  selfUrl: () => string;
  operator: { commands: OperatorCommands; token: string };
  /** Session and form cookies carry `Secure`: true when PUBLIC_URL is https. Defaults to false (plain-http harnesses). */
  secureCookies?: boolean;
  /** PUBLIC_URL without a trailing slash: the base of links handed out (invitations); else the request's origin. */
  publicUrl?: string | undefined;
  /**
   * Browser sign-in pages (`/login`, `/logout`, `/invite/{token}`): the failed-attempt
   * counter and the secret key that signs pre-session form tokens. Absent in harnesses
   * that use API keys only; session cookies on /api/v1 are honoured either way.
   */
  signIn?: { throttle: LoginThrottle; secretKey: Buffer };
  /**
   * The OAuth 2.1 authorization server for MCP clients (`/.well-known/oauth-*`, `/oauth/*`) and
   * access tokens on MCP endpoints. Absent in harnesses that use API keys only.
   */
  oauth?: OAuthModule;
  /** Counted requests and tool calls; `/metrics` serves them to a scraper with `metricsToken`. Absent in harnesses. */
  metrics?: Metrics;
  /** BOTGATE_METRICS_TOKEN: without it `/metrics` is off. */
  metricsToken?: string | undefined;
  /** MCP streams one tenant may hold open on this node (BOTGATE_MAX_STREAMS_PER_TENANT); the MCP routes' default when absent. */
  maxStreamsPerTenant?: number | undefined;
}

/** The tenant and actor of an authenticated request, for its log line; undefined before authentication. */
function principalBindings(res: ServerResponse): { tenantId: string; actor: Principal['actor'] } | undefined {
  const principal = (res as Partial<Response>).locals?.['principal'] as Principal | undefined;
  return principal && { tenantId: principal.tenant.id, actor: principal.actor };
}

/** Bodies that are sent must be JSON; a form or text body is refused, not ignored. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is('application/json')) {
    throw new AppError('unsupported_media_type', 'request body must be application/json');
  }
  next();
};

/** The HTTP edge: every public path of the gateway. */
export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  if (deps.metrics) app.use(observeRequests(deps.metrics));
  app.use(
    requestLog({
      logger: deps.logger,
      // Probes and scrapes come every few seconds: their lines would drown the rest.
      ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics',
      // The request's line names who made it, once authenticated (read when the line is written).
      bindings: principalBindings,
    }),
  );
  // HSTS and upgrade-insecure-requests only behind https: on a plain-http gateway (a laptop, a port on a
  // container) they would send browsers to an https port nobody listens on, and pin that for a year.
  const https = deps.publicUrl?.startsWith('https:') ?? false;
  app.use(
    helmet({
      strictTransportSecurity: https,
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: https ? [] : null } },
    }),
  );
  app.use(createHealthRoutes({ isReady: deps.isReady }));
  if (deps.metrics) app.use(createMetricsRoutes({ metrics: deps.metrics, token: deps.metricsToken }));

  const credentials = createRunCredentials();
  const runtime = {
    bots: deps.bots,
    runner: deps.bots.runner,
    credentials,
    discoveries: new Map(),
    toolLists: createToolListCache({ changes: deps.changes, ttlMs: LIST_TTL_MS }),
    selfUrl: deps.selfUrl,
    logger: deps.logger,
  };
  // The MCP endpoints, the hot path, before the other routers (no path of theirs starts with /t/).
  app.use('/t', createHostGuard(deps.allowedHostnames));
  app.use(createMcpRoutes({ ...deps, ...runtime, oauth: deps.oauth?.resourceServer }));
  // At the end of each router whose requests carry a principal (MCP's, the API's): a 403 passes one of them.
  const auditRefusal = auditRefusals(deps.auditWriter);
  app.use(auditRefusal);

  const secureCookies = deps.secureCookies ?? false;
  if (deps.signIn) {
    const pages = {
      sessions: deps.tenancy.sessions,
      throttle: deps.signIn.throttle,
      formKey: deriveFormKey(deps.signIn.secretKey),
      secureCookies,
    };
    app.use(createLoginRoutes(pages));
    app.use(createInviteRoutes({ ...pages, invitations: deps.tenancy.invitations }));
    app.use(createAccountRoutes({ sessions: deps.tenancy.sessions, secureCookies, publicUrl: deps.publicUrl }));
    app.use(createPasswordRoutes({ ...pages, accounts: deps.tenancy.accounts }));
  }

  const api = express.Router();
  api.use(requireJsonBody, express.json({ limit: deps.bodyLimit, strict: true }));
  api.use(createOperatorRoutes(deps.operator));
  api.use(requireCredential(deps.tenancy.apiKeys, deps.tenancy.sessions, { secureCookies }));
  api.use(createMeRoutes());
  api.use(createKeyRoutes({ tenancy: deps.tenancy, servers: deps.servers, bots: deps.bots }));
  api.use(createMemberRoutes({ tenancy: deps.tenancy }));
  api.use(createInvitationRoutes({ tenancy: deps.tenancy, publicUrl: deps.publicUrl }));
  api.use(createAuditRoutes({ tenancy: deps.tenancy }));
  api.use(createServerRoutes({ tenancy: deps.tenancy, servers: deps.servers, bots: deps.bots }));
  api.use(createBotRoutes({ tenancy: deps.tenancy, bots: deps.bots }));
  api.use(createConversationRoutes({ bots: deps.bots, tenancy: deps.tenancy }));
  api.use(createChatRoutes(runtime));
  api.use(createUsageRoutes({ tenancy: deps.tenancy }));
  api.use(createTenantRoutes({ tenancy: deps.tenancy }));
  api.use(auditRefusal);
  app.use('/api/v1', api);
  if (deps.oauth) app.use(deps.oauth.router);

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
