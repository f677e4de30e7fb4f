import { createInProcessChangeBus, type ChangeBus, type ChangeEvent } from './shared/change-bus.ts';
import type { Config } from './shared/config.ts';
import type { Db } from './shared/db.ts';
import type { Logger } from './shared/logger.ts';
import { createPostgresChangeBus } from './shared/postgres-change-bus.ts';
import { createBotsModule, type BotsModule } from './bots/index.ts';
import { createServersModule, publishListsChanges, RESERVED_SERVER_SLUG, type SecretKeySource, type ServersModule } from './servers/index.ts';
import {
  createAuditWriter,
  createTenancyModule,
  publishCredentialsChanged,
  publishTenantDeleted,
  readTenantDeleted,
  type AuditWriter,
  type TenancyModule,
  type UsageService,
} from './tenancy/index.ts';
import { createMetrics, createOperatorCommands, type Metrics, type OperatorCommands } from './gateway/index.ts';

export interface Modules {
  tenancy: TenancyModule;
  servers: ServersModule;
  bots: BotsModule;
  auditWriter: AuditWriter;
  commands: OperatorCommands;
  /** What the gateway counts for Prometheus (`/metrics`): requests, tool calls, model calls, the audit queue. */
  metrics: Metrics;
  /** Change notifications between modules and, on PostgreSQL, between nodes. */
  changes: ChangeBus;
  /**
   * Starts hearing every node's changes and acting on them (once, however often called); the
   * gateway calls it, the CLI (which only publishes) never. Resolves as `ChangeBus.connect` does.
   */
  connect(): Promise<void>;
  /** Writes queued audit events, closes running tool sources and the change bus. */
  close(): Promise<void>;
}

/**
 * PostgreSQL's LISTEN/NOTIFY when the database is shared by several nodes;
 * within the process on the embedded database, which only one process opens.
 * REDIS_URL is not used for this: no Redis client is a dependency.
 */
function createChangeBus(config: Config, db: Db, logger: Logger): ChangeBus {
  if (config.redisUrl) logger.info('REDIS_URL is set, but change notifications go over PostgreSQL (or stay in-process on the embedded database)');
  return config.databaseUrl
    ? createPostgresChangeBus({ connectionString: config.databaseUrl, db, logger })
    : createInProcessChangeBus(logger);
}

/**
 * What every node does when a tenant is deleted, whichever node deleted it (this one hears its
 * own deletions through the bus too): the tenant's runs stop first, so they call nothing more;
 * then its cached credentials, bots and server settings go, its tool sources close, and its file
 * area and stdio homes are removed (in the background). The gateway's own listen streams end on
 * the same message (see listen-streams.ts).
 */
function forgetDeletedTenants({ tenancy, servers, bots, logger }: { tenancy: TenancyModule; servers: ServersModule; bots: BotsModule; logger: Logger }) {
  return (event: ChangeEvent) => {
    const tenantId = readTenantDeleted(event);
    if (tenantId === undefined) return;
    bots.forgetTenant(tenantId);
    tenancy.forgetTenant(tenantId);
    servers.forgetTenant(tenantId).catch((error: unknown) => logger.warn({ err: error, tenantId }, "closing a deleted tenant's tool sources or removing its directories failed"));
  };
}

/** The usage service bots meter through, counting each model call it records for the metrics too. */
function observedUsage(usage: UsageService, metrics: Metrics): UsageService {
  return {
    ...usage,
    async record(tenantId, record) {
      const id = await usage.record(tenantId, record);
      metrics.modelCall(record);
      return id;
    },
  };
}

/** Wires the modules once, for the gateway and for the CLI alike. */
export function composeModules({
  config,
  db,
  logger,
  secretKey,
}: {
  config: Config;
  db: Db;
  logger: Logger;
  secretKey: SecretKeySource;
}): Modules {
  const changes = createChangeBus(config, db, logger);
  // One process owns the embedded database, so every revocation passes through this one.
  const tenancy = createTenancyModule({
    db,
    cacheCredentials: config.databaseUrl === undefined,
    onTenantDeleted: publishTenantDeleted(changes),
    onCredentialsChanged: publishCredentialsChanged(changes),
  });
  const servers = createServersModule({
    db,
    logger,
    secretKey,
    changes,
    policy: {
      dataDir: config.dataDir,
      fsRoots: config.fsRoots,
      allowPrivateNetworks: config.allowPrivateNetworks,
      stdioCommands: config.stdioCommands,
      ...(config.maxServersPerTenant !== undefined && { maxServersPerTenant: config.maxServersPerTenant }),
      ...(config.fsQuotaBytes !== undefined && { fsQuotaBytes: config.fsQuotaBytes }),
    },
    upstreamMessageLimit: config.upstreamMessageLimit,
    sharedDatabase: config.databaseUrl !== undefined,
  });
  const auditWriter = createAuditWriter({ db, logger });
  const metrics = createMetrics({ auditPending: () => auditWriter.pending() });
  const bots = createBotsModule({
    db,
    secretKey,
    usage: observedUsage(tenancy.usage, metrics),
    logger,
    anthropic: { apiKey: config.anthropicApiKey, baseURL: config.anthropicBaseUrl },
    pricesFile: config.pricesFile,
    ...(config.summaryModel !== undefined && { limits: { summaryModel: config.summaryModel } }),
    changes,
    // Bots are the tools of the aggregate's `bot` namespace: their changes are announced as that server's.
    onBotsChanged: (tenantId) => publishListsChanges(changes)(tenantId, RESERVED_SERVER_SLUG),
  });
  let connected: Promise<void> | undefined;
  return {
    tenancy,
    servers,
    bots,
    auditWriter,
    commands: createOperatorCommands({ tenancy, servers, bots }),
    metrics,
    changes,
    connect: () =>
      (connected ??= (async () => {
        changes.subscribe(forgetDeletedTenants({ tenancy, servers, bots, logger }));
        await changes.connect();
      })()),
    async close() {
      await servers.sources.close();
      await auditWriter.close();
      await changes.close();
    },
  };
}
