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
  beforeUpstreamP50Ms: number;
  upstreamP50Ms: number;
  afterUpstreamP50Ms: number;
}

export interface GatewayPhaseRecorder {
  /** Forgets what was recorded so far: the measured calls start now. */
  restart(): void;
  result(): GatewayPhases;
  stop(): void;
}

interface Call {
  started: number;
  upstreamSent?: number;
  upstreamAnswered?: number;
}

/**
 * Records, through Node's and undici's diagnostics channels, each request
 * this process serves alone (none other in flight, as the bench's sequential
 * latency calls are) that makes one outbound request: the gateway's call of
 * its upstream. Concurrent requests are left out, since their outbound
 * requests cannot be told apart.
 */
export function recordGatewayPhases(): GatewayPhaseRecorder {
  let inFlight = 0;
  let current: Call | undefined;
  let calls: Array<Required<Call> & { finished: number }> = [];

  const onRequest = (message: unknown) => {
    const { response } = message as { request: IncomingMessage; response: ServerResponse };
    inFlight += 1;
    const call: Call | undefined = inFlight === 1 ? { started: performance.now() } : undefined;
    current = call;
    response.once('finish', () => {
      const { upstreamSent, upstreamAnswered } = call ?? {};
      if (call && current === call && upstreamSent !== undefined && upstreamAnswered !== undefined) {
        calls.push({ started: call.started, upstreamSent, upstreamAnswered, finished: performance.now() });
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
  return {
    restart: () => {
      calls = [];
    },
    result: () => ({
      samples: calls.length,
      beforeUpstreamP50Ms: median(calls.map((c) => c.upstreamSent - c.started)),
      upstreamP50Ms: median(calls.map((c) => c.upstreamAnswered - c.upstreamSent)),
      afterUpstreamP50Ms: median(calls.map((c) => c.finished - c.upstreamAnswered)),
    }),
    stop: () => {
      for (const [name, listener] of channels) dc.unsubscribe(name, listener);
    },
  };
}
