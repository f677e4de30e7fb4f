// `npm run bench`: authentication cost, HTTP throughput and MCP proxying cost, each
// beside a baseline measured in the same run and interleaved with it. Loopback only;
// two in-memory PGlite instances (10 keys, 100,000 keys); about 90 s.
import os from 'node:os';
import { openMemoryDatabase } from '../src/shared/db.ts';
import { migrateToLatest } from '../src/shared/migrate.ts';
import { runAuthBench, type Timing } from './auth.bench.ts';
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

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits = 1) => n.toFixed(digits);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

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

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`Botgate bench: node ${process.version}, ${os.platform()} ${os.arch()}, ${os.availableParallelism()} CPUs`);

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
    const { direct, gateway } = mcp.latency;
    console.log(
      'C) tools/call echo on server-everything (Streamable HTTP, its own process), directly and through ' +
        '/t/{tenant}/mcp/servers/{remote} (API key, audit on); v2 clients (versionNegotiation auto) in a worker thread; ' +
        `negotiated: direct ${mcp.eras.direct}, gateway ${mcp.eras.gateway}; load average before: ${load}`,
    );
    console.log(
      `  latency: one client per path, ${int(direct.samples)} sequential calls each after ${int(MCP.latencyWarmup)} warm-up, ` +
        'alternating direct and gateway call by call',
    );
    printTable(
      ['path', 'p50 ms', 'p99 ms', 'mean ms', 'errors'],
      [
        ['direct', fixed(direct.p50Ms, 2), fixed(direct.p99Ms, 2), fixed(direct.meanMs, 2), String(direct.errors)],
        ['gateway', fixed(gateway.p50Ms, 2), fixed(gateway.p99Ms, 2), fixed(gateway.meanMs, 2), String(gateway.errors)],
      ],
    );
    console.log(
      `  added by the gateway: p50 +${fixed(gateway.p50Ms - direct.p50Ms, 2)} ms (${ratio(gateway.p50Ms, direct.p50Ms)} direct), ` +
        `p99 +${fixed(gateway.p99Ms - direct.p99Ms, 2)} ms (${ratio(gateway.p99Ms, direct.p99Ms)} direct)`,
    );
    console.log(
      `  throughput: ${MCP.concurrency} concurrent clients per path, each its own connection, ` +
        `${MCP.rounds} alternating rounds of ${MCP.roundDurationMs / 1000} s per path after ${int(MCP.warmupCalls)} warm-up calls`,
    );
    printTable(
      ['path', 'calls/s', 'calls', 'errors', 'seconds', 'p50 ms', 'p99 ms'],
      [loadRow('direct', mcp.throughput.direct), loadRow('gateway', mcp.throughput.gateway)],
    );
    console.log(
      `  gateway / direct calls per second: ${ratio(mcp.throughput.gateway.requestsPerSecond, mcp.throughput.direct.requestsPerSecond)}` +
        `; tool.call audit events written: ${int(mcp.auditEvents)}`,
    );

    console.log(`\ntotal ${fixed((performance.now() - started) / 1000, 1)} s`);
    const mcpErrors = direct.errors + gateway.errors + mcp.throughput.direct.errors + mcp.throughput.gateway.errors;
    if (http.app.errors > 0 || http.baseline.errors > 0 || mcpErrors > 0) process.exitCode = 1;
  } finally {
    await small.close();
    await large.close();
  }
}

await main();
