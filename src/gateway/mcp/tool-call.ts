import {
  CLIENT_CAPABILITIES_META_KEY,
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  type ClientCapabilities,
  type ProgressToken,
} from '@modelcontextprotocol/server';
import { nestedDeeperThan } from '../../shared/json-depth.ts';
import type { Logger } from '../../shared/logger.ts';
import { isUnavailableResult, isUnknownToolResult, UnknownToolError, type AskingContext, type ToolCallOutcome } from '../../servers/index.ts';
import { isDeniedResult } from '../restricted-source.ts';
import type { CatalogEntry, RoutedTool, ToolCatalog } from './tool-catalog.ts';

/** Nesting of arrays and objects a tool's result may have: far more than any real result, far less than overflows a stack. */
export const MAX_RESULT_DEPTH = 512;

/** What the audit trail and the metrics name a call's source by. */
export type CallTarget = Pick<CatalogEntry, 'slug' | 'serverId' | 'kind' | 'audit'>;

/** Where a name the endpoint does not publish points: a source the caller may not see, and that source's own name. */
export interface LocatedTool {
  entry: CallTarget;
  tool: string;
}

/** What the gateway records about each tool call. */
export interface ToolCallRecord {
  /** The source called; for an `unknown_tool` call, the one its name points at (`ToolCallRunner.locate`), if any. */
  entry: CallTarget | undefined;
  /** The source's own name for the tool; the name as the client asked when it points at no source. */
  tool: string;
  args: Record<string, unknown>;
  /** `input_required`: the tool asked the client for input (2026-07-28); the client's retry is a call of its own. */
  /** `upstream_unavailable`: the service behind the tool could not be reached or did not answer in time. */
  /** `denied`: the key may not use the tool; nothing reached it. */
  /**
   * `cancelled`: the client cancelled the call (closed its stream, or sent `notifications/cancelled`) before it
   * ended. A call the gateway itself ends as it shuts down is recorded by what it gave, not as cancelled.
   */
  /**
   * `unknown_tool`: no tool of that name that the key may see, answered as every unknown name is; or one its
   * source no longer offers (gone since it was listed), answered as that source would. Nothing reached a tool.
   */
  outcome: 'ok' | 'tool_error' | 'upstream_unavailable' | 'input_required' | 'denied' | 'unknown_tool' | 'cancelled' | 'failed';
  durationMs: number;
  /** The keys of the input responses a retry carried: which of the tool's questions the client answered. */
  inputResponses?: string[] | undefined;
}

/** What every tool call on an endpoint goes through, however the request reached it. */
export interface ToolCallRunner {
  catalog: ToolCatalog;
  logger: Logger;
  onToolCall: (record: ToolCallRecord) => void;
  /** Who calls (`ToolCallContext.caller`). */
  caller?: string | undefined;
  /**
   * Where a name the endpoint does not publish points, for the record only: the
   * aggregate names the server of its prefix even when the key may not see it.
   */
  locate?: ((name: string) => LocatedTool | undefined) | undefined;
  /** Aborted when the gateway shuts down: a call it then ends was not cancelled by its client. */
  stopping?: AbortSignal | undefined;
}

/** One call of a routed tool, as the client asked for it. */
export interface ToolCallRequest extends AskingContext {
  /** The name the client called, for messages. */
  name: string;
  args: Record<string, unknown>;
  signal: AbortSignal;
  /** `_meta` of the client's request. */
  meta: Record<string, unknown> | undefined;
  /** Sends a progress notification to the client; absent when it asked for none. */
  progress?: (progress: number, total?: number, message?: string) => Promise<void>;
}

/**
 * Runs a routed call and records it. A failing source becomes an error result
 * the model can act on; a tool the source does not have (or withholds) is the
 * JSON-RPC error an unknown name gets.
 */
export async function runToolCall(runner: ToolCallRunner, routed: RoutedTool, request: ToolCallRequest): Promise<ToolCallOutcome> {
  const started = performance.now();
  const responses = request.input?.responses;
  const cancelled = () => request.signal.aborted && runner.stopping?.aborted !== true;
  const record = (outcome: ToolCallRecord['outcome']) =>
    runner.onToolCall({
      entry: routed.entry,
      tool: routed.tool,
      args: request.args,
      outcome,
      durationMs: performance.now() - started,
      inputResponses: responses && Object.keys(responses),
    });
  try {
    const result = await runner.catalog.call(routed, request.args, {
      signal: request.signal,
      meta: request.meta,
      progress: request.progress ?? (async () => {}),
      clientCapabilities: request.clientCapabilities,
      input: request.input,
      caller: runner.caller,
    });
    if (!isInputRequiredResult(result) && nestedDeeperThan(result, MAX_RESULT_DEPTH)) {
      // Passed on, it would overflow the stack of whatever serializes it next: this gateway, or the client.
      record('tool_error');
      return {
        content: [{ type: 'text', text: `The tool ${request.name} returned a result nested more than ${MAX_RESULT_DEPTH} levels deep, which the gateway does not pass on.` }],
        isError: true,
      };
    }
    record(cancelled() ? 'cancelled' : outcomeOf(result));
    return result;
  } catch (error) {
    if (error instanceof UnknownToolError) {
      record('unknown_tool');
      throw unknownTool(request.name);
    }
    // A source that throws on its caller's abort has not failed; the client it answers is gone.
    if (cancelled()) record('cancelled');
    else {
      record('failed');
      runner.logger.error({ err: error, server: routed.entry.slug, tool: routed.tool }, 'tool call failed');
    }
    return { content: [{ type: 'text', text: `The tool ${request.name} failed unexpectedly; try again later.` }], isError: true };
  }
}

/** How a call that returned ended, as the audit trail and the metrics name it. */
function outcomeOf(result: ToolCallOutcome): ToolCallRecord['outcome'] {
  if (isInputRequiredResult(result)) return 'input_required';
  if (isUnavailableResult(result)) return 'upstream_unavailable';
  if (isUnknownToolResult(result)) return 'unknown_tool';
  if (isDeniedResult(result)) return 'denied';
  return result.isError ? 'tool_error' : 'ok';
}

/** The notification that reports a call's progress to the client that gave `progressToken`. */
export function progressNotification(progressToken: ProgressToken, progress: number, total?: number, message?: string) {
  return {
    method: 'notifications/progress' as const,
    params: { progressToken, progress, ...(total !== undefined && { total }), ...(message !== undefined && { message }) },
  };
}

/** The JSON-RPC error for a tool name the endpoint does not offer. */
export function unknownTool(name: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
}

/**
 * Records a call of a name no source of the endpoint publishes, and returns the
 * error to answer it with: the same for a tool the key may not see as for one
 * that does not exist, so the answer tells the client nothing.
 */
export function refuseUnknownTool(runner: ToolCallRunner, name: string, args: Record<string, unknown>, started: number): ProtocolError {
  const located = runner.locate?.(name);
  runner.onToolCall({
    entry: located?.entry,
    tool: located?.tool ?? name,
    args,
    outcome: 'unknown_tool',
    durationMs: performance.now() - started,
  });
  return unknownTool(name);
}

/** The client capabilities a 2026-07-28 request's envelope (its reserved `_meta` keys) declares; undefined when it declares none. */
export function clientCapabilitiesOf(envelope: object | undefined): ClientCapabilities | undefined {
  const declared: unknown = envelope && (envelope as Record<string, unknown>)[CLIENT_CAPABILITIES_META_KEY];
  return declared !== null && typeof declared === 'object' && !Array.isArray(declared) ? declared : undefined;
}

/** What the SDK tells a request handler that `askingOf` reads. */
interface AskedRequest {
  envelope?: object | undefined;
  inputResponses?: Record<string, unknown> | undefined;
  requestState(): unknown;
}

/** What a request served by the SDK tells a source about its client: capabilities, and a retry's answers. */
export function askingOf(request: AskedRequest): AskingContext {
  const state = request.requestState();
  const retrying = request.inputResponses !== undefined || state !== undefined;
  return {
    clientCapabilities: clientCapabilitiesOf(request.envelope),
    ...(retrying && { input: { responses: request.inputResponses, state: typeof state === 'string' ? state : undefined } }),
  };
}
