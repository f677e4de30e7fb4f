import type { MessageParam, StopReason } from '@anthropic-ai/sdk/resources/messages';

/**
 * The narrow model interface the tool loop depends on. The Anthropic adapter
 * implements it; tests of the loop can implement it in a few lines.
 */

/** A tool offered to the model; the adapter puts `cache_control` on the last one. */
export interface ModelTool {
  name: string;
  description: string;
  input_schema: { type: 'object'; [key: string]: unknown };
}

/** One model call. The adapter applies `cache_control` to `system` (left out when blank) and the tools. */
export interface ModelRequest {
  model: string;
  system: string;
  messages: MessageParam[];
  tools: ModelTool[];
  maxTokens: number;
  temperature?: number;
  /** Extended thinking; `budgetTokens` must be below `maxTokens`. */
  thinking?: { budgetTokens: number };
}

/** Token counts of one model call; cache writes and reads are counted apart. */
export interface ModelUsage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}

/** What the caller sees while a response streams, in wire order. */
export type ModelEvent =
  | { type: 'text_delta'; index: number; text: string }
  | { type: 'tool_use_start'; index: number; id: string; name: string }
  | { type: 'tool_use_input_delta'; index: number; partialJson: string }
  | { type: 'thinking_delta'; index: number; thinking: string }
  | { type: 'content_block_stop'; index: number };

/** An assembled content block of the model's answer. */
export type ModelContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string };

/** The model's complete answer to one call. */
export interface ModelResponse {
  id: string;
  model: string;
  content: ModelContentBlock[];
  stopReason: StopReason;
  usage: ModelUsage;
  /**
   * Usage billed by earlier attempts of this call that failed after
   * `message_start` and were retried; metering records it too.
   */
  discardedUsage?: ModelUsage;
}

/** Options of one call: cancellation and the stream of events. */
export interface ModelStreamOptions {
  signal: AbortSignal;
  onEvent: (event: ModelEvent) => void;
}

/** The interface the tool loop calls. */
export interface ModelClient {
  stream(request: ModelRequest, options: ModelStreamOptions): Promise<ModelResponse>;
}

/** Why a model call failed. */
export type ModelErrorKind =
  | 'timeout'
  | 'cancelled'
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'connection'
  | 'circuit_open'
  | 'authentication'
  | 'invalid_request'
  | 'invalid_response'
  | 'api_error';

/** A failed model call, with the usage billed so far so metering loses nothing. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly kind: ModelErrorKind;
  /** Whether a new call may succeed (the adapter already retried when it safely could). */
  readonly retryable: boolean;
  /** HTTP status, when the API answered with one. */
  readonly status: number | undefined;
  /** The API's `error.type`, e.g. `overloaded_error`. */
  readonly apiErrorType: string | undefined;
  /** Tokens billed by the attempts that reached `message_start`, if any. */
  readonly usage: ModelUsage | undefined;
  /** Whether events had already reached the caller when the call failed. */
  readonly outputEmitted: boolean;

  constructor(
    kind: ModelErrorKind,
    message: string,
    options: {
      retryable?: boolean;
      status?: number | undefined;
      apiErrorType?: string | undefined;
      usage?: ModelUsage | undefined;
      outputEmitted?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.retryable = options.retryable ?? false;
    this.status = options.status;
    this.apiErrorType = options.apiErrorType;
    this.usage = options.usage;
    this.outputEmitted = options.outputEmitted ?? false;
  }

  /** A copy carrying the usage and output state known to the caller. */
  withContext(usage: ModelUsage | undefined, outputEmitted: boolean): ModelError {
    return new ModelError(this.kind, this.message, {
      retryable: this.retryable,
      status: this.status,
      apiErrorType: this.apiErrorType,
      usage,
      outputEmitted,
      cause: this.cause,
    });
  }
}

/** Zero usage, the starting point of sums. */
export const ZERO_USAGE: Readonly<ModelUsage> = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheCreationInputTokens: 0,
  cacheReadInputTokens: 0,
});

/** The sum of two usages. */
export function addUsage(a: ModelUsage, b: ModelUsage): ModelUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheCreationInputTokens: a.cacheCreationInputTokens + b.cacheCreationInputTokens,
    cacheReadInputTokens: a.cacheReadInputTokens + b.cacheReadInputTokens,
  };
}
