import type { CallToolResult, ClientCapabilities, InputRequiredResult, Tool } from '@modelcontextprotocol/server';

/**
 * The client's answers to an earlier `input_required` result of the same
 * request (protocol revision 2026-07-28, multi-round-trip): passed back
 * verbatim to the source that asked. Both come from the client: untrusted.
 */
export interface InputAnswers {
  /** The client's response to each embedded request, keyed as the source keyed them. */
  responses?: Record<string, unknown> | undefined;
  /** The source's opaque state, echoed by the client. */
  state?: string | undefined;
}

/**
 * What a request that may ask the client for input (`tools/call`,
 * `prompts/get`, `resources/read`) tells a proxy about the calling client.
 */
export interface AskingContext {
  /**
   * What the calling client declared it can do (the 2026-07-28 request
   * envelope); a proxy declares the same upstream, so that the upstream asks
   * only for input this client can give. Unknown for a 2025-era client.
   */
  clientCapabilities?: ClientCapabilities | undefined;
  /** The client's answers when it retries after an `input_required` result. */
  input?: InputAnswers | undefined;
}

/** What a tool call gives back: a result, or (from a 2026-07-28 upstream) a request for the client's input first. */
export type ToolCallOutcome = CallToolResult | InputRequiredResult;

/** What a running tool call may use: the caller's cancellation and a progress channel. */
export interface ToolCallContext extends AskingContext {
  /** Aborted when the MCP client cancels or goes away; pass it on to I/O. */
  signal: AbortSignal;
  /** Sends a progress notification when the caller asked for progress; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** `_meta` of the caller's request, for sources that read protocol extensions (a bot's call chain). */
  meta?: Record<string, unknown> | undefined;
  /**
   * Who calls, as the gateway names them (`api_key:{id}`, `user:{id}`): not a
   * credential. A call held for the client's answers takes them only from the
   * same caller.
   */
  caller?: string | undefined;
}

/**
 * A source of tools: a built-in server or a tenant's upstream. The gateway
 * publishes sources as MCP servers (one per endpoint, or namespaced in the
 * aggregate endpoint); sources never see HTTP or credentials of the caller.
 */
export interface ToolSource<Outcome extends ToolCallOutcome = CallToolResult> {
  listTools(signal: AbortSignal): Promise<Tool[]>;
  /**
   * Runs a tool. Failures the model can act on come back as `isError: true`
   * results; an unknown tool name throws `UnknownToolError`. A proxy of an
   * upstream (`ToolSource<ToolCallOutcome>`) may give back an `input_required` result.
   */
  callTool(name: string, args: Record<string, unknown>, context: ToolCallContext): Promise<Outcome>;
  /**
   * Reaches what the source's tools depend on (a database, an API with the
   * stored credentials) and throws a `ToolError` saying why when it cannot;
   * absent where listing the tools already does (upstreams). May report what
   * the source holds against its limits.
   */
  check?(signal: AbortSignal): Promise<SourceStatus | void>;
  /** Releases connections or processes held by the source. */
  close(): Promise<void>;
  /** True while the source serves something between requests (resource watches): its pool must not close it as idle. */
  inUse?(): boolean;
}

/** What a source's check reports besides working: what it holds against its limits. */
export interface SourceStatus {
  /** A filesystem server's share of the tenant's area under its quota. */
  storage?: { usedBytes: number; limitBytes: number };
}

/** Thrown by `callTool` for a name the source does not have. */
export class UnknownToolError extends Error {
  override readonly name = 'UnknownToolError';
  constructor(readonly tool: string) {
    super(`unknown tool: ${tool}`);
  }
}

/** A failure to report to the model as a tool error result, with a message it can act on. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  /** The service behind the tool could not be reached or did not answer in time (not the tool refusing). */
  readonly unavailable: boolean;

  constructor(message: string, { unavailable = false, ...options }: ErrorOptions & { unavailable?: boolean } = {}) {
    super(message, options);
    this.unavailable = unavailable;
  }
}

export function textResult(text: string, structuredContent?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], ...(structuredContent && { structuredContent }) };
}

export function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

/** Marks results the gateway made because the service behind a tool was unreachable; a symbol, so it never reaches the wire. */
const UNAVAILABLE = Symbol('botgate.unavailable');

/**
 * The error result of a call whose upstream (a remote or stdio server,
 * GitHub, a database) could not be reached or did not answer in time, told
 * apart from the tool refusing (`isUnavailableResult`) in the audit trail and
 * the metrics. The mark is enumerable, so copies of the result keep it.
 */
export function unavailableResult(message: string): CallToolResult {
  return markUnavailable(errorResult(message));
}

/** Marks `result` as `unavailableResult` does, for one rebuilt from JSON (which drops the mark). */
export function markUnavailable<T extends object>(result: T): T {
  return Object.assign(result, { [UNAVAILABLE]: true });
}

export function isUnavailableResult(result: object): boolean {
  return (result as Record<symbol, unknown>)[UNAVAILABLE] === true;
}

/** Marks results answering a name the source does not offer (`unknownToolResult`). */
const UNKNOWN = Symbol('botgate.unknown-tool');

/**
 * The error result of a call naming a tool its source does not offer (one
 * gone since it was listed), answered as the upstream would answer it and
 * told apart (`isUnknownToolResult`) in the audit trail and the metrics.
 */
export function unknownToolResult(message: string): CallToolResult {
  return Object.assign(errorResult(message), { [UNKNOWN]: true });
}

export function isUnknownToolResult(result: object): boolean {
  return (result as Record<symbol, unknown>)[UNKNOWN] === true;
}
