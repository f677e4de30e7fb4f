import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  classifyInboundRequest,
  isInputRequiredResult,
  isJsonContentType,
  ProtocolError,
  SERVER_INFO_META_KEY,
  type ClientCapabilities,
  type Implementation,
  type InputRequiredResult,
  type ProgressToken,
  type RequestId,
} from '@modelcontextprotocol/server';
import type { InputAnswers, ToolCallOutcome } from '../../servers/index.ts';
import { AppError } from '../../shared/errors.ts';
import type { RoutedTool } from './tool-catalog.ts';
import { clientCapabilitiesOf, progressNotification, runToolCall, type ToolCallRunner } from './tool-call.ts';

/** A `tools/call` the gateway answers itself; see `readDirectToolCall` (2026-07-28) and `readLegacyToolCall` (2025). */
export interface DirectToolCall {
  id: RequestId;
  name: string;
  args: Record<string, unknown>;
  /** `_meta` of the request without the protocol envelope, as the SDK gives it to handlers. */
  meta: Record<string, unknown> | undefined;
  /** The client's progress token: it asked for progress notifications. */
  progressToken?: ProgressToken;
  /** What the client declared it can do, from the request's envelope. */
  clientCapabilities?: ClientCapabilities;
  /** The client's answers, on a retry after an `input_required` result. */
  input?: InputAnswers;
}

/** The stateless revision the SDK serves (its `MODERN_REVISION` names the latest 2025-era one). */
const MODERN_REVISION = '2026-07-28';

// The per-request envelope's keys (protocol version, client info and capabilities).
const ENVELOPE_PREFIX = 'io.modelcontextprotocol/';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

/**
 * Whether a request is a JSON POST that states its length within the limit,
 * so that reading it cannot exceed the limit the SDK would apply.
 */
function isBoundedJsonPost(req: IncomingMessage, maxBodyBytes: number): boolean {
  const length = Number(req.headers['content-length']);
  return req.method === 'POST' && Number.isInteger(length) && length <= maxBodyBytes && isJsonContentType(req.headers['content-type'] ?? null);
}

/**
 * Whether a request is a JSON POST that can be read within the limit: its
 * stated length is within it, or it states none (chunked), in which case
 * `readBodyText` stops at the limit.
 */
export function isReadableJsonPost(req: IncomingMessage, maxBodyBytes: number): boolean {
  const stated = req.headers['content-length'];
  const length = Number(stated);
  const within = stated === undefined || (Number.isInteger(length) && length <= maxBodyBytes);
  return req.method === 'POST' && within && isJsonContentType(req.headers['content-type'] ?? null);
}

/** Whether a request may be a 2026-07-28 `tools/call` worth reading for the direct path: it says so in its `Mcp-Method` header. */
export function mayBeDirectToolCall(req: IncomingMessage, maxBodyBytes: number): boolean {
  return header(req, 'mcp-method') === 'tools/call' && isBoundedJsonPost(req, maxBodyBytes);
}

/**
 * The `tools/call` a request carries when the gateway can answer it without
 * building the SDK's per-request server: a single 2026-07-28 request that the
 * SDK's own classifier (`classifyInboundRequest`) routes to the modern era,
 * and whose protocol headers are all present and name exactly what the body
 * does. Anything else, including every malformed request, is left to the SDK
 * handler, which answers it as the protocol requires.
 */
export function readDirectToolCall(req: IncomingMessage, body: unknown): DirectToolCall | undefined {
  const versionHeader = header(req, 'mcp-protocol-version');
  const methodHeader = header(req, 'mcp-method');
  const nameHeader = header(req, 'mcp-name');
  if (versionHeader !== MODERN_REVISION || methodHeader !== 'tools/call' || nameHeader === undefined) return undefined;
  const route = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: versionHeader,
    mcpMethodHeader: methodHeader,
    mcpNameHeader: nameHeader,
    body,
  });
  if (route.kind !== 'modern' || route.messageKind !== 'request' || route.classification.revision !== MODERN_REVISION) return undefined;
  const { id, method, params } = route.message;
  if (method !== 'tools/call' || !isPlainObject(params)) return undefined;
  // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
  const { name, arguments: args, _meta: meta, inputResponses, requestState } = params;
  // A name sent encoded in its header (non-ASCII) is checked by the SDK's path.
  if (typeof name !== 'string' || name !== nameHeader || !isPlainObject(meta)) return undefined;
  if (args !== undefined && !isPlainObject(args)) return undefined;
  // Malformed retry fields are refused by the SDK's path.
  if (inputResponses !== undefined && !isPlainObject(inputResponses)) return undefined;
  if (requestState !== undefined && typeof requestState !== 'string') return undefined;
  const { progressToken } = meta;
  if (progressToken !== undefined && typeof progressToken !== 'string' && typeof progressToken !== 'number') return undefined;
  const extensions = Object.fromEntries(Object.entries(meta).filter(([key]) => !key.startsWith(ENVELOPE_PREFIX)));
  const clientCapabilities = clientCapabilitiesOf(meta);
  const retrying = inputResponses !== undefined || requestState !== undefined;
  return {
    id,
    name,
    args: args ?? {},
    meta: extensions,
    ...(progressToken !== undefined && { progressToken }),
    ...(clientCapabilities && { clientCapabilities }),
    ...(retrying && { input: { responses: inputResponses, state: requestState } }),
  };
}

/** The most of a refused body `discardRest` reads off before it closes the connection instead. */
const MAX_DISCARDED_BYTES = 16 * 1024 * 1024;

/**
 * Reads and drops the rest of a body that is being refused, so that a client
 * still sending it reads the refusal: the refusal closes the connection, and
 * closing it on unread data resets it, answer and all. A body longer than
 * `MAX_DISCARDED_BYTES` is cut off by closing the connection at once.
 */
export function discardRest(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = () => {
      req.off('data', onData).off('end', finish).off('close', finish).off('error', finish);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded <= MAX_DISCARDED_BYTES) return;
      req.socket.destroy();
      finish();
    };
    req.on('data', onData).once('end', finish).once('close', finish).once('error', finish);
    req.resume();
  });
}

/** The body of a request `isReadableJsonPost` accepted, as text; past `maxBodyBytes` it is refused (413) once the rest is discarded. */
export function readBodyText(req: IncomingMessage, maxBodyBytes: number): Promise<string> {
  // Plain events: an async iterator over the stream costs more than the rest of reading.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd);
      const refused = new AppError('payload_too_large', `the request body is over ${maxBodyBytes} bytes`);
      void discardRest(req).then(() => reject(refused));
    };
    const onEnd = () => resolve(Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

type Message = Record<string, unknown>;

/** Comment frames on an open answer stream, as the SDK's modern path sends them, so idle proxies keep it. */
export const KEEP_ALIVE_MS = 15_000;

/** The headers the SDK's modern path answers an event stream with. */
export const EVENT_STREAM_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

const eventOf = (message: Message) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;

/** Resolves once what was written has left the buffer (`drain`), or the response closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * The answer to one request, written as the SDK's modern path writes it: one
 * JSON body when nothing precedes the response, else an event stream opened
 * by the first notification, which the response ends.
 */
export interface Answer {
  /** Resolves when the client's connection can take more (backpressure). */
  notify(message: Message): Promise<void>;
  respond(message: Message): void;
}

/**
 * The `Answer` to the request `res` answers. `openWhenIdle`: when nothing was
 * written within `KEEP_ALIVE_MS`, the event stream is opened with a comment
 * frame and kept alive, as the SDK's 2025-era path keeps every answer, so
 * that a long call is not cut by an idle proxy or a client's header timeout.
 */
export function createAnswer(res: ServerResponse, { openWhenIdle = false }: { openWhenIdle?: boolean } = {}): Answer {
  let keepAlive: NodeJS.Timeout | undefined;
  let idle: NodeJS.Timeout | undefined;
  // One wait for the client to take more, however many notifications are sent meanwhile (sources do not await them).
  let draining: Promise<void> | undefined;
  const stopKeepAlive = () => {
    clearTimeout(idle);
    clearInterval(keepAlive);
  };
  const open = () => {
    clearTimeout(idle);
    if (keepAlive) return;
    res.writeHead(200, EVENT_STREAM_HEADERS);
    keepAlive = setInterval(() => res.write(': keepalive\n\n'), KEEP_ALIVE_MS).unref();
    if (!openWhenIdle) res.once('close', stopKeepAlive);
  };
  if (openWhenIdle) {
    idle = setTimeout(() => {
      if (res.writableEnded || res.destroyed) return;
      open();
      res.write(': keepalive\n\n');
    }, KEEP_ALIVE_MS).unref();
    res.once('close', stopKeepAlive);
  }
  return {
    notify(message) {
      if (res.writableEnded || res.destroyed) return Promise.resolve();
      open();
      if (res.write(eventOf(message))) return Promise.resolve();
      draining ??= drained(res).finally(() => (draining = undefined));
      return draining;
    },
    respond(message) {
      if (keepAlive) {
        stopKeepAlive();
        res.end(eventOf(message));
        return;
      }
      stopKeepAlive();
      const body = JSON.stringify(message);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    },
  };
}

/**
 * Runs and answers a call `readDirectToolCall` read, without the SDK's
 * per-request server: the same `runToolCall` as the SDK path's handler
 * (restrictions, pinning, audit), answered in the same JSON.
 *
 * A result asking for the client's input (`input_required`) is returned
 * unanswered while nothing was written yet: the caller has the SDK answer it,
 * which checks that the client declared what the embedded requests need.
 * Once progress has opened the answer stream it is answered here; the client's
 * capabilities went upstream with the call, so the upstream asked within them.
 */
export async function answerToolCall(
  res: ServerResponse,
  runner: ToolCallRunner,
  call: DirectToolCall,
  routed: RoutedTool,
  serverInfo: Implementation,
): Promise<InputRequiredResult | undefined> {
  // The client closing its request cancels the call, as on the SDK path.
  const controller = new AbortController();
  const cancel = () => controller.abort();
  res.once('close', cancel);
  if (res.destroyed) cancel();
  const answer = createAnswer(res);
  const { progressToken } = call;
  try {
    const result = await runToolCall(runner, routed, {
      name: call.name,
      args: call.args,
      signal: controller.signal,
      meta: call.meta,
      clientCapabilities: call.clientCapabilities,
      input: call.input,
      ...(progressToken !== undefined && {
        progress: (progress, total, message) => answer.notify({ jsonrpc: '2.0', ...progressNotification(progressToken, progress, total, message) }),
      }),
    });
    if (isInputRequiredResult(result) && !res.headersSent) return result;
    sendToolResult(answer, call.id, result, serverInfo);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    sendToolError(answer, call.id, error);
  } finally {
    res.off('close', cancel);
  }
  return undefined;
}

/** Answers with the call's result, stamped as the SDK stamps 2026-07-28 results: `resultType` and the server's identity. */
function sendToolResult(answer: Answer, id: RequestId, result: ToolCallOutcome, serverInfo: Implementation): void {
  // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
  const meta = { ...result._meta, [SERVER_INFO_META_KEY]: serverInfo };
  const resultType = isInputRequiredResult(result) ? 'input_required' : 'complete';
  answer.respond({ jsonrpc: '2.0', id, result: { ...result, _meta: meta, resultType } });
}

/** Answers with a JSON-RPC error. */
export function sendToolError(answer: Answer, id: RequestId, error: ProtocolError): void {
  answer.respond({ jsonrpc: '2.0', id, error: { code: error.code, message: error.message, ...(error.data !== undefined && { data: error.data }) } });
}
