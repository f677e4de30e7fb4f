import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError, HTTP_STATUS, type AppErrorCode } from '../shared/errors.ts';
import type { Config } from '../shared/config.ts';
import { readLockHolder } from '../shared/directory-lock.ts';
import { readOperatorCredential } from '../shared/operator-credential.ts';
import { createLogger } from '../shared/logger.ts';
import { loadOrCreateSecretKey, readSecretKey } from '../shared/secret-key.ts';
import { streamTo, type TextSink } from './io.ts';
import type { Modules } from '../compose.ts';
import type { SecretKeySource } from '../servers/index.ts';
import type { OperatorCommandName } from '../gateway/index.ts';

/** Runs operator commands, either on the database directly or through the running gateway. */
export interface CommandRunner {
  readonly via: 'database' | 'gateway';
  run(name: OperatorCommandName, args: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

const OPERATOR = { actor: { type: 'operator', id: null }, ip: null, userAgent: 'botgate-cli', requestId: null } as const;

/**
 * The key for stored secrets. The embedded database lives in DATA_DIR, so its
 * key does too. On PostgreSQL the CLI may run far from any gateway's DATA_DIR:
 * it uses BOTGATE_SECRET_KEY or an existing key file, and never makes one up,
 * which would seal secrets the gateways cannot open.
 */
async function secretKeyForCli(config: Config): Promise<SecretKeySource> {
  if (!config.databaseUrl || config.secretKey) return loadOrCreateSecretKey(config.dataDir, config.secretKey);
  const existing = await readSecretKey(config.dataDir);
  if (existing) return existing;
  return () => {
    throw new AppError(
      'unavailable',
      "this command stores or reads secrets: set BOTGATE_SECRET_KEY to the gateways' key (or run it where their DATA_DIR is)",
    );
  };
}

/** Opens the gateway's database itself (migrating it first) and runs commands in this process; the modules' warnings go to `stderr`. */
export async function openDirectRunner(config: Config, stderr: TextSink): Promise<CommandRunner> {
  // The database and the modules load only when this process uses them itself.
  const { openDatabase } = await import('../shared/db.ts');
  const { migrateToLatest } = await import('../shared/migrate.ts');
  const { composeModules } = await import('../compose.ts');
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  let modules: Modules;
  try {
    await migrateToLatest(database.db);
    const secretKey = await secretKeyForCli(config);
    modules = composeModules({ config, db: database.db, logger: createLogger({ level: 'warn', destination: streamTo(stderr) }), secretKey });
  } catch (error) {
    // Run in-process (as tests do), a handle left open here would outlive the command.
    await database.close();
    throw error;
  }
  return {
    via: 'database',
    run: (name, args) => modules.commands.run(name, args, { ...OPERATOR, actor: { ...OPERATOR.actor } }),
    async close() {
      try {
        await modules.close();
      } finally {
        await database.close();
      }
    },
  };
}

/** Sends commands to a running gateway with the operator token it left in DATA_DIR. */
export function createGatewayRunner(url: string, token: string): CommandRunner {
  return {
    via: 'gateway',
    async run(name, args) {
      const response = await fetch(`${url}/api/v1/operator/${name}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'user-agent': 'botgate-cli' },
        body: JSON.stringify(args),
      });
      const body = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
      if (!response.ok) {
        // Refused as the services refuse it in process (its code kept), or not answered as the gateway answers.
        const code = body?.error?.code;
        const known = code !== undefined && Object.hasOwn(HTTP_STATUS, code) ? (code as AppErrorCode) : 'unavailable';
        throw new AppError(known, body?.error?.message ?? `the gateway answered HTTP ${response.status}`);
      }
      return body;
    },
    close: () => Promise.resolve(),
  };
}

/** Whether DATA_DIR already holds an embedded database (PGlite writes PG_VERSION when it creates one). */
export async function embeddedDatabaseExists(dataDir: string): Promise<boolean> {
  return fs.access(path.join(dataDir, 'pglite', 'PG_VERSION')).then(
    () => true,
    () => false,
  );
}

/** How long the CLI waits for the process holding the embedded database to become a gateway it can reach, or to let go. */
const HOLDER_WAIT_MS = 30_000;
const HOLDER_POLL_MS = 200;

/**
 * PostgreSQL admits many processes, so the CLI opens it directly. The embedded
 * database admits one: while a gateway holds it, the CLI goes through that
 * gateway. A gateway that is starting holds the database before it listens,
 * and another CLI command holds it until it ends: the CLI waits for either.
 * Nobody holding it may also mean that DATA_DIR is not the gateway's: when
 * there is no database there yet, `onNewDatabase` hears of it before one is made.
 * Opened directly, the modules log their warnings to `stderr`.
 */
export async function openCommandRunner(
  config: Config,
  {
    waitMs = HOLDER_WAIT_MS,
    onNewDatabase,
    stderr = process.stderr,
  }: { waitMs?: number; onNewDatabase?: (dataDir: string) => void; stderr?: TextSink } = {},
): Promise<CommandRunner> {
  if (config.databaseUrl) return openDirectRunner(config, stderr);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const holder = await readLockHolder(config.dataDir, 'pglite');
    if (holder === undefined) {
      if (!(await embeddedDatabaseExists(config.dataDir))) onNewDatabase?.(config.dataDir);
      return openDirectRunner(config, stderr);
    }
    const credential = await readOperatorCredential(config.dataDir);
    if (credential && credential.pid === holder) return createGatewayRunner(credential.url, credential.token);
    if (Date.now() >= deadline) {
      throw new AppError(
        'unavailable',
        `the embedded database in ${config.dataDir} is in use by process ${holder}, which did not become a gateway this CLI can reach ` +
          `within ${Math.round(waitMs / 1000)} s, nor let go of it`,
      );
    }
    await delay(HOLDER_POLL_MS);
  }
}
