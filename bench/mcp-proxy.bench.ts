import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { composeModules } from '../src/compose.ts';
import { listen, type RunningServer } from '../src/gateway/index.ts';
import { loadConfig } from '../src/shared/config.ts';
import type { Db } from '../src/shared/db.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createBenchApp } from './bench-app.ts';
import type { RequestContext } from '../src/tenancy/index.ts';
import { startProxyProcess, type ProxyProcess } from './proxy-process.ts';
import { combineLoads, quantile, type LoadResult } from './load.ts';
import { clientFetch } from './client-fetch.ts';
import { processCpuMs } from './process-cpu.ts';
import { recordGatewayPhases, type CallEra, type GatewayPhaseRecorder, type GatewayPhases } from './gateway-phases.ts';
import { freePort, startEverything } from '../test/support/everything-server.ts';

/** Set in the environment of the process that runs the bench's clients. */
const CLIENTS_ENV = 'BOTGATE_BENCH_MCP_CLIENTS';

export interface McpProxyBenchOptions {
  /** Sequential calls per target on one client, alternating direct and gateway call by call... */
  latencyCalls: number;
  /** ...or fewer, if they take longer than this. */
  latencyMaxDurationMs: number;
  latencyWarmup: number;
  /** Clients calling at once, each with its own connection, for throughput. */
  concurrency: number;
  /** Alternating rounds per target: direct, gateway, direct, gateway, ... */
  rounds: number;
  roundDurationMs: number;
  /** Calls sent per target before its first round, not counted. */
  warmupCalls: number;
}

export interface Latency {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  errors: number;
  /** Median of the client's own work per call: its event loop's active time during the call. */
  clientP50Ms: number;
  /** Median of each call's latency less the client's own work: the time spent waiting on the path. */
  waitP50Ms: number;
}

/** The processes on the way of a call, besides the clients'. */
export type Party = 'upstream' | 'pipe' | 'bare' | 'gateway';

/**
 * The ways to the upstream: directly, through a byte-piping proxy, through the
 * bare SDK proxy, through the gateway; and through the gateway again with a
 * client that speaks 2025-11-25 (`legacy`), as the v1 SDK's clients do.
 */
export const PATHS = ['direct', 'pipe', 'bare', 'gateway', 'legacy'] as const;
export type PathName = (typeof PATHS)[number];

export interface McpProxyBenchResult {
  latency: Record<PathName, Latency>;
  throughput: Record<PathName, LoadResult>;
  /** The protocol era each client negotiated on each path. */
  eras: Record<PathName, string>;
  /**
   * CPU time each party's process used per call it handled, in ms, over the
   * measured latency calls: the upstream's per call of any path; the gateway's
   * includes its audit writes to its embedded database.
   */
  cpuPerCallMs: Record<Party, number>;
  /** tool.call audit events the gateway wrote during the run. */
  auditEvents: number;
  /** Where the gateway's measured latency calls spent their time, from inside its process, by the client's era. */
  gatewayPhases: Record<CallEra, GatewayPhases>;
}

interface Target {
  url: string;
  headers: Record<string, string>;
  /** The client speaks 2025-era revisions only (`versionNegotiation` legacy) rather than the latest the server does. */
  legacy?: boolean;
}

interface ClientsInput {
  targets: Record<PathName, Target>;
  options: McpProxyBenchOptions;
  pids: Record<Party, number>;
}

type ClientsOutput = Omit<McpProxyBenchResult, 'auditEvents' | 'gatewayPhases'>;

/** What the clients' process tells this one: that the measured latency calls start, then what it measured. */
type ClientsMessage = { kind: 'latency-measured-from-now' } | { kind: 'done'; output: ClientsOutput };
const reportOf = (output: ClientsOutput): ClientsMessage => ({ kind: 'done', output });

const OPERATOR: RequestContext = {
  actor: { type: 'operator', id: null },
  ip: null,
  userAgent: null,
  requestId: 'bench',
};

/** The reference server in Streamable HTTP mode, in its own process; resolves once it listens. */
async function startEverythingOnFreePort(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  return { url: `http://127.0.0.1:${port}/mcp`, child: await startEverything(port) };
}

/** A v2 client in `auto` mode, as the gateway's own upstream connections use; in `legacy` mode for a 2025-era target. */
async function connectClient(target: Target): Promise<Client> {
  const client = new Client({ name: 'botgate-bench', version: '1.0.0' }, { versionNegotiation: { mode: target.legacy ? 'legacy' : 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(target.url), { requestInit: { headers: target.headers }, fetch: clientFetch }));
  return client;
}

/** One `echo` call; false when it failed or answered something else. */
async function callEcho(client: Client, message: string): Promise<boolean> {
  try {
    const result = await client.callTool({ name: 'echo', arguments: { message } });
    const first = result.content[0];
    return result.isError !== true && first?.type === 'text' && first.text === `Echo: ${message}`;
  } catch {
    return false;
  }
}

/** One measured call: its latency, and the client's own work in it. */
interface Sample {
  ms: number;
  clientMs: number;
}

const median = (values: number[]) => quantile(Float64Array.from(values).sort(), 0.5);

function summarize(samples: Sample[], errors: number): Latency {
  const sorted = Float64Array.from(samples.map((s) => s.ms)).sort();
  const mean = sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, sorted.length);
  return {
    samples: sorted.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    meanMs: mean,
    errors,
    clientP50Ms: median(samples.map((s) => s.clientMs)),
    waitP50Ms: median(samples.map((s) => s.ms - s.clientMs)),
  };
}

const PARTIES: readonly Party[] = ['upstream', 'pipe', 'bare', 'gateway'];
const cpuOf = (pids: Record<Party, number>) => Object.fromEntries(PARTIES.map((party) => [party, processCpuMs(pids[party])])) as Record<Party, number>;

/** One client per path, calls rotating between them so all see the same moments of machine noise. */
async function measureLatency(targets: Record<PathName, Target>, options: McpProxyBenchOptions, pids: Record<Party, number>) {
  const clients = await Promise.all(PATHS.map((name) => connectClient(targets[name])));
  try {
    const samples = PATHS.map((): Sample[] => []);
    const errors = PATHS.map(() => 0);
    let deadline = Number.POSITIVE_INFINITY;
    let cpuBefore = cpuOf(pids);
    for (let i = 0; i < options.latencyWarmup + options.latencyCalls && performance.now() < deadline; i += 1) {
      if (i === options.latencyWarmup) {
        deadline = performance.now() + options.latencyMaxDurationMs;
        cpuBefore = cpuOf(pids);
        const started: ClientsMessage = { kind: 'latency-measured-from-now' };
        process.send?.(started);
      }
      // Rotate which goes first each time, so none always follows another.
      for (let k = 0; k < PATHS.length; k += 1) {
        const index = (i + k) % PATHS.length;
        const client = clients[index];
        if (!client) continue;
        // Nothing else runs on this thread meanwhile: its event loop's active time is this call's client work.
        const loop = performance.eventLoopUtilization();
        const sent = performance.now();
        const ok = await callEcho(client, `latency ${i}`);
        const ms = performance.now() - sent;
        if (i < options.latencyWarmup) continue;
        samples[index]?.push({ ms, clientMs: performance.eventLoopUtilization(loop).active });
        if (!ok) errors[index] = (errors[index] ?? 0) + 1;
      }
    }
    const cpuAfter = cpuOf(pids);
    const byPath = <T>(value: (index: number) => T) => Object.fromEntries(PATHS.map((name, index) => [name, value(index)])) as Record<PathName, T>;
    const callsOn = (name: PathName) => samples[PATHS.indexOf(name)]?.length ?? 0;
    const handled: Record<Party, number> = {
      upstream: PATHS.reduce((sum, name) => sum + callsOn(name), 0),
      pipe: callsOn('pipe'),
      bare: callsOn('bare'),
      gateway: callsOn('gateway') + callsOn('legacy'),
    };
    return {
      latency: byPath((index) => summarize(samples[index] ?? [], errors[index] ?? 0)),
      eras: byPath((index) => clients[index]?.getNegotiatedProtocolVersion() ?? 'unknown'),
      cpuPerCallMs: Object.fromEntries(PARTIES.map((party) => [party, (cpuAfter[party] - cpuBefore[party]) / handled[party]])) as Record<Party, number>,
    };
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
  }
}

/** `clients.length` closed-loop callers for a fixed time; every call's latency is kept. */
async function runRound(clients: Client[], durationMs: number, warmupCalls: number): Promise<LoadResult> {
  let warmupLeft = warmupCalls;
  await Promise.all(
    clients.map(async (client) => {
      while (warmupLeft > 0) {
        warmupLeft -= 1;
        if (!(await callEcho(client, 'warm-up'))) throw new Error('a warm-up echo call failed');
      }
    }),
  );
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    clients.map(async (client, index) => {
      for (let n = 0; performance.now() < deadline; n += 1) {
        const sent = performance.now();
        if (!(await callEcho(client, `client ${index} call ${n}`))) errors += 1;
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const durationMsTaken = performance.now() - started;
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: sorted.length,
    errors,
    durationMs: durationMsTaken,
    requestsPerSecond: (sorted.length / durationMsTaken) * 1000,
    latencyMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) },
    samplesMs: sorted,
  };
}

async function measureThroughput(targets: Record<PathName, Target>, options: McpProxyBenchOptions): Promise<Record<PathName, LoadResult>> {
  const pools: Client[][] = [];
  try {
    for (const name of PATHS) {
      pools.push(await Promise.all(Array.from({ length: options.concurrency }, () => connectClient(targets[name]))));
    }
    const rounds = PATHS.map((): LoadResult[] => []);
    for (let round = 0; round < options.rounds; round += 1) {
      for (const [index, clients] of pools.entries()) {
        rounds[index]?.push(await runRound(clients, options.roundDurationMs, round === 0 ? options.warmupCalls : 0));
      }
    }
    return Object.fromEntries(PATHS.map((name, index) => [name, combineLoads(rounds[index] ?? [])])) as Record<PathName, LoadResult>;
  } finally {
    await Promise.allSettled(pools.flat().map((client) => client.close()));
  }
}

/** The clients' whole job: drive every path, then report. */
async function runClients(input: ClientsInput): Promise<ClientsOutput> {
  const throughput = await measureThroughput(input.targets, input.options);
  const { latency, eras, cpuPerCallMs } = await measureLatency(input.targets, input.options, input.pids);
  return { latency, throughput, eras, cpuPerCallMs };
}

/**
 * The clients run in a process of their own, as MCP clients do, so that they
 * share neither an event loop nor a process (its GC and I/O threads) with the
 * proxies they measure. It inherits this process's tsx loader.
 */
function runClientsInProcess(input: ClientsInput, onLatencyMeasured: () => void): Promise<ClientsOutput> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), { env: { ...process.env, [CLIENTS_ENV]: '1' }, serialization: 'advanced' });
    child.on('message', (message: ClientsMessage) => {
      if (message.kind === 'done') resolve(message.output);
      else onLatencyMeasured();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the bench clients exited with ${code} before reporting`)));
    child.send(input);
  });
}

/**
 * `tools/call echo` on server-everything (Streamable HTTP, its own process),
 * made directly, through a proxy that only pipes bytes (pipe-proxy.ts), through
 * the bare SDK proxy (bare-mcp-proxy.ts) and through the gateway's
 * `/t/{tenant}/mcp/servers/{remote}` with an API key and audit on: the gateway
 * in this process, every other party in a process of its own. Throughput is
 * measured first, so latency is measured on warm processes. Expects a migrated database.
 */
export async function runMcpProxyBench(db: Db, options: McpProxyBenchOptions): Promise<McpProxyBenchResult> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-bench-'));
  const logger = createLogger({ level: 'silent' });
  const modules = composeModules({
    config: loadConfig({ DATA_DIR: dataDir, BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' }),
    db,
    logger,
    secretKey: randomBytes(32),
  });
  let upstream: ChildProcess | undefined;
  let server: RunningServer | undefined;
  let bare: ProxyProcess | undefined;
  let pipe: ProxyProcess | undefined;
  let phases: GatewayPhaseRecorder | undefined;
  try {
    const everything = await startEverythingOnFreePort();
    upstream = everything.child;
    const slug = 'mcp-bench';
    await modules.commands.run('tenant.create', { slug }, OPERATOR);
    const { key } = (await modules.commands.run('key.create', { tenant: slug, name: 'mcp bench', scopes: ['mcp'] }, OPERATOR)) as {
      key: { secret: string };
    };
    await modules.commands.run('server.create', { tenant: slug, slug: 'everything', kind: 'remote', config: { url: everything.url } }, OPERATOR);

    // No bots run here, so nothing calls back into the gateway; the host guard is on, as on loopback.
    const app = createBenchApp(modules, db, { logger, selfUrl: () => 'http://127.0.0.1:9', hostGuard: true });
    server = await listen(app, { host: '127.0.0.1', port: 0 });
    bare = await startProxyProcess('bare', everything.url);
    pipe = await startProxyProcess('pipe', everything.url);
    // Only the gateway serves HTTP in this process: its sequential latency calls are timed from inside too.
    const recorder = recordGatewayPhases();
    phases = recorder;
    const targets: Record<PathName, Target> = {
      direct: { url: everything.url, headers: {} },
      pipe: { url: pipe.url, headers: {} },
      bare: { url: bare.url, headers: {} },
      gateway: { url: `${server.url}/t/${slug}/mcp/servers/everything`, headers: { authorization: `Bearer ${key.secret}` } },
      legacy: { url: `${server.url}/t/${slug}/mcp/servers/everything`, headers: { authorization: `Bearer ${key.secret}` }, legacy: true },
    };
    const pids = { upstream: everything.child.pid ?? Number.NaN, pipe: pipe.pid, bare: bare.pid, gateway: process.pid };
    const output = await runClientsInProcess({ targets, options, pids }, () => recorder.restart());
    const gatewayPhases = recorder.result();
    await modules.auditWriter.flush();
    const audit = await db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('action', '=', 'tool.call')
      .executeTakeFirstOrThrow();
    return { ...output, auditEvents: Number(audit.count), gatewayPhases };
  } finally {
    phases?.stop();
    await server?.close(1_000);
    await bare?.close();
    await pipe?.close();
    await modules.close();
    if (upstream && upstream.exitCode === null) {
      const exited = new Promise((resolve) => upstream?.once('exit', resolve));
      upstream.kill('SIGKILL');
      await exited;
    }
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

if (process.env[CLIENTS_ENV] === '1') {
  process.once('message', (input) => {
    void runClients(input as ClientsInput).then((output) => process.send?.(reportOf(output), undefined, {}, () => process.exit(0)));
  });
}
