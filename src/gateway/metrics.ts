import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { UsageRecordInput } from '../tenancy/index.ts';

/** What the metrics count of a model call's usage record. */
export type ModelCallObservation = Pick<
  UsageRecordInput,
  'model' | 'inputTokens' | 'outputTokens' | 'cacheWriteTokens' | 'cacheReadTokens' | 'costUsd' | 'error'
>;

/**
 * The gateway's Prometheus metrics, in a registry of its own. Labels are
 * bounded sets (route patterns, server kinds, outcomes, priced models), never
 * a tenant's names or a request's path, so that no client can grow them.
 */
export interface Metrics {
  registry: Registry;
  /** One HTTP request that ended: `route` is its pattern (`/t/:tenant/mcp`), `status` its code or `aborted`. */
  httpRequest(method: string, route: string, status: string, durationMs: number): void;
  /** One tool call through an MCP endpoint. */
  toolCall(kind: string, outcome: string, durationMs: number): void;
  /** One model call a bot made, as metered. */
  modelCall(call: ModelCallObservation): void;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Seconds: from a cached answer to a slow upstream. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const TOOL_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics({ auditPending }: { auditPending?: () => number } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'botgate_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status (or aborted).',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const httpDuration = new Histogram({
    name: 'botgate_http_request_duration_seconds',
    help: 'Time from a request to the end of its answer (for event streams, until the stream ended).',
    labelNames: ['method', 'route'],
    buckets: HTTP_BUCKETS,
    registers,
  });
  const toolCalls = new Counter({
    name: 'botgate_tool_calls_total',
    help: 'Tool calls through the MCP endpoints, by server kind and outcome (ok, tool_error, upstream_unavailable, input_required, denied, unknown_tool, cancelled, failed).',
    labelNames: ['kind', 'outcome'],
    registers,
  });
  const toolDuration = new Histogram({
    name: 'botgate_tool_call_duration_seconds',
    help: 'Time a tool call took in the gateway, upstream included.',
    labelNames: ['kind', 'outcome'],
    buckets: TOOL_BUCKETS,
    registers,
  });
  const modelCalls = new Counter({
    name: 'botgate_model_calls_total',
    help: 'Model calls bots made, by model (unpriced models as one) and outcome.',
    labelNames: ['model', 'outcome'],
    registers,
  });
  const modelTokens = new Counter({
    name: 'botgate_model_tokens_total',
    help: 'Tokens of bots’ model calls, by model and type (input, output, cache_write, cache_read).',
    labelNames: ['model', 'type'],
    registers,
  });
  const modelCost = new Counter({
    name: 'botgate_model_cost_usd_total',
    help: 'US dollars bots’ model calls cost, by priced model.',
    labelNames: ['model'],
    registers,
  });
  if (auditPending) {
    const pending = new Gauge({
      name: 'botgate_audit_events_pending',
      help: 'Audit events accepted and not yet written to the database.',
      registers: [],
      collect() {
        this.set(auditPending());
      },
    });
    registry.registerMetric(pending);
  }

  return {
    registry,
    httpRequest(method, route, status, durationMs) {
      const known = METHODS.has(method) ? method : 'other';
      httpRequests.inc({ method: known, route, status });
      httpDuration.observe({ method: known, route }, durationMs / 1000);
    },
    toolCall(kind, outcome, durationMs) {
      toolCalls.inc({ kind, outcome });
      toolDuration.observe({ kind, outcome }, durationMs / 1000);
    },
    modelCall(call) {
      // A model without a price may be any name a tenant wrote: they are counted together.
      const model = call.costUsd === null ? 'unpriced' : call.model;
      modelCalls.inc({ model, outcome: call.error === null ? 'ok' : 'error' });
      const tokens = { input: call.inputTokens, output: call.outputTokens, cache_write: call.cacheWriteTokens, cache_read: call.cacheReadTokens };
      for (const [type, count] of Object.entries(tokens)) if (count > 0) modelTokens.inc({ model, type }, count);
      if (call.costUsd !== null) modelCost.inc({ model }, Number(call.costUsd));
    },
  };
}
