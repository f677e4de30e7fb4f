import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ChangeBus, ChangeEvent } from '../../shared/change-bus.ts';
import type { Logger } from '../../shared/logger.ts';

/** Carries a 2025-era client's cancellation to every node. */
export const REQUEST_CANCELLED_TOPIC = 'mcp.request.cancelled';

/** The request a 2025-era POST carries, as far as its cancellation needs it. */
export type LegacyMessage = { kind: 'request'; id: string | number } | { kind: 'cancelled'; requestId: string | number } | { kind: 'other' };

const isId = (value: unknown): value is string | number => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));

/** What a 2025-era POST body is: a request with an id, a `notifications/cancelled` naming one, or anything else (batches included). */
export function readLegacyMessage(body: unknown): LegacyMessage {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { kind: 'other' };
  const { id, method, params } = body as { id?: unknown; method?: unknown; params?: unknown };
  if (typeof method !== 'string') return { kind: 'other' };
  if (method === 'notifications/cancelled' && id === undefined) {
    const requestId = (params as { requestId?: unknown } | null | undefined)?.requestId;
    return isId(requestId) ? { kind: 'cancelled', requestId } : { kind: 'other' };
  }
  return isId(id) ? { kind: 'request', id } : { kind: 'other' };
}

/**
 * A name for a 2025-era connection, given as `Mcp-Session-Id` on its
 * `initialize` answer: its client sends it back on every request, which tells
 * apart clients sharing a credential. Nothing is kept under it; any replica
 * serves a request that carries it, as every request is served statelessly.
 */
export function newLegacySessionId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Which request of which client: a digest of the credential, the endpoint,
 * the connection's session id (none from a client that was given none) and
 * the request id. A client numbers its requests per connection.
 */
export function requestKey(credential: string, endpoint: string, session: string, id: string | number): string {
  return createHash('sha256').update(`${credential}\n${endpoint}\n${session}\n${JSON.stringify(id)}`).digest('base64url');
}

/**
 * Cancellation for 2025-era clients. Such a client cancels a request by
 * sending `notifications/cancelled` with the request's id as a request of its
 * own (closing the stream does not cancel). Served statelessly, that
 * notification has no session state joining it to the request, which may be
 * in flight on another node: the node it reaches cancels the request it
 * serves under that key, or, serving none, tells every node. The request's
 * response is ended, which cancels it as a 2026-07-28 client's closed stream
 * does (upstream calls, bot runs). A node serving two requests under one key
 * (two clients sharing a credential that were given no session id, at the
 * same id) cancels neither: it cannot tell which one the client meant.
 */
export interface LegacyCancellations {
  /** Keeps `cancel` for the request under `key` until the returned function is called. */
  track(key: string, cancel: () => void): () => void;
  /** Cancels the request under `key`, here or on whichever node serves it. */
  cancelled(tenantId: string, key: string): void;
}

function readCancelled(event: ChangeEvent): string | undefined {
  if (event.kind !== 'message' || event.topic !== REQUEST_CANCELLED_TOPIC) return undefined;
  const { key } = event.payload;
  return typeof key === 'string' ? key : undefined;
}

export function createLegacyCancellations(changes: ChangeBus, logger: Logger): LegacyCancellations {
  const inFlight = new Map<string, Set<() => void>>();
  /** Cancels the one request under `key` served here; true when this node serves any under it. */
  const cancelHere = (key: string): boolean => {
    const cancels = inFlight.get(key);
    if (!cancels) return false;
    if (cancels.size > 1) {
      logger.warn({ requests: cancels.size }, 'a 2025-era cancellation names a request id that several requests of one credential carry here; none is cancelled');
    } else {
      for (const cancel of cancels) cancel();
    }
    return true;
  };
  changes.subscribe((event) => {
    const key = readCancelled(event);
    if (key !== undefined) cancelHere(key);
  });
  return {
    track(key, cancel) {
      const cancels = inFlight.get(key) ?? new Set();
      // Wrapped: the same function tracked twice is two requests.
      const entry = () => cancel();
      cancels.add(entry);
      inFlight.set(key, cancels);
      return () => {
        cancels.delete(entry);
        if (cancels.size === 0 && inFlight.get(key) === cancels) inFlight.delete(key);
      };
    },
    cancelled(tenantId, key) {
      if (!cancelHere(key)) changes.publish(REQUEST_CANCELLED_TOPIC, { tenantId, key });
    },
  };
}

/** A 2025-era POST as cancellation needs it: whose, to which endpoint, on which connection, and its parsed body. */
export interface LegacyPost {
  tenantId: string;
  /** The bearer credential it carried. */
  credential: string;
  /** The endpoint's path, `/t/{tenant}/mcp` or `/t/{tenant}/mcp/servers/{server}`. */
  endpoint: string;
  /** Its `Mcp-Session-Id`, when its client was given one. */
  session: string | undefined;
  body: unknown;
}

/**
 * Lets a 2025-era client cancel the request `post` carries later, or cancels
 * the request its `notifications/cancelled` names: that request's response is
 * ended, which cancels it as a 2026-07-28 client's closed stream does. An
 * `initialize` answer names the connection (`newLegacySessionId`), so that
 * cancellations are matched within it.
 */
export function followLegacyCancellation(cancellations: LegacyCancellations, post: LegacyPost, res: ServerResponse): void {
  const message = readLegacyMessage(post.body);
  if (message.kind === 'other') return;
  if (post.session === undefined && (post.body as { method?: unknown }).method === 'initialize') res.setHeader('mcp-session-id', newLegacySessionId());
  const keyOf = (id: string | number) => requestKey(post.credential, post.endpoint, post.session ?? '', id);
  if (message.kind === 'cancelled') {
    cancellations.cancelled(post.tenantId, keyOf(message.requestId));
    return;
  }
  // A client gone while its request waited (a read-only token's call is checked first) leaves nothing to cancel.
  if (res.closed || res.destroyed) return;
  res.once('close', cancellations.track(keyOf(message.id), () => res.destroy()));
}
