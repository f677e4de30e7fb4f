import express from 'express';
import { randomBytes } from 'node:crypto';
import { composeModules } from '../src/compose.ts';
import { loadConfig } from '../src/shared/config.ts';
import { listen, type RunningServer } from '../src/gateway/index.ts';
import type { Db } from '../src/shared/db.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createBenchApp } from './bench-app.ts';
import type { RequestContext } from '../src/tenancy/index.ts';
import { combineLoads, runLoad, type LoadResult } from './load.ts';

export interface HttpBenchResult {
  app: LoadResult;
  baseline: LoadResult;
}

export interface HttpBenchOptions {
  concurrency: number;
  /** Alternating rounds per server: baseline, app, baseline, app, ... */
  rounds: number;
  roundDurationMs: number;
  maxRequestsPerRound: number;
  /** Sent to each server once, before its first round, and not counted. */
  warmupRequests: number;
}

const OPERATOR: RequestContext = {
  actor: { type: 'operator', id: null },
  ip: null,
  userAgent: null,
  requestId: 'bench',
};

/** A bare express 5 app answering a constant body shaped like `/me`: the floor for express over loopback. */
function createBaselineApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const body = {
    tenant: { id: '00000000-0000-4000-8000-000000000000', slug: 'baseline', name: 'baseline' },
    key: { id: '00000000-0000-4000-8000-000000000001', scopes: ['read'] },
    user_id: null,
    role: 'owner',
  };
  app.get('/api/v1/me', (_req, res) => {
    res.json(body);
  });
  return app;
}

/**
 * `GET /api/v1/me` on the real app (tenancy module, silent logger, real API key)
 * against a bare express app, both on 127.0.0.1 port 0, driven by the same load
 * generator with the same authorization header. Expects a migrated database.
 */
export async function runHttpBench(db: Db, options: HttpBenchOptions): Promise<HttpBenchResult> {
  const logger = createLogger({ level: 'silent' });
  const modules = composeModules({
    config: loadConfig({ DATA_DIR: '/tmp/botgate-bench' }),
    db,
    logger,
    secretKey: randomBytes(32),
  });
  const tenancy = modules.tenancy;
  const tenant = await tenancy.tenants.create(OPERATOR, { slug: 'http-bench' });
  const key = await tenancy.apiKeys.create(tenant.id, OPERATOR, { name: 'http bench', scopes: ['read'] });
  const headers = { authorization: `Bearer ${key.secret}` };

  // No bots run here, so nothing calls back into the gateway.
  const app = createBenchApp(modules, db, { logger, selfUrl: () => 'http://127.0.0.1:9', hostGuard: false });
  const servers: RunningServer[] = [];
  try {
    servers.push(await listen(createBaselineApp(), { host: '127.0.0.1', port: 0 }));
    servers.push(await listen(app, { host: '127.0.0.1', port: 0 }));
    const rounds: LoadResult[][] = [[], []];
    // Alternating short rounds share out any background load on the machine between the two.
    for (let round = 0; round < options.rounds; round += 1) {
      for (const [index, server] of servers.entries()) {
        const result = await runLoad({
          url: `${server.url}/api/v1/me`,
          headers,
          concurrency: options.concurrency,
          maxRequests: options.maxRequestsPerRound,
          maxDurationMs: options.roundDurationMs,
          warmupRequests: round === 0 ? options.warmupRequests : 0,
        });
        rounds[index]?.push(result);
      }
    }
    return { baseline: combineLoads(rounds[0] ?? []), app: combineLoads(rounds[1] ?? []) };
  } finally {
    await Promise.all(servers.map((server) => server.close(1_000)));
    await modules.close();
  }
}
