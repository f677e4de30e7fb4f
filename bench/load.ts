import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  /** Absolute URL to GET, e.g. http://127.0.0.1:1234/api/v1/me. */
  url: string;
  headers?: Record<string, string>;
  /** Requests in flight at once, each on its own keep-alive socket. */
  concurrency: number;
  /** Stop after this many measured requests... */
  maxRequests: number;
  /** ...or after this long, whichever comes first. */
  maxDurationMs: number;
  /** Requests sent (and not counted) before measuring, to warm sockets and JIT. */
  warmupRequests: number;
}

export interface LoadResult {
  requests: number;
  /** Responses that were not 200, plus transport failures. */
  errors: number;
  durationMs: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** Every measured request's latency in ms, ascending. */
  samplesMs: Float64Array;
}

/** Sends one GET over the agent and resolves with its status once the body is read. */
function getOnce(agent: http.Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
}

/** Value at quantile q (0..1) of an ascending array. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/**
 * A closed-loop load generator: `concurrency` workers each send a request, wait
 * for the full response, and send the next, over keep-alive sockets. Bounded by
 * request count and by duration, so a slow target cannot stretch the run.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const headers = { accept: 'application/json', ...options.headers };
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    // Warm-up: same shape as the measured phase, results discarded except failures.
    let warmupLeft = options.warmupRequests;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (warmupLeft > 0) {
          warmupLeft -= 1;
          const status = await getOnce(agent, url, headers);
          if (status !== 200) throw new Error(`warm-up request to ${url.pathname} answered ${status}`);
        }
      }),
    );

    const latencies = new Float64Array(options.maxRequests);
    let issued = 0;
    let completed = 0;
    let errors = 0;
    const started = performance.now();
    const deadline = started + options.maxDurationMs;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (issued < options.maxRequests && performance.now() < deadline) {
          issued += 1;
          const sent = performance.now();
          try {
            if ((await getOnce(agent, url, headers)) !== 200) errors += 1;
          } catch {
            errors += 1;
          }
          latencies[completed] = performance.now() - sent;
          completed += 1;
        }
      }),
    );
    const durationMs = performance.now() - started;
    const sorted = latencies.subarray(0, completed).sort();
    return {
      requests: completed,
      errors,
      durationMs,
      requestsPerSecond: (completed / durationMs) * 1000,
      latencyMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) },
      samplesMs: sorted,
    };
  } finally {
    agent.destroy();
  }
}

/** Merges rounds run against the same target into one result: totals, and quantiles over all samples. */
export function combineLoads(results: readonly LoadResult[]): LoadResult {
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const durationMs = results.reduce((sum, r) => sum + r.durationMs, 0);
  const samplesMs = new Float64Array(requests);
  let offset = 0;
  for (const r of results) {
    samplesMs.set(r.samplesMs, offset);
    offset += r.samplesMs.length;
  }
  samplesMs.sort();
  return {
    requests,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    durationMs,
    requestsPerSecond: (requests / durationMs) * 1000,
    latencyMs: { p50: quantile(samplesMs, 0.5), p99: quantile(samplesMs, 0.99) },
    samplesMs,
  };
}
