import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { ChangeBus } from '../shared/change-bus.ts';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { BotsModule } from '../bots/index.ts';
import type { ServersModule } from '../servers/index.ts';
import type { AuditWriter, TenancyModule } from '../tenancy/index.ts';
import { requireApiKey } from './auth.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { createHostGuard } from './host-guard.ts';
import type { OperatorCommands } from './operator/commands.ts';
import { createMcpRoutes } from './mcp/mcp.routes.ts';
import { createRunCredentials } from './bots/run-credentials.ts';
import { createBotRoutes } from './routes/bots.routes.ts';
import { createChatRoutes } from './routes/chat.routes.ts';
import { createConversationRoutes } from './routes/conversations.routes.ts';
import { createAuditRoutes } from './routes/audit.routes.ts';
import { createHealthRoutes } from './routes/health.routes.ts';
import { createKeyRoutes } from './routes/keys.routes.ts';
import { createMemberRoutes } from './routes/members.routes.ts';
import { createMeRoutes } from './routes/me.routes.ts';
import { createOperatorRoutes } from './routes/operator.routes.ts';
import { createServerRoutes } from './routes/servers.routes.ts';
import { createUsageRoutes } from './routes/usage.routes.ts';

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
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );
  app.use(helmet());
  app.use(createHealthRoutes({ isReady: deps.isReady }));

  const credentials = createRunCredentials();
  const runtime = { bots: deps.bots, runner: deps.bots.runner, credentials, selfUrl: deps.selfUrl, logger: deps.logger };

  const api = express.Router();
  api.use(requireJsonBody, express.json({ limit: deps.bodyLimit, strict: true }));
  api.use(createOperatorRoutes(deps.operator));
  api.use(requireApiKey(deps.tenancy.apiKeys));
  api.use(createMeRoutes());
  api.use(createKeyRoutes({ tenancy: deps.tenancy }));
  api.use(createMemberRoutes({ tenancy: deps.tenancy }));
  api.use(createAuditRoutes({ tenancy: deps.tenancy }));
  api.use(createServerRoutes({ servers: deps.servers }));
  api.use(createBotRoutes({ bots: deps.bots }));
  api.use(createConversationRoutes({ bots: deps.bots, tenancy: deps.tenancy }));
  api.use(createChatRoutes(runtime));
  api.use(createUsageRoutes({ tenancy: deps.tenancy }));
  app.use('/api/v1', api);
  app.use('/t', createHostGuard(deps.allowedHostnames));
  app.use(createMcpRoutes({ ...deps, ...runtime }));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
