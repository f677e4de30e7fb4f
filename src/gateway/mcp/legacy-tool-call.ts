import type { IncomingMessage } from 'node:http';
import { classifyInboundRequest, isJSONRPCRequest, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import type { DirectToolCall } from './direct-tool-call.ts';

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
 * params are only a tool name, its arguments and `_meta`. Anything else,
 * including every malformed request and one naming no revision, is left to
 * the SDK, which answers it as the protocol requires. The body is the one
 * `isLegacyJsonPost` let the caller read: a JSON POST of stated length.
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
  if (meta !== undefined && !isPlainObject(meta)) return undefined;
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
