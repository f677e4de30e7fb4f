import fs from 'node:fs/promises';
import { loadPriceTable } from './bots/index.ts';
import { composeModules } from './compose.ts';
import type { Config } from './shared/config.ts';
import { openDatabase, pingDatabase } from './shared/db.ts';
import type { Logger } from './shared/logger.ts';
import { migrateToLatest } from './shared/migrate.ts';
import { loadOrCreateSecretKey } from './shared/secret-key.ts';
import {
  allowedHostnames,
  checkCanListen,
  createApp,
  createLoginThrottle,
  createOAuthModule,
  endpointExists,
  generateOperatorToken,
  listen,
  removeOperatorCredential,
  writeOperatorCredential,
  type RunningServer,
} from './gateway/index.ts';

/** The version the gateway reports to MCP clients. */
export const VERSION = '0.1.0';

export interface Gateway {
  url: string;
  /** Drains in-flight requests, stops bot runs still going and waits for them, writes queued audit events, then closes the database. */
  stop(): Promise<void>;
}

const ALL_INTERFACES = new Set(['0.0.0.0', '::', '[::]']);

/** How long bot runs stopped at shutdown get to end (their metering included) before the database closes under them. */
const RUN_STOP_WAIT_MS = 10_000;

/**
 * What the start-up line says: the address the socket is bound to (`0.0.0.0:3000`
 * in a container) and the URL clients use, PUBLIC_URL or else the one the gateway
 * names itself by (loopback for all interfaces, which other machines cannot use).
 */
function listeningLog(config: Config, selfUrl: string, extra: Record<string, unknown>): Record<string, unknown> {
  const { port } = new URL(selfUrl);
  const host = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  const url = config.publicUrl ?? selfUrl;
  return {
    listening: `${host}:${port}`,
    url,
    ...(ALL_INTERFACES.has(config.host) &&
      !config.publicUrl && { note: `set PUBLIC_URL to the address clients on other machines use: until then OAuth and MCP resource URLs name ${url}` }),
    ...extra,
  };
}

/** The composition root: config → database → modules → app → listen. */
export async function startGateway(config: Config, logger: Logger): Promise<Gateway> {
  // A bad operator price file stops start-up before anything is touched, naming the file and the field.
  await loadPriceTable({ overrideFile: config.pricesFile });
  // A port that is taken stops start-up too, before a database is made or migrated for a gateway that cannot serve.
  await checkCanListen({ host: config.host, port: config.port });
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const secretKey = await loadOrCreateSecretKey(config.dataDir, config.secretKey);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    onIdleError: (error) => logger.warn({ err: error }, 'an idle database connection failed; it will be replaced'),
  });
  try {
    const applied = await migrateToLatest(database.db);
    logger.info({ database: database.kind, applied }, 'database ready');
  } catch (error) {
    await database.close();
    throw error;
  }

  let draining = false;
  // Ready once OAuth is too: before, an MCP client's 401 would name no metadata to sign in with.
  let oauthStarted = false;
  const stopping = new AbortController();
  let selfUrl: string | undefined;
  const modules = composeModules({ config, db: database.db, logger, secretKey });
  const operatorToken = generateOperatorToken();
  // Failed sign-ins are counted in PostgreSQL when nodes share one, else in this process.
  const loginThrottle = createLoginThrottle({ databaseUrl: config.databaseUrl, logger });
  const oauth = createOAuthModule({
    storage: modules.tenancy.oauth,
    sessions: modules.tenancy.sessions,
    secretKey,
    clients: config.oauthClients,
    allowPrivateNetworks: config.allowPrivateNetworks,
    accessTokenTtl: config.oauthAccessTokenTtl,
    metadataDocuments: config.oauthMetadataDocuments,
    logger,
    endpointExists: endpointExists(modules),
  });
  const app = createApp({
    logger,
    tenancy: modules.tenancy,
    servers: modules.servers,
    bots: modules.bots,
    auditWriter: modules.auditWriter,
    version: VERSION,
    bodyLimit: config.bodyLimit,
    allowedHostnames: allowedHostnames(config.host, config.publicUrl),
    isReady: async () => !draining && oauthStarted && (await pingDatabase(database.db)),
    changes: modules.changes,
    stopping: stopping.signal,
    selfUrl: () => {
      if (!selfUrl) throw new Error('the gateway is not listening yet');
      return selfUrl;
    },
    operator: { commands: modules.commands, token: operatorToken },
    secureCookies: config.publicUrl?.startsWith('https:') ?? false,
    publicUrl: config.publicUrl,
    signIn: { throttle: loginThrottle, secretKey },
    oauth,
    metrics: modules.metrics,
    metricsToken: config.metricsToken,
    maxStreamsPerTenant: config.maxStreamsPerTenant,
  });
  // Other nodes' changes (and tenant deletions) are heard before the first client can listen for them.
  await modules.connect();
  // Deleted tenants' directories that no node removed (it stopped first) go before any tenant's use; a failure only leaves them to each claim.
  await modules.servers
    .settleTenantDirs(() => modules.tenancy.tenants.list())
    .catch((error: unknown) => logger.error({ err: error }, "settling tenants' directories at start-up failed"));
  let server: RunningServer | undefined;
  try {
    // The port can still be taken since it was checked.
    server = await listen(app, { host: config.host, port: config.port });
    selfUrl = server.url;
    // The issuer is the public URL, else the one the gateway listens on (known only now, with port 0).
    await oauth.start(config.publicUrl ?? server.url);
    oauthStarted = true;
  } catch (error) {
    await server?.close();
    await modules.close();
    await loginThrottle.close();
    await database.close();
    throw error;
  }
  await writeOperatorCredential(config.dataDir, { url: server.url, token: operatorToken, pid: process.pid });
  logger.info(listeningLog(config, server.url, { database: database.kind, loginThrottle: loginThrottle.store }), 'botgate listening');

  return {
    url: server.url,
    async stop() {
      draining = true;
      stopping.abort();
      await removeOperatorCredential(config.dataDir, operatorToken);
      // Bot runs still going when in-flight requests' grace ends are stopped while their connections are open, so each
      // tells its caller why; stopped or not, they have all settled (their model calls metered) before the database closes.
      let runsStopped: Promise<void> | undefined;
      const stopRuns = () =>
        (runsStopped ??= (async () => {
          const left = await modules.bots.stopRuns(RUN_STOP_WAIT_MS);
          if (left.length > 0) {
            logger.warn({ runs: left }, `bot runs still running ${RUN_STOP_WAIT_MS} ms after being stopped; closing the database under them, their last model calls may go unmetered`);
          }
        })());
      await server.close(undefined, stopRuns);
      await stopRuns();
      oauth.close();
      await modules.close();
      await loginThrottle.close();
      await database.close();
      logger.info('botgate stopped');
    },
  };
}
