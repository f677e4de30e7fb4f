import type Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParamsBase } from '@anthropic-ai/sdk/resources/messages';
import { createCircuitBreakerRegistry, type CircuitBreaker, type CircuitBreakerRegistry } from './circuit-breaker.ts';
import { createMessageAssembler, responseFromMessage, toModelUsage, type MessageAssembler } from './message-assembler.ts';
import { addUsage, ModelError, type ModelClient, type ModelRequest, type ModelResponse, type ModelStreamOptions, type ModelUsage } from './model-client.ts';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, retryAfterMs, sleep, type RetryPolicy } from './retry.ts';

/** Settings of the Anthropic adapter. */
export interface AnthropicModelClientOptions {
  apiKey: string;
  /** Defaults to the SDK's (the public API). */
  baseURL?: string;
  /** Longest silence between stream events (and before the response) before the call is aborted. */
  idleTimeoutMs?: number;
  /** Longest time one `stream()` call may take, retries and backoff included. */
  deadlineMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Shared breakers, so clients using one API key share one circuit. */
  circuitBreakers?: CircuitBreakerRegistry;
  /** Jitter source, for deterministic tests of the backoff. */
  random?: () => number;
}

type AbortCause = 'caller' | 'idle' | 'deadline';

/** The SDK's module: its client, and the errors it throws. */
type Sdk = typeof import('@anthropic-ai/sdk');

/** The outcome of one HTTP attempt. */
type Attempt =
  | { ok: true; response: ModelResponse }
  | { ok: false; error: ModelError; usage: ModelUsage | undefined; outputEmitted: boolean; streamBroke: boolean; retryAfterMs: number | undefined };

/** Failures that say the upstream is unhealthy, and so count towards opening the circuit. */
const UPSTREAM_FAILURES = new Set(['rate_limited', 'overloaded', 'server_error', 'connection', 'timeout']);

/**
 * The Messages API parameters for a request, with `cache_control` on the system prompt and the last tool.
 * An empty system prompt is sent as none: the API refuses an empty text block (and `cache_control` on one);
 * the tools, which come before the system prompt in the cached prefix, keep their own breakpoint.
 */
export function toMessageParams(request: ModelRequest): MessageCreateParamsBase {
  const tools = request.tools.map((tool, i) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.input_schema,
    ...(i === request.tools.length - 1 && { cache_control: { type: 'ephemeral' as const } }),
  }));
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    ...(request.system.trim() !== '' && { system: [{ type: 'text' as const, text: request.system, cache_control: { type: 'ephemeral' as const } }] }),
    messages: request.messages,
    ...(tools.length > 0 && { tools }),
    ...(request.temperature !== undefined && { temperature: request.temperature }),
    ...(request.thinking && { thinking: { type: 'enabled', budget_tokens: request.thinking.budgetTokens } }),
  };
}

function apiErrorKind(status: number | undefined, type: string | null): { kind: ModelError['kind']; retryable: boolean } {
  if (status === 429 || type === 'rate_limit_error') return { kind: 'rate_limited', retryable: true };
  if (status === 529 || type === 'overloaded_error') return { kind: 'overloaded', retryable: true };
  if ((status !== undefined && status >= 500) || type === 'api_error') return { kind: 'server_error', retryable: true };
  if (status === 401 || status === 403 || type === 'authentication_error' || type === 'permission_error') return { kind: 'authentication', retryable: false };
  if (status === 408 || type === 'timeout_error') return { kind: 'timeout', retryable: true };
  if (status === 400 || status === 404 || status === 413 || type === 'invalid_request_error') return { kind: 'invalid_request', retryable: false };
  return { kind: 'api_error', retryable: false };
}

/** Maps whatever an attempt threw to a ModelError. */
function toModelError(sdk: Sdk, error: unknown, cause: AbortCause | undefined, limits: { idleTimeoutMs: number; deadlineMs: number }): ModelError {
  const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } = sdk;
  if (cause === 'caller') return new ModelError('cancelled', 'The model call was cancelled', { cause: error });
  if (cause === 'idle') return new ModelError('timeout', `No event from the model for ${limits.idleTimeoutMs} ms`, { retryable: true, cause: error });
  if (cause === 'deadline') return new ModelError('timeout', `The model call passed its ${limits.deadlineMs} ms deadline`, { cause: error });
  if (error instanceof ModelError) return error;
  if (error instanceof APIUserAbortError) return new ModelError('cancelled', 'The model call was cancelled', { cause: error });
  if (error instanceof APIConnectionTimeoutError) return new ModelError('timeout', 'The Anthropic API did not answer in time', { retryable: true, cause: error });
  if (error instanceof APIConnectionError) return new ModelError('connection', `Could not reach the Anthropic API: ${error.message}`, { retryable: true, cause: error });
  if (error instanceof APIError) {
    const { kind, retryable } = apiErrorKind(error.status, error.type);
    const detail = error.apiMessage ?? error.message;
    const label = error.status === undefined ? (error.type ?? 'error') : `${error.status}${error.type ? ` ${error.type}` : ''}`;
    return new ModelError(kind, `Anthropic API error (${label}): ${detail}`, { retryable, status: error.status, apiErrorType: error.type ?? undefined, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ModelError('connection', `The model stream was interrupted: ${message}`, { retryable: true, cause: error });
}

/** A ModelClient over the Anthropic Messages API, with its own observable retries. */
export function createAnthropicModelClient(options: AnthropicModelClientOptions): ModelClient {
  // The SDK (some 250 modules) is loaded on the first call rather than at start-up, where a gateway without bots would load it for nothing.
  let loading: Promise<{ sdk: Sdk; client: Anthropic }> | undefined;
  const load = () =>
    (loading ??= import('@anthropic-ai/sdk').then((sdk) => ({
      sdk,
      client: new sdk.default({ apiKey: options.apiKey, ...(options.baseURL !== undefined && { baseURL: options.baseURL }), maxRetries: 0 }),
    })));
  const breaker: CircuitBreaker = (options.circuitBreakers ?? createCircuitBreakerRegistry()).forKey(options.apiKey);
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const limits = { idleTimeoutMs: options.idleTimeoutMs ?? 60_000, deadlineMs: options.deadlineMs ?? 600_000 };
  const random = options.random ?? Math.random;

  /** One HTTP request, streamed or not, under the caller's signal, the idle timer and the deadline. */
  async function attempt(request: ModelRequest, call: ModelStreamOptions, streaming: boolean, deadlineAt: number): Promise<Attempt> {
    const { sdk, client } = await load();
    const controller = new AbortController();
    let cause: AbortCause | undefined;
    const abort = (why: AbortCause) => {
      cause ??= why;
      controller.abort();
    };
    const onCallerAbort = () => abort('caller');
    call.signal.addEventListener('abort', onCallerAbort, { once: true });
    if (call.signal.aborted) abort('caller');
    const remaining = Math.max(0, deadlineAt - Date.now());
    const deadlineTimer = setTimeout(() => abort('deadline'), remaining);
    let idleTimer: NodeJS.Timeout | undefined;
    // Only the streamed call has events to wait between; a plain call is bounded by the deadline.
    const touch = () => {
      if (!streaming) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => abort('idle'), limits.idleTimeoutMs);
    };
    let assembler: MessageAssembler | undefined;
    // The usage of a plain call's message, billed also when the message is then refused.
    let billed: ModelUsage | undefined;
    let responded = false;
    // The SDK's own timeout stays beyond ours, so ours is the one that fires.
    const requestOptions = { signal: controller.signal, timeout: remaining + 1_000 };
    try {
      touch();
      const params = toMessageParams(request);
      if (!streaming) {
        const message = await client.messages.create({ ...params, stream: false }, requestOptions);
        if (cause) throw new Error('aborted');
        billed = toModelUsage(message.usage);
        return { ok: true, response: responseFromMessage(message, call.onEvent) };
      }
      assembler = createMessageAssembler(call.onEvent);
      const events = await client.messages.create({ ...params, stream: true }, requestOptions);
      responded = true;
      touch();
      for await (const event of events) {
        touch();
        assembler.apply(event);
      }
      // The SDK ends the iteration quietly when aborted; the cause says why.
      if (cause) throw new Error('aborted');
      return { ok: true, response: assembler.finish() };
    } catch (error) {
      const modelError = toModelError(sdk, error, cause, limits);
      return {
        ok: false,
        error: modelError,
        usage: assembler?.usage() ?? billed,
        outputEmitted: assembler?.outputEmitted() ?? false,
        streamBroke: streaming && responded && (modelError.kind === 'connection' || (modelError.kind === 'timeout' && cause === 'idle')),
        retryAfterMs: error instanceof sdk.APIError && error.status !== undefined ? retryAfterMs(error.headers) : undefined,
      };
    } finally {
      clearTimeout(deadlineTimer);
      clearTimeout(idleTimer);
      call.signal.removeEventListener('abort', onCallerAbort);
    }
  }

  async function stream(request: ModelRequest, call: ModelStreamOptions): Promise<ModelResponse> {
    const deadlineAt = Date.now() + limits.deadlineMs;
    let streaming = true;
    let discarded: ModelUsage | undefined;
    const total = (usage: ModelUsage | undefined) => (discarded && usage ? addUsage(discarded, usage) : (usage ?? discarded));

    for (let tries = 1; ; ) {
      if (call.signal.aborted) throw new ModelError('cancelled', 'The model call was cancelled', { usage: discarded });
      const waitMs = breaker.check();
      if (waitMs !== undefined) {
        throw new ModelError('circuit_open', `The Anthropic API is failing for this API key; calls are paused for another ${Math.ceil(waitMs / 1000)} s`, {
          retryable: true,
          usage: discarded,
        });
      }
      const result = await attempt(request, call, streaming, deadlineAt);
      if (result.ok) {
        breaker.recordSuccess();
        return discarded ? { ...result.response, discardedUsage: discarded } : result.response;
      }
      const { error } = result;
      if (UPSTREAM_FAILURES.has(error.kind)) breaker.recordFailure();
      else if (error.kind !== 'cancelled') breaker.recordSuccess(); // the API answered: it is up

      const usageSoFar = total(result.usage);
      const failed = () => error.withContext(usageSoFar, result.outputEmitted);
      // After output the caller has seen part of an answer: a retry would duplicate it.
      if (result.outputEmitted || !error.retryable) throw failed();
      discarded = usageSoFar;

      if (result.streamBroke && streaming) {
        // The stream itself broke before any output: one plain call, outside the retry budget.
        streaming = false;
        continue;
      }
      if (tries >= policy.maxAttempts) throw failed();
      const delay = result.retryAfterMs ?? backoffDelayMs(policy, tries, random);
      if (Date.now() + delay >= deadlineAt) throw failed();
      try {
        await sleep(delay, call.signal);
      } catch {
        throw new ModelError('cancelled', 'The model call was cancelled', { usage: discarded });
      }
      tries += 1;
    }
  }

  return { stream };
}
