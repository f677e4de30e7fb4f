import dc from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { quantile } from './load.ts';

/**
 * Where the gateway's calls spend their time, seen from inside its process:
 * the medians, in ms, of each call's time before its upstream request, waiting
 * for the upstream's response headers, and from those to its own answer sent.
 */
export interface GatewayPhases {
  samples: number;
  /**
   * How many of them were answered as an event stream: every 2025-era call on
   * the SDK's path is; on the gateway's direct path only a call that reports
   * progress or runs 15 s, which the bench's echo calls do not.
   */
  streamed: number;
  beforeUpstreamP50Ms: number;
  upstreamP50Ms: number;
  afterUpstreamP50Ms: number;
}

export interface GatewayPhaseRecorder {
  /** Forgets what was recorded so far: the measured calls start now. */
  restart(): void;
  /** The phases of the calls of 2026-07-28 clients (`modern`) and of 2025-era ones (`legacy`). */
  result(): Record<CallEra, GatewayPhases>;
  stop(): void;
}

export type CallEra = 'modern' | 'legacy';

interface Call {
  era: CallEra;
  started: number;
  streamed?: boolean;
  upstreamSent?: number;
  upstreamAnswered?: number;
}

/**
 * Records, through Node's and undici's diagnostics channels, each POST this
 * process serves alone (no other in flight, as the bench's sequential latency
 * calls are) that makes one outbound request: the gateway's call of its
 * upstream. Concurrent requests are left out, since their outbound requests
 * cannot be told apart; so are the GET streams 2025-era clients hold open,
 * which make none.
 */
export function recordGatewayPhases(): GatewayPhaseRecorder {
  let inFlight = 0;
  let current: Call | undefined;
  let calls: Array<Required<Call> & { finished: number }> = [];

  const onRequest = (message: unknown) => {
    const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
    if (request.method !== 'POST') return;
    inFlight += 1;
    const era: CallEra = request.headers['mcp-protocol-version'] === '2026-07-28' ? 'modern' : 'legacy';
    const call: Call | undefined = inFlight === 1 ? { era, started: performance.now() } : undefined;
    current = call;
    response.once('finish', () => {
      const { upstreamSent, upstreamAnswered } = call ?? {};
      if (call && current === call && upstreamSent !== undefined && upstreamAnswered !== undefined) {
        const streamed = String(response.getHeader('content-type')).startsWith('text/event-stream');
        calls.push({ era: call.era, started: call.started, upstreamSent, upstreamAnswered, streamed, finished: performance.now() });
      }
    });
    response.once('close', () => {
      inFlight -= 1;
      if (current === call) current = undefined;
    });
  };
  const onUpstreamRequest = () => {
    if (current && current.upstreamSent === undefined) current.upstreamSent = performance.now();
    else current = undefined;
  };
  const onUpstreamHeaders = () => {
    if (current?.upstreamSent !== undefined && current.upstreamAnswered === undefined) current.upstreamAnswered = performance.now();
  };
  const channels: Array<[string, (message: unknown) => void]> = [
    ['http.server.request.start', onRequest],
    ['undici:request:create', onUpstreamRequest],
    ['undici:request:headers', onUpstreamHeaders],
  ];
  for (const [name, listener] of channels) dc.subscribe(name, listener);

  const median = (values: number[]) => quantile(Float64Array.from(values).sort(), 0.5);
  const phasesOf = (recorded: typeof calls): GatewayPhases => ({
    samples: recorded.length,
    streamed: recorded.filter((c) => c.streamed).length,
    beforeUpstreamP50Ms: median(recorded.map((c) => c.upstreamSent - c.started)),
    upstreamP50Ms: median(recorded.map((c) => c.upstreamAnswered - c.upstreamSent)),
    afterUpstreamP50Ms: median(recorded.map((c) => c.finished - c.upstreamAnswered)),
  });
  return {
    restart: () => {
      calls = [];
    },
    result: () => ({ modern: phasesOf(calls.filter((c) => c.era === 'modern')), legacy: phasesOf(calls.filter((c) => c.era === 'legacy')) }),
    stop: () => {
      for (const [name, listener] of channels) dc.unsubscribe(name, listener);
    },
  };
}
