// `npm run bench`: authentication cost, HTTP throughput and MCP proxying cost, each
// beside a baseline measured in the same run and interleaved with it, then bots against
// the fake Anthropic API. Loopback only; in-memory PGlite (10 keys, 100,000 keys, and one
// for bots); about 75 s, then about 30 s for bots. Section C also measures a pipe proxy
// (pipe-proxy.ts: the extra hop alone) and a bare SDK proxy (bare-mcp-proxy.ts): what a proxy
// costs that runs every call through the MCP SDK on both legs.
// `npm run bench -- --only bots` runs the bots section alone, `--only core` the others.
import os from 'node:os';
import { openMemoryDatabase } from '../src/shared/db.ts';
import { migrateToLatest } from '../src/shared/migrate.ts';
import { runAuthBench, type Timing } from './auth.bench.ts';
import { runBotsBench, LOOP_DELAY_RESOLUTION_MS, type BotsBenchResult, type FirstToken } from './bots.bench.ts';
import { runHttpBench } from './http.bench.ts';
import { runMcpProxyBench } from './mcp-proxy.bench.ts';
import type { LoadResult } from './load.ts';

const AUTH = { iterations: 2_000, warmup: 200, largeKeyCount: 100_000 };
const HTTP = { concurrency: 16, rounds: 5, roundDurationMs: 1_000, maxRequestsPerRound: 20_000, warmupRequests: 500 };
const MCP = {
  latencyCalls: 1_000,
  latencyMaxDurationMs: 15_000,
  latencyWarmup: 100,
  concurrency: 32,
  rounds: 4,
  roundDurationMs: 2_000,
  warmupCalls: 128,
};

const BOTS = {
  latencyRounds: 150,
  latencyMaxDurationMs: 15_000,
  latencyWarmup: 20,
  // The fake paces between deltas, so a one-delta answer is not paced at all.
  latencyDeltas: 1,
  concurrency: 200,
  loadDeltas: 50,
  // About 2 s per stream, so that the asks overlap although the gateway starts them one after another.
  deltaDelayMs: 40,
  sampleIntervalMs: 50,
  idleMs: 1_000,
};
const TARGET_OVERHEAD_MS = 5;

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits = 1) => n.toFixed(digits);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const signed = (n: number) => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(2)}`;

/** Prints rows as a left-aligned first column and right-aligned others. */
function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('   ');
  console.log(`  ${line(header)}`);
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('   ')}`);
  for (const row of rows) console.log(`  ${line(row)}`);
}

const timingRow = (label: string, t: Timing) => [label, fixed(t.meanUs), fixed(t.p50Us), fixed(t.p99Us)];
const loadRow = (label: string, r: LoadResult) => [
  label,
  int(r.requestsPerSecond),
  int(r.requests),
  String(r.errors),
  fixed(r.durationMs / 1000, 2),
  fixed(r.latencyMs.p50, 2),
  fixed(r.latencyMs.p99, 2),
];

/** Sections A to C: authentication, HTTP and MCP proxying. */
async function runCoreSections(): Promise<void> {
  const started = performance.now();
  const small = await openMemoryDatabase();
  const large = await openMemoryDatabase();
  try {
    await migrateToLatest(small.db);
    await migrateToLatest(large.db);
    console.log(`two in-memory PGlite databases migrated in ${fixed((performance.now() - started) / 1000, 1)} s\n`);

    const auth = await runAuthBench({ small: small.db, large: large.db }, AUTH);
    console.log(
      `A) API-key authentication: apiKeys.authenticate(secret), ${int(AUTH.iterations)} sequential calls per row ` +
        `after ${int(AUTH.warmup)} warm-up, the four rows interleaved call by call; baseline: select 1 on the same handle`,
    );
    printTable(
      ['operation', 'mean µs', 'p50 µs', 'p99 µs'],
      [
        timingRow(`select 1 (baseline), ${int(auth.small.keys)} keys`, auth.small.baseline),
        timingRow(`authenticate, ${int(auth.small.keys)} keys`, auth.small.auth),
        timingRow(`select 1 (baseline), ${int(auth.large.keys)} keys`, auth.large.baseline),
        timingRow(`authenticate, ${int(auth.large.keys)} keys`, auth.large.auth),
      ],
    );
    console.log(
      `  authenticate / select 1 (p50): ${ratio(auth.small.auth.p50Us, auth.small.baseline.p50Us)} with ${int(auth.small.keys)} keys, ` +
        `${ratio(auth.large.auth.p50Us, auth.large.baseline.p50Us)} with ${int(auth.large.keys)} keys` +
        '  (a transaction of 4 statements: begin, set role, indexed select, commit)',
    );
    console.log(
      `  authenticate ${int(auth.large.keys)} / ${int(auth.small.keys)} keys: ` +
        `mean ${ratio(auth.large.auth.meanUs, auth.small.auth.meanUs)}, p50 ${ratio(auth.large.auth.p50Us, auth.small.auth.p50Us)}` +
        '  (about 1x: looked up by digest, no scan)',
    );
    console.log(`  digest lookup plan: ${auth.plan}`);
    console.log(`  (bulk insert of ${int(auth.large.keys - auth.small.keys)} keys + analyze: ${int(auth.bulkInsertMs)} ms)\n`);

    const http = await runHttpBench(large.db, HTTP);
    console.log(
      `B) GET /api/v1/me over loopback HTTP: ${HTTP.concurrency} concurrent keep-alive clients in this process, ` +
        `${HTTP.rounds} alternating rounds of ${HTTP.roundDurationMs / 1000} s per server after ${int(HTTP.warmupRequests)} warm-up; ` +
        `baseline: bare express 5 answering constant JSON; botgate on the ${int(auth.large.keys)}-key database`,
    );
    printTable(
      ['server', 'req/s', 'requests', 'errors', 'seconds', 'p50 ms', 'p99 ms'],
      [loadRow('bare express (baseline)', http.baseline), loadRow('botgate /api/v1/me', http.app)],
    );
    console.log(`  botgate / baseline throughput: ${ratio(http.app.requestsPerSecond, http.baseline.requestsPerSecond)}\n`);

    const load = os.loadavg().map((n) => fixed(n, 2)).join(' ');
    const mcp = await runMcpProxyBench(large.db, MCP);
    const { direct, pipe, bare, gateway, legacy } = mcp.latency;
    const calls = mcp.throughput;
    console.log(
      'C) tools/call echo on server-everything (Streamable HTTP, its own process): directly; through a pipe proxy (bytes piped ' +
        'both ways over keep-alive: the extra loopback hop alone); through a bare SDK proxy ' +
        '(createMcpHandler in front of one v2 client, every call through the SDK on both legs: no auth, routing, pinning or audit); and through ' +
        '/t/{tenant}/mcp/servers/{remote} (API key, audit on), by a client of the latest revision and by one of 2025 (as the v1 SDK\'s clients: Claude Code, Claude Desktop); ' +
        'the gateway in this process, the other proxies and the v2 clients (versionNegotiation auto; legacy for the 2025 one) ' +
        `each in a process of its own; throughput measured first, then latency on the warm processes; negotiated: direct ${mcp.eras.direct}, pipe ${mcp.eras.pipe}, bare ${mcp.eras.bare}, gateway ${mcp.eras.gateway} and ${mcp.eras.legacy}; load average before: ${load}`,
    );
    console.log(
      `  latency: one client per path, ${int(direct.samples)} sequential calls each after ${int(MCP.latencyWarmup)} warm-up, ` +
        'rotating between the paths call by call',
    );
    const latencyRow = (label: string, l: typeof direct) => [
      label,
      fixed(l.p50Ms, 2),
      fixed(l.p99Ms, 2),
      fixed(l.meanMs, 2),
      String(l.errors),
      fixed(l.clientP50Ms, 2),
      fixed(l.waitP50Ms, 2),
    ];
    printTable(
      ['path', 'p50 ms', 'p99 ms', 'mean ms', 'errors', 'client p50 ms', 'wait p50 ms'],
      [
        latencyRow('direct', direct),
        latencyRow('pipe proxy', pipe),
        latencyRow('bare SDK proxy', bare),
        latencyRow('gateway', gateway),
        latencyRow('gateway, 2025 client', legacy),
      ],
    );
    console.log(
      `  added by the gateway: p50 +${fixed(gateway.p50Ms - direct.p50Ms, 2)} ms (${ratio(gateway.p50Ms, direct.p50Ms)} direct), ` +
        `p99 +${fixed(gateway.p99Ms - direct.p99Ms, 2)} ms (${ratio(gateway.p99Ms, direct.p99Ms)} direct); target: under 1 ms at the median`,
    );
    console.log(
      `  added by the gateway to a 2025-11-25 client, the revision of the direct calls: p50 +${fixed(legacy.p50Ms - direct.p50Ms, 2)} ms ` +
        `(${ratio(legacy.p50Ms, direct.p50Ms)} direct), p99 +${fixed(legacy.p99Ms - direct.p99Ms, 2)} ms (${ratio(legacy.p99Ms, direct.p99Ms)} direct)`,
    );
    console.log(
      `  client = the client's own work in a call (its event loop's active time), wait = latency less that: the 2026-07-28 client ` +
        `(bare, gateway) works ${fixed(gateway.clientP50Ms - direct.clientP50Ms, 2)} ms more per call than the 2025-11-25 one (direct, pipe); ` +
        `added by the gateway to the wait: p50 ${signed(gateway.waitP50Ms - direct.waitP50Ms)} ms, with a 2025 client ${signed(legacy.waitP50Ms - direct.waitP50Ms)} ms ` +
        `(the pipe proxy: ${signed(pipe.waitP50Ms - direct.waitP50Ms)} ms)`,
    );
    console.log(
      `  added by the pipe proxy (the hop alone): p50 +${fixed(pipe.p50Ms - direct.p50Ms, 2)} ms; ` +
        `gateway − pipe: p50 ${signed(gateway.p50Ms - pipe.p50Ms)} ms (what the gateway's own work adds to the hop)`,
    );
    console.log(
      `  added by the bare SDK proxy: p50 +${fixed(bare.p50Ms - direct.p50Ms, 2)} ms; ` +
        `gateway − bare: p50 ${signed(gateway.p50Ms - bare.p50Ms)} ms (the gateway answers tools/call of both eras and calls 2025-era upstreams without the SDK's per-call machinery)`,
    );
    const cpu = mcp.cpuPerCallMs;
    console.log(
      `  CPU per call over the latency calls (/proc, 10 ms ticks): upstream ${fixed(cpu.upstream, 2)} ms, pipe proxy ${fixed(cpu.pipe, 2)} ms, ` +
        `bare SDK proxy ${fixed(cpu.bare, 2)} ms, gateway ${fixed(cpu.gateway, 2)} ms with its audit writes (its calls of both eras) ` +
        `(${ratio(cpu.gateway, cpu.upstream)} the upstream's, ${ratio(cpu.gateway, cpu.pipe)} the pipe proxy's)`,
    );
    for (const [who, phases] of [
      ['latest-revision', mcp.gatewayPhases.modern],
      ['2025-era', mcp.gatewayPhases.legacy],
    ] as const) {
      console.log(
        `  inside the gateway, over ${int(phases.samples)} of its ${who} latency calls (p50): ${fixed(phases.beforeUpstreamP50Ms, 2)} ms from the request to its upstream request, ` +
          `${fixed(phases.upstreamP50Ms, 2)} ms waiting for the upstream's answer, ${fixed(phases.afterUpstreamP50Ms, 2)} ms from that answer to its own; ` +
          `its own work in a call: about ${fixed(phases.beforeUpstreamP50Ms + phases.afterUpstreamP50Ms, 2)} ms; ` +
          `answered as an event stream (the SDK's path, for a 2025-era call): ${int(phases.streamed)}`,
      );
    }
    console.log(
      `  throughput: ${MCP.concurrency} concurrent clients per path, each its own connection, ` +
        `${MCP.rounds} rotating rounds of ${MCP.roundDurationMs / 1000} s per path after ${int(MCP.warmupCalls)} warm-up calls`,
    );
    printTable(
      ['path', 'calls/s', 'calls', 'errors', 'seconds', 'p50 ms', 'p99 ms'],
      [
        loadRow('direct', calls.direct),
        loadRow('pipe proxy', calls.pipe),
        loadRow('bare SDK proxy', calls.bare),
        loadRow('gateway', calls.gateway),
        loadRow('gateway, 2025 client', calls.legacy),
      ],
    );
    console.log(
      `  calls per second / direct: gateway ${ratio(calls.gateway.requestsPerSecond, calls.direct.requestsPerSecond)} (target: at least 0.70x), ` +
        `with a 2025 client ${ratio(calls.legacy.requestsPerSecond, calls.direct.requestsPerSecond)}, ` +
        `pipe proxy ${ratio(calls.pipe.requestsPerSecond, calls.direct.requestsPerSecond)}, ` +
        `bare SDK proxy ${ratio(calls.bare.requestsPerSecond, calls.direct.requestsPerSecond)}; ` +
        `gateway / bare ${ratio(calls.gateway.requestsPerSecond, calls.bare.requestsPerSecond)}; tool.call audit events written: ${int(mcp.auditEvents)}`,
    );

    const mcpErrors = [direct, pipe, bare, gateway, legacy, ...Object.values(calls)].reduce((sum, figure) => sum + figure.errors, 0);
    if (http.app.errors > 0 || http.baseline.errors > 0 || mcpErrors > 0) process.exitCode = 1;
  } finally {
    await small.close();
    await large.close();
  }
}

const mib = (bytes: number) => fixed(bytes / 1024 / 1024, 1);
const firstTokenRow = (label: string, t: FirstToken) => [label, fixed(t.p50Ms, 2), fixed(t.p95Ms, 2), int(t.samples), String(t.errors)];
const versusTarget = (ms: number) => (ms < TARGET_OVERHEAD_MS ? `under the ${TARGET_OVERHEAD_MS} ms target` : `OVER the ${TARGET_OVERHEAD_MS} ms target`);

function printBotsSection(bots: BotsBenchResult, load: string): void {
  const { firstToken: t, load: l } = bots;
  console.log(
    'D) bots: `ask` through /t/{tenant}/mcp/bots/{bot} against the fake Anthropic API (real SSE, its own process); ' +
      `v2 MCP clients (auto, negotiated ${bots.era}) and the SDK's direct calls in one child process, the gateway alone in this one; ` +
      `model ${bots.model}; load average before: ${load}`,
  );
  console.log(
    `  time to first token: ${int(t.direct.samples + t.direct.errors)} rounds after ${BOTS.latencyWarmup} warm-up, the three calls of a round ` +
      `in rotating order; answers of ${BOTS.latencyDeltas} text delta (unpaced); direct = SDK messages.stream() to the first text delta, ` +
      'gateway = tools/call ask (progress token) to the first progress notification',
  );
  printTable(
    ['path', 'p50 ms', 'p95 ms', 'samples', 'errors'],
    [
      firstTokenRow('direct (SDK → fake)', t.direct),
      firstTokenRow('gateway, bot without tools', t.plain),
      firstTokenRow('gateway, bot with a filesystem server', t.withFiles),
    ],
  );
  console.log(
    `  gateway overhead (median of per-round gateway − direct): without tools ${fixed(t.overheadPlainMs, 2)} ms, ${versusTarget(t.overheadPlainMs)}; ` +
      `with a filesystem server ${fixed(t.overheadWithFilesMs, 2)} ms (its tool list fetched through the gateway's own MCP path, then kept as that list's cache hint allows, until a change), ${versusTarget(t.overheadWithFilesMs)}`,
  );
  console.log(
    `  ${int(BOTS.concurrency)} concurrent asks to the bot without tools, each on its own client, ${BOTS.loadDeltas} text deltas paced ` +
      `${BOTS.deltaDelayMs} ms apart: ${int(l.completed)} completed, ${int(l.failed)} failed in ${fixed(l.wallMs / 1000, 2)} s; ` +
      `${int(l.peakStreaming)} streaming at once at the peak; ${int(l.progressNotifications)} progress notifications for ` +
      `${int(BOTS.concurrency * BOTS.loadDeltas)} text deltas (the gateway joins deltas that arrive while a notification is in flight)`,
  );
  if (l.firstError) console.log(`  first failure: ${l.firstError}`);
  console.log(
    `  per ask under load: first progress p50 ${fixed(l.firstProgress.p50Ms, 1)} ms, p95 ${fixed(l.firstProgress.p95Ms, 1)} ms; ` +
      `answer p50 ${fixed(l.answer.p50Ms, 1)} ms, p95 ${fixed(l.answer.p95Ms, 1)} ms (unloaded stream: ${fixed(((BOTS.loadDeltas - 1) * BOTS.deltaDelayMs) / 1000, 2)} s)`,
  );
  const expectedSamples = l.wallMs / BOTS.sampleIntervalMs;
  console.log(
    `  gateway process memory, MiB: process.memoryUsage() every ${BOTS.sampleIntervalMs} ms on the gateway's own loop, ` +
      `${int(l.memorySamples)} samples of ~${int(expectedSamples)} (fewer when the loop was blocked); baseline: mean over ` +
      `${BOTS.idleMs / 1000} s idle after a forced GC, clients connected; peaks include garbage not yet collected`,
  );
  const perAsk = (peak: number, base: number) => fixed((peak - base) / 1024 / Math.max(1, BOTS.concurrency), 1);
  printTable(
    ['figure', 'baseline', 'peak', 'peak − baseline', 'KiB per ask'],
    (['rss', 'heapUsed', 'external'] as const).map((f) => [f, mib(l.baseline[f]), mib(l.peak[f]), mib(l.peak[f] - l.baseline[f]), perAsk(l.peak[f], l.baseline[f])]),
  );
  console.log(`  gateway event-loop delay, ms (monitorEventLoopDelay, ${LOOP_DELAY_RESOLUTION_MS} ms resolution, the interval subtracted)`);
  printTable(
    ['phase', 'p50', 'p99', 'max'],
    [
      ['idle', fixed(l.idleDelay.p50Ms, 2), fixed(l.idleDelay.p99Ms, 2), fixed(l.idleDelay.maxMs, 2)],
      ['under load', fixed(l.loadDelay.p50Ms, 2), fixed(l.loadDelay.p99Ms, 2), fixed(l.loadDelay.maxMs, 2)],
    ],
  );
  console.log(`  gateway CPU during the load: ${fixed(l.cpuPercent, 0)}% of one core`);
}

/** Section D, on a database of its own. */
async function runBotsSection(): Promise<void> {
  const opened = await openMemoryDatabase();
  try {
    await migrateToLatest(opened.db);
    const load = os.loadavg().map((n) => fixed(n, 2)).join(' ');
    const bots = await runBotsBench(opened.db, BOTS);
    printBotsSection(bots, load);
    const { firstToken: t } = bots;
    if (t.direct.errors + t.plain.errors + t.withFiles.errors + bots.load.failed > 0) process.exitCode = 1;
  } finally {
    await opened.close();
  }
}

/** `--only bots` or `--only core` (sections A to C); both by default. */
function selectedSections(args: readonly string[]): { core: boolean; bots: boolean } {
  const index = args.findIndex((a) => a === '--only' || a.startsWith('--only='));
  if (index < 0) return { core: true, bots: true };
  const flag = args[index] ?? '';
  const value = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : (args[index + 1] ?? '');
  if (value !== 'bots' && value !== 'core') throw new Error(`--only takes "core" or "bots", got "${value}"`);
  return { core: value === 'core', bots: value === 'bots' };
}

async function main(): Promise<void> {
  const sections = selectedSections(process.argv.slice(2));
  const started = performance.now();
  console.log(`Botgate bench: node ${process.version}, ${os.platform()} ${os.arch()}, ${os.availableParallelism()} CPUs`);
  if (sections.core) await runCoreSections();
  if (sections.core && sections.bots) console.log('');
  if (sections.bots) await runBotsSection();
  console.log(`\ntotal ${fixed((performance.now() - started) / 1000, 1)} s`);
}

await main();
