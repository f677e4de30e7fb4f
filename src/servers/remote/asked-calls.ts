import { randomBytes } from 'node:crypto';
import type { CallToolResult, ClientCapabilities, InputRequiredResult } from '@modelcontextprotocol/server';
import { errorResult, type ToolCallContext, type ToolCallOutcome } from '../tool-source.ts';
import type { DirectCall, DirectCallOptions, UpstreamAsk } from './direct-call.ts';

/** How long a call that asked the client for input waits for the client to come back with the answers. */
export const ANSWER_WAIT_MS = 10 * 60_000;

/** Calls of one upstream that may wait for the client's answers at once: each holds a request open upstream. */
export const MAX_WAITING_CALLS = 100;

/** What a retry whose `requestState` names no call waiting here is told. */
export const UNKNOWN_STATE_MESSAGE =
  'This retry answers a question of a call the gateway no longer holds: the call stopped waiting ' +
  `(answers are awaited for ${ANSWER_WAIT_MS / 60_000} minutes), or the node holding it stopped. Call the tool again.`;

/**
 * Whether a client that declared `capabilities` can answer `method` with
 * `params`: form or URL elicitation, sampling (with tools when asked with
 * tools). An empty `elicitation` declaration means form, as in 2025-era clients.
 */
export function clientCanAnswer(capabilities: ClientCapabilities | undefined, method: string, params: Record<string, unknown>): boolean {
  if (method === 'elicitation/create') {
    const elicitation = capabilities?.elicitation;
    if (!elicitation) return false;
    const mode = params['mode'] ?? 'form';
    if (mode === 'url') return elicitation.url !== undefined;
    return mode === 'form' && (elicitation.form !== undefined || Object.keys(elicitation).length === 0);
  }
  if (method === 'sampling/createMessage') {
    const sampling = capabilities?.sampling;
    return sampling !== undefined && (params['tools'] === undefined || sampling.tools !== undefined);
  }
  return false;
}

/** The shape of the states calls are parked under: 18 random bytes, base64url. */
const STATE_SHAPE = /^[A-Za-z0-9_-]{24}$/;

/** Whether `state` could name a call parked by any node: others are forged, or another server's. */
export function isParkedStateShape(state: string): boolean {
  return STATE_SHAPE.test(state);
}

/** What a held call is answered for: its tool, and who called it. */
export interface HeldCallKey {
  tool: string;
  caller: string | undefined;
}

/** A call that asked the client something, kept running upstream between the client's requests. */
interface AskedCall {
  tool: string;
  /** Who started the call: only they may answer its questions. */
  caller: string | undefined;
  /** The call's own cancellation: it outlives the client request that started it. */
  controller: AbortController;
  outcome: Promise<{ result: CallToolResult } | { error: unknown }>;
  /** Questions the client has not answered yet, by the key it got them under. */
  questions: Map<string, UpstreamAsk>;
  /** Wakes the request being served when a question arrives. */
  wake?: (() => void) | undefined;
  /** Progress goes to the client request being served, while there is one. */
  progress?: ToolCallContext['progress'] | undefined;
}

/** What a call needs from its caller besides the tool and arguments. */
export type AskedCallOptions = Pick<DirectCallOptions, 'timeout' | 'maxTotalMs'>;

/**
 * Questions 2025-era upstreams ask during tool calls (elicitation, sampling),
 * passed on to 2026-07-28 clients as `input_required` results: the client
 * answers by calling the tool again with its answers and the `requestState`
 * it got, and the answers go to the upstream, whose call has kept running.
 * Such a call lives in this process: a retry reaching another node is
 * passed here through the database (`onPark`, held-call-relay.ts).
 */
export interface AskedCalls {
  /** Whether `state` names a call waiting here for the client's answers. */
  holds(state: string): boolean;
  /** Runs a call through `directCall`, passing on the questions the client can answer. */
  call(directCall: DirectCall, name: string, args: Record<string, unknown>, context: ToolCallContext, options: AskedCallOptions): Promise<ToolCallOutcome>;
  /** Delivers a retry's answers to the call its state names, and serves the call on. */
  resume(name: string, context: ToolCallContext): Promise<ToolCallOutcome>;
  /** Stops every waiting call. */
  close(): void;
}

export interface AskedCallsOptions {
  /**
   * Told of each call parked under `state` for the client's retry; the
   * returned function is called once the call no longer waits under it
   * (answered here, expired or closed). See held-call-relay.ts.
   */
  onPark?: ((state: string, call: HeldCallKey) => () => void) | undefined;
}

export function createAskedCalls({ onPark }: AskedCallsOptions = {}): AskedCalls {
  const waiting = new Map<string, { call: AskedCall; expiry: NodeJS.Timeout; release?: (() => void) | undefined }>();

  /** Takes the call parked under `state` out of waiting. */
  function unpark(state: string) {
    const entry = waiting.get(state);
    if (!entry) return undefined;
    waiting.delete(state);
    clearTimeout(entry.expiry);
    entry.release?.();
    return entry;
  }

  /** Hands the unanswered questions to the client, keeping the call for the retry. */
  function park(call: AskedCall): InputRequiredResult {
    const state = randomBytes(18).toString('base64url');
    const expiry = setTimeout(() => {
      unpark(state);
      call.controller.abort(new Error(`the client did not answer within ${ANSWER_WAIT_MS / 60_000} minutes`));
    }, ANSWER_WAIT_MS).unref();
    waiting.set(state, { call, expiry, release: onPark?.(state, { tool: call.tool, caller: call.caller }) });
    const inputRequests = Object.fromEntries([...call.questions].map(([key, ask]) => [key, { method: ask.method, params: ask.params }]));
    // The upstream's params pass on as it sent them: the client validates what it is asked.
    return { resultType: 'input_required', inputRequests, requestState: state } as InputRequiredResult;
  }

  /** Serves `call` to one client request: its result, or the questions it waits on. */
  async function serve(call: AskedCall, context: ToolCallContext): Promise<ToolCallOutcome> {
    const cancel = () => call.controller.abort(context.signal.reason);
    context.signal.addEventListener('abort', cancel, { once: true });
    call.progress = (progress, total, message) => context.progress(progress, total, message);
    try {
      for (;;) {
        if (call.questions.size > 0) return park(call);
        const asked = new Promise<'asked'>((resolve) => (call.wake = () => resolve('asked')));
        const settled = await Promise.race([call.outcome, asked]);
        if (settled === 'asked') continue;
        if ('error' in settled) throw settled.error;
        return settled.result;
      }
    } finally {
      call.wake = undefined;
      call.progress = undefined;
      context.signal.removeEventListener('abort', cancel);
    }
  }

  return {
    holds: (state) => waiting.has(state),

    call(directCall, name, args, context, options) {
      const forward = ({ progress, total, message }: { progress: number; total?: number; message?: string }) => {
        context.progress(progress, total, message).catch(() => undefined);
      };
      // A client that can answer nothing is asked nothing: its call is the plain one.
      const capabilities = context.clientCapabilities;
      if (!capabilities?.elicitation && !capabilities?.sampling) {
        return directCall({ name, arguments: args }, { ...options, signal: context.signal, onprogress: forward });
      }
      const controller = new AbortController();
      const questions = new Map<string, UpstreamAsk>();
      let asked = 0;
      let call: AskedCall | undefined;
      // Past the bound, questions are refused as by a client without the capability.
      const room = waiting.size < MAX_WAITING_CALLS;
      const outcome = directCall(
        { name, arguments: args },
        {
          ...options,
          signal: controller.signal,
          onprogress: ({ progress, total, message }) => {
            call?.progress?.(progress, total, message).catch(() => undefined);
          },
          mayAsk: (method, params) => room && clientCanAnswer(context.clientCapabilities, method, params),
          onAsk: (ask) => {
            asked += 1;
            questions.set(`ask-${asked}`, ask);
            call?.wake?.();
          },
        },
      );
      call = {
        tool: name,
        caller: context.caller,
        controller,
        questions,
        outcome: outcome.then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        ),
      };
      return serve(call, context);
    },

    async resume(name, context) {
      const state = context.input?.state;
      // Another tool's or another caller's retry is refused, and the call waits on for its own.
      const waited = state === undefined ? undefined : waiting.get(state)?.call;
      const entry = state !== undefined && waited?.tool === name && waited.caller === context.caller ? unpark(state) : undefined;
      if (!entry) return errorResult(UNKNOWN_STATE_MESSAGE);
      const { call } = entry;
      const responses = context.input?.responses ?? {};
      for (const [key, ask] of call.questions) {
        const response = responses[key];
        if (typeof response !== 'object' || response === null || Array.isArray(response)) continue;
        // The client's answer goes to the upstream as it is: the upstream asked, and judges it.
        ask.answer(response as Record<string, unknown>);
        call.questions.delete(key);
      }
      return serve(call, context);
    },

    close() {
      for (const state of [...waiting.keys()]) unpark(state)?.call.controller.abort(new Error('the source was closed'));
    },
  };
}
