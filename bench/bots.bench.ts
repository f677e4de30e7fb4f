import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { composeModules, type Modules } from '../src/compose.ts';
import { listen, type RunningServer } from '../src/gateway/index.ts';
import { loadConfig } from '../src/shared/config.ts';
import type { Db } from '../src/shared/db.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createBenchApp } from './bench-app.ts';
import type { RequestContext } from '../src/tenancy/index.ts';
import { forkPeer, type AskAllOutput, type FirstTokenOutput, type Peer, type Quantiles, type Target } from './bots-peers.ts';
import { quantile } from './load.ts';

export interface BotsBenchOptions {
  /** Rounds of the three first-token measurements (direct, bot without tools, bot with a filesystem server)... */
  latencyRounds: number;
  /** ...or fewer, if they take longer than this. */
  latencyMaxDurationMs: number;
  latencyWarmup: number;
  /** Text deltas of each answer in the first-token rounds. */
  latencyDeltas: number;
  /** Asks streaming through the gateway at once, each on its own MCP client. */
  concurrency: number;
  /** Text deltas of each answer under load. */
  loadDeltas: number;
  /** The fake's pause between two text deltas of a stream. */
  deltaDelayMs: number;
  /** How often the gateway process samples its memory. */
  sampleIntervalMs: number;
  /** Idle time before the load, for the memory and event-loop baselines. */
  idleMs: number;
}

export interface FirstToken extends Quantiles {
  samples: number;
  errors: number;
}

export interface MemoryFigures {
  rss: number;
  heapUsed: number;
  external: number;
}

/** Event-loop delay beyond the sampling interval, ms. */
export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface BotsBenchResult {
  era: string;
  model: string;
  firstToken: {
    direct: FirstToken;
    plain: FirstToken;
    withFiles: FirstToken;
    /** Median over rounds of (gateway − direct) in the same round, ms. */
    overheadPlainMs: number;
    overheadWithFilesMs: number;
  };
  load: AskAllOutput & {
    /** Mean while idle, after a forced garbage collection. */
    baseline: MemoryFigures;
    /** Highest sample of each figure during the load. */
    peak: MemoryFigures;
    memorySamples: number;
    idleDelay: LoopDelay;
    loadDelay: LoopDelay;
    /** CPU time of the gateway process during the load, as % of one core. */
    cpuPercent: number;
  };
}

const OPERATOR: RequestContext = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: 'bench' };
const API_KEY = 'sk-ant-bench-key';
/** Priced, and not on the SDK's deprecation list (which warns on every call). */
const MODEL = 'claude-haiku-4-5';
const SYSTEM = 'You are a benchmark bot: answer briefly.';
/** monitorEventLoopDelay's sampling interval; what it records includes the interval itself. */
export const LOOP_DELAY_RESOLUTION_MS = 10;

/** Collects garbage before the idle baseline, so that it shows live memory, not the earlier phases' garbage. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Memory samples, event-loop delay and CPU of this process from now until `stop()`. */
function observe(intervalMs: number) {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  histogram.enable();
  const samples: NodeJS.MemoryUsage[] = [process.memoryUsage()];
  // Unreferenced, so that a run that fails before `stop()` still lets the process exit.
  const timer = setInterval(() => samples.push(process.memoryUsage()), intervalMs).unref();
  const cpu = process.cpuUsage();
  const started = performance.now();
  return {
    stop() {
      clearInterval(timer);
      histogram.disable();
      samples.push(process.memoryUsage());
      const used = process.cpuUsage(cpu);
      const beyond = (ns: number) => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS);
      return {
        samples,
        delay: { p50Ms: beyond(histogram.percentile(50)), p99Ms: beyond(histogram.percentile(99)), maxMs: beyond(histogram.max) },
        cpuPercent: ((used.user + used.system) / 1000 / (performance.now() - started)) * 100,
      };
    },
  };
}

const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / Math.max(1, xs.length);

function firstToken(values: number[]): FirstToken {
  const ok = values.filter((v) => !Number.isNaN(v));
  const sorted = Float64Array.from(ok).sort();
  return { samples: ok.length, errors: values.length - ok.length, p50Ms: quantile(sorted, 0.5), p95Ms: quantile(sorted, 0.95) };
}

/** Median over rounds where both calls succeeded of (gateway − direct). */
function pairedOverhead(direct: number[], gateway: number[]): number {
  const diffs = direct.map((d, i) => (gateway[i] ?? Number.NaN) - d).filter((x) => !Number.isNaN(x));
  return quantile(Float64Array.from(diffs).sort(), 0.5);
}

/** A tenant with an `mcp` key, a filesystem server, a bot without tools and a bot with that server. */
async function seedTenant(modules: Modules, slug: string): Promise<string> {
  await modules.commands.run('tenant.create', { slug }, OPERATOR);
  const { key } = (await modules.commands.run('key.create', { tenant: slug, name: 'bots bench', scopes: ['mcp'] }, OPERATOR)) as { key: { secret: string } };
  await modules.commands.run('server.create', { tenant: slug, slug: 'files', kind: 'filesystem' }, OPERATOR);
  const bot = { tenant: slug, model: MODEL, system: SYSTEM, description: 'Answers benchmark questions.' };
  await modules.commands.run('bot.create', { ...bot, slug: 'plain' }, OPERATOR);
  await modules.commands.run('bot.create', { ...bot, slug: 'with-files', servers: ['files'] }, OPERATOR);
  return key.secret;
}

/**
 * Bots against the fake Anthropic API: time to first token directly with the
 * SDK and through `/t/{tenant}/mcp/bots/{bot}`, then `concurrency` asks
 * streaming at once, with this process's memory and event-loop delay. The
 * gateway runs in this process; the fake and the clients in child processes.
 * Expects a migrated database.
 */
export async function runBotsBench(db: Db, options: BotsBenchOptions): Promise<BotsBenchResult> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-bots-bench-'));
  const peers: Peer[] = [];
  let modules: Modules | undefined;
  let server: RunningServer | undefined;
  try {
    const fake = forkPeer('bots-bench-fake');
    const clients = forkPeer('bots-bench-clients');
    peers.push(fake, clients);
    const { url: fakeUrl } = await fake.request<{ url: string }>({ type: 'start-fake', apiKey: API_KEY, deltaDelayMs: options.deltaDelayMs }, 30_000);

    const logger = createLogger({ level: 'silent' });
    const config = loadConfig({ DATA_DIR: dataDir, ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fakeUrl });
    modules = composeModules({ config, db, logger, secretKey: randomBytes(32) });
    const slug = 'bots-bench';
    const secret = await seedTenant(modules, slug);
    let selfUrl = '';
    const app = createBenchApp(modules, db, { logger, selfUrl: () => selfUrl, hostGuard: true });
    server = await listen(app, { host: '127.0.0.1', port: 0 });
    selfUrl = server.url;
    const bot = (name: string): Target => ({ url: `${selfUrl}/t/${slug}/mcp/bots/${name}`, headers: { authorization: `Bearer ${secret}` } });

    const tokens = await clients.request<FirstTokenOutput>(
      {
        type: 'first-tokens',
        job: {
          fakeUrl,
          apiKey: API_KEY,
          model: MODEL,
          system: SYSTEM,
          plain: bot('plain'),
          withFiles: bot('with-files'),
          rounds: options.latencyRounds,
          warmup: options.latencyWarmup,
          maxDurationMs: options.latencyMaxDurationMs,
          deltas: options.latencyDeltas,
        },
      },
      options.latencyMaxDurationMs + 60_000,
    );

    await clients.request({ type: 'connect', target: bot('plain'), clients: options.concurrency }, 60_000);
    collectGarbage();
    const idleObserver = observe(options.sampleIntervalMs);
    await sleep(options.idleMs);
    const idle = idleObserver.stop();
    const loadObserver = observe(options.sampleIntervalMs);
    const asked = await clients.request<AskAllOutput>({ type: 'ask-all', deltas: options.loadDeltas }, 120_000);
    const load = loadObserver.stop();
    await clients.request({ type: 'disconnect' }, 30_000);

    const figure = (f: keyof MemoryFigures) => ({
      baseline: mean(idle.samples.map((s) => s[f])),
      peak: Math.max(...load.samples.map((s) => s[f])),
    });
    const [rss, heapUsed, external] = [figure('rss'), figure('heapUsed'), figure('external')];
    return {
      era: tokens.era,
      model: MODEL,
      firstToken: {
        direct: firstToken(tokens.direct),
        plain: firstToken(tokens.plain),
        withFiles: firstToken(tokens.withFiles),
        overheadPlainMs: pairedOverhead(tokens.direct, tokens.plain),
        overheadWithFilesMs: pairedOverhead(tokens.direct, tokens.withFiles),
      },
      load: {
        ...asked,
        baseline: { rss: rss.baseline, heapUsed: heapUsed.baseline, external: external.baseline },
        peak: { rss: rss.peak, heapUsed: heapUsed.peak, external: external.peak },
        memorySamples: load.samples.length,
        idleDelay: idle.delay,
        loadDelay: load.delay,
        cpuPercent: load.cpuPercent,
      },
    };
  } finally {
    await server?.close(1_000);
    await modules?.close();
    await Promise.allSettled(peers.map((peer) => peer.close()));
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
