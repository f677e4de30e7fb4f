import type { Express } from 'express';
import type { Modules } from '../src/compose.ts';
import { allowedHostnames, createApp, generateOperatorToken } from '../src/gateway/index.ts';
import { pingDatabase, type Db } from '../src/shared/db.ts';
import type { Logger } from '../src/shared/logger.ts';

/**
 * The gateway's app over modules composed for a benchmark, as `botgate serve` builds it
 * without sign-in pages or OAuth (metrics counted, not served). `hostGuard`: the DNS-rebinding guard of a gateway on loopback.
 */
export function createBenchApp(modules: Modules, db: Db, options: { logger: Logger; selfUrl: () => string; hostGuard: boolean }): Express {
  return createApp({
    logger: options.logger,
    tenancy: modules.tenancy,
    servers: modules.servers,
    bots: modules.bots,
    auditWriter: modules.auditWriter,
    version: 'bench',
    bodyLimit: '1mb',
    isReady: () => pingDatabase(db),
    changes: modules.changes,
    selfUrl: options.selfUrl,
    allowedHostnames: options.hostGuard ? allowedHostnames('127.0.0.1', undefined) : undefined,
    operator: { commands: modules.commands, token: generateOperatorToken() },
    // Counted as in production; nothing scrapes them here.
    metrics: modules.metrics,
  });
}
