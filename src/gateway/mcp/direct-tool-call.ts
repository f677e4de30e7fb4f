import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  classifyInboundRequest,
  isJsonContentType,
  ProtocolError,
  SERVER_INFO_META_KEY,
  type CallToolResult,
  type Implementation,
  type RequestId,
} from '@modelcontextprotocol/server';
import type { RoutedTool } from './tool-catalog.ts';
import { runToolCall, type ToolCallRunner } from './tool-call.ts';

/** A 2026-07-28 `tools/call` the gateway answers itself; see `readDirectToolCall`. */
export interface DirectToolCall {
  id: RequestId;
  name: string;
  args: Record<string, unknown>;
  /** `_meta` of the request without the protocol envelope, as the SDK gives it to handlers. */
  meta: Record<string, unknown>;
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
export function isBoundedJsonPost(req: IncomingMessage, maxBodyBytes: number): boolean {
  const length = Number(req.headers['content-length']);
  return req.method === 'POST' && Number.isInteger(length) && length <= maxBodyBytes && isJsonContentType(req.headers['content-type'] ?? null);
}

/** Whether a request may be a 2026-07-28 `tools/call` worth reading for the direct path: it says so in its `Mcp-Method` header. */
export function mayBeDirectToolCall(req: IncomingMessage, maxBodyBytes: number): boolean {
  return header(req, 'mcp-method') === 'tools/call' && isBoundedJsonPost(req, maxBodyBytes);
}

/**
 * The `tools/call` a request carries when the gateway can answer it without
 * building the SDK's per-request server: a single 2026-07-28 request that the
 * SDK's own classifier (`classifyInboundRequest`) routes to the modern era,
 * whose protocol headers are all present and name exactly what the body does,
 * and which asks for no progress (progress needs an SSE answer). Anything
 * else, including every malformed request, is left to the SDK handler, which
 * answers it as the protocol requires.
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
  const { name, arguments: args, _meta: meta } = params;
  // A name sent encoded in its header (non-ASCII) is checked by the SDK's path.
  if (typeof name !== 'string' || name !== nameHeader || !isPlainObject(meta) || meta['progressToken'] !== undefined) return undefined;
  if (args !== undefined && !isPlainObject(args)) return undefined;
  const extensions = Object.fromEntries(Object.entries(meta).filter(([key]) => !key.startsWith(ENVELOPE_PREFIX)));
  return { id, name, args: args ?? {}, meta: extensions };
}

/** The body of a request `isBoundedJsonPost` accepted, as text. */
export function readBodyText(req: IncomingMessage): Promise<string> {
  // Plain events: an async iterator over the stream costs more than the rest of reading.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** Writes a JSON-RPC answer as the SDK's modern path does for a request answered without notifications. */
function sendJson(res: ServerResponse, message: Record<string, unknown>): void {
  const body = JSON.stringify(message);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

/**
 * Runs and answers a call `readDirectToolCall` read, without the SDK's
 * per-request server: the same `runToolCall` as the SDK path's handler
 * (restrictions, pinning, audit), answered in the same JSON.
 */
export async function answerToolCall(
  res: ServerResponse,
  runner: ToolCallRunner,
  call: DirectToolCall,
  routed: RoutedTool,
  serverInfo: Implementation,
): Promise<void> {
  // The client closing its request cancels the call, as on the SDK path.
  const controller = new AbortController();
  const cancel = () => controller.abort();
  res.once('close', cancel);
  try {
    const result = await runToolCall(runner, routed, { name: call.name, args: call.args, signal: controller.signal, meta: call.meta });
    sendToolResult(res, call.id, result, serverInfo);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    sendToolError(res, call.id, error);
  } finally {
    res.off('close', cancel);
  }
}

/** Answers with the call's result, stamped as the SDK stamps 2026-07-28 results: `resultType` and the server's identity. */
function sendToolResult(res: ServerResponse, id: RequestId, result: CallToolResult, serverInfo: Implementation): void {
  // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
  const meta = { ...result._meta, [SERVER_INFO_META_KEY]: serverInfo };
  sendJson(res, { jsonrpc: '2.0', id, result: { ...result, _meta: meta, resultType: 'complete' } });
}

/** Answers with a JSON-RPC error. */
function sendToolError(res: ServerResponse, id: RequestId, error: ProtocolError): void {
  sendJson(res, { jsonrpc: '2.0', id, error: { code: error.code, message: error.message, ...(error.data !== undefined && { data: error.data }) } });
}
