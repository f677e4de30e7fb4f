import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  classifyInboundRequest,
  isInputRequiredResult,
  isJSONRPCRequest,
  ProtocolError,
  ProtocolErrorCode,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
import type { InputAnswers, ToolCallOutcome } from '../../servers/index.ts';
import { createAnswer, sendToolError, type DirectToolCall } from './direct-tool-call.ts';
import { progressNotification, runToolCall, type ToolCallRunner } from './tool-call.ts';
import type { RoutedTool } from './tool-catalog.ts';

// The reserved `_meta` keys of the 2026-07-28 envelope: the SDK takes a 2025-era request's out of `_meta`.
const ENVELOPE_PREFIX = 'io.modelcontextprotocol/';

// The params a 2025-era `tools/call` may carry and still be answered directly; any other (a task, say) is the SDK's.
const CALL_PARAMS = new Set(['name', 'arguments', '_meta']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether the client takes both kinds of answer, as the SDK's 2025-era path requires (406 otherwise). */
function acceptsBoth(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && accept.includes('text/event-stream');
}

/**
 * The `tools/call` a 2025-era request carries when the gateway can answer it
 * without building the SDK's per-request server and transport: a single
 * request that names a 2025 revision the SDK serves in its
 * `MCP-Protocol-Version` header, that the SDK's own classifier routes to
 * the 2025 era, whose client takes both JSON and an event stream, and whose
 * params are only a tool name, its arguments and `_meta` (without the
 * 2026-07-28 envelope's keys). Anything else, including every malformed
 * request and one naming no revision, is left to the SDK, which answers it
 * as the protocol requires. The body is the one `isLegacyJsonPost` let the
 * caller read: a JSON POST of stated length.
 */
export function readLegacyToolCall(req: IncomingMessage, body: unknown): DirectToolCall | undefined {
  const version = req.headers['mcp-protocol-version'];
  if (typeof version !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(version) || !acceptsBoth(req)) return undefined;
  if (!isPlainObject(body) || !isJSONRPCRequest(body) || body.method !== 'tools/call') return undefined;
  const route = classifyInboundRequest({ httpMethod: 'POST', protocolVersionHeader: version, body });
  if (route.kind !== 'legacy') return undefined;
  const { params } = body;
  if (!isPlainObject(params) || Object.keys(params).some((key) => !CALL_PARAMS.has(key))) return undefined;
  // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
  const { name, arguments: args, _meta: meta } = params;
  if (typeof name !== 'string') return undefined;
  if (args !== undefined && !isPlainObject(args)) return undefined;
  if (meta !== undefined && (!isPlainObject(meta) || Object.keys(meta).some((key) => key.startsWith(ENVELOPE_PREFIX)))) return undefined;
  const progressToken = meta?.['progressToken'];
  if (progressToken !== undefined && typeof progressToken !== 'string' && typeof progressToken !== 'number') return undefined;
  return {
    id: body.id,
    name,
    args: args ?? {},
    // As the SDK gives a 2025-era request's `_meta` to handlers: whole, none when it sent none.
    meta,
    ...(progressToken !== undefined && { progressToken }),
  };
}

// As the SDK's 2025-era path paces and bounds a call that only asks to be called again (its legacy input-required
// shim): a call after each pause, `MAX_ROUNDS` at the most.
const ROUND_PACING_MS = 250;
const MAX_ROUNDS = 8;

const refusal = (text: string): ToolCallOutcome => ({ content: [{ type: 'text', text }], isError: true });

/**
 * The rounds of a call whose tool asks for input, for a 2025-era client, which
 * cannot be asked (served statelessly, it declares no capabilities): a tool
 * that asks it something gets a tool error that says why; one that only asks
 * to be called again with its state is, after a pause, as the SDK's 2025-era
 * path does (`run` records each round in the audit trail).
 */
async function runRounds(name: string, run: (input?: InputAnswers) => Promise<ToolCallOutcome>, signal: AbortSignal): Promise<ToolCallOutcome> {
  let result = await run();
  for (let round = 1; isInputRequiredResult(result); round += 1) {
    const asked: Record<string, unknown> = result.inputRequests ?? {};
    if (Object.keys(asked).length > 0) {
      const methods = Object.values(asked).map((request) => (request as { method?: unknown } | null)?.method);
      const named = [...new Set(methods.filter((method) => typeof method === 'string'))];
      return refusal(
        `The tool ${name} asked the client for input${named.length > 0 ? ` (${named.join(', ')})` : ''}, which a 2025-era client cannot be asked ` +
          'through the gateway: it declares no capabilities on its connection. A client of the 2026-07-28 revision can answer.',
      );
    }
    if (typeof result.requestState !== 'string') return refusal(`The tool ${name} asked for input without saying what; it cannot go on.`);
    if (round > MAX_ROUNDS) return refusal(`The tool ${name} still asked to be called again after ${MAX_ROUNDS} rounds.`);
    await sleep(ROUND_PACING_MS, undefined, { signal });
    result = await run({ state: result.requestState });
  }
  return result;
}

// A result with any of these is of another kind than a tool's, and is not given `content`.
const OTHER_RESULT_KEYS = ['task', 'inputRequests', 'requestState'];

/** A result without `content` given an empty one, as the SDK gives it on the 2025 era, whose results must have it. */
function withContent(result: ToolCallOutcome): ToolCallOutcome {
  const other = OTHER_RESULT_KEYS.some((key) => key in result);
  return 'content' in result || other ? result : { ...(result as object), content: [] };
}

/**
 * Runs and answers a call `readLegacyToolCall` read, without the SDK's
 * per-request server and transport: the same `runToolCall` as the SDK path's
 * handler (restrictions, pinning, audit). Its result goes as it came, in one
 * JSON body rather than the one-event stream the SDK's 2025-era path opens
 * (the revision lets a server answer either way; its clients take both), or
 * in an event stream once progress was sent or the call has run for
 * `KEEP_ALIVE_MS`, kept alive as the SDK keeps it. A result the 2025 revision
 * cannot carry (no `content`, as a task's; `structuredContent` that is not an
 * object, which 2026-07-28 allows) is refused as the SDK's path refuses it.
 * Content blocks are not checked again: an upstream's were when it answered.
 */
export async function answerLegacyToolCall(res: ServerResponse, runner: ToolCallRunner, call: DirectToolCall, routed: RoutedTool): Promise<void> {
  // The client closing its request, or its notifications/cancelled (legacy-cancellations.ts), cancels the call.
  const controller = new AbortController();
  const cancel = () => controller.abort();
  res.once('close', cancel);
  if (res.destroyed) cancel();
  const answer = createAnswer(res, { openWhenIdle: true });
  const { progressToken } = call;
  const run = (input?: InputAnswers) =>
    runToolCall(runner, routed, {
      name: call.name,
      args: call.args,
      signal: controller.signal,
      meta: call.meta,
      ...(input && { input }),
      ...(progressToken !== undefined && {
        progress: (progress, total, message) => answer.notify({ jsonrpc: '2.0', ...progressNotification(progressToken, progress, total, message) }),
      }),
    });
  try {
    const result = withContent(await runRounds(call.name, run, controller.signal));
    const { content, structuredContent } = result as { content?: unknown; structuredContent?: unknown };
    if (!Array.isArray(content)) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid tools/call result: content is required on this protocol revision');
    if (structuredContent !== undefined && !isPlainObject(structuredContent)) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid tools/call result: structuredContent must be an object on this protocol revision');
    }
    answer.respond({ jsonrpc: '2.0', id: call.id, result });
  } catch (error) {
    // Cancelled between rounds: the client is gone.
    if (controller.signal.aborted && !(error instanceof ProtocolError)) return;
    if (!(error instanceof ProtocolError)) throw error;
    sendToolError(answer, call.id, error);
  } finally {
    res.off('close', cancel);
  }
}
