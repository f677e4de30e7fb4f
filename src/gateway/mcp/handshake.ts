import type { IncomingMessage } from 'node:http';
import { isReadableJsonPost } from './direct-tool-call.ts';

/**
 * Whether a request is a 2025-era JSON POST (it lacks the 2026-07-28
 * `Mcp-Method` header) whose body can be read within the limit: only its body
 * tells an `initialize`, or the request a cancellation names.
 */
export function isLegacyJsonPost(req: IncomingMessage, maxBodyBytes: number): boolean {
  return req.headers['mcp-method'] === undefined && isReadableJsonPost(req, maxBodyBytes);
}

/**
 * Whether a request opens a connection, so that its answer carries the
 * server's instructions: `server/discover` (2026-07-28, named in its
 * `Mcp-Method` header) or `initialize` (2025, named in its body).
 */
export function isHandshake(req: IncomingMessage, body: unknown): boolean {
  const method = req.headers['mcp-method'] ?? (body as { method?: unknown } | undefined)?.method;
  return method === 'server/discover' || method === 'initialize';
}

/**
 * The upstream's instructions for a handshake, or none when it cannot give
 * them: the handshake succeeds either way, and a request that needs the
 * upstream reports its failure. Stops waiting when the client goes away.
 */
export async function handshakeInstructions(
  instructionsOf: (signal: AbortSignal) => Promise<string | undefined>,
  closed: { once(event: 'close', listener: () => void): unknown },
): Promise<string | undefined> {
  const controller = new AbortController();
  closed.once('close', () => controller.abort());
  return instructionsOf(controller.signal).catch(() => undefined);
}
