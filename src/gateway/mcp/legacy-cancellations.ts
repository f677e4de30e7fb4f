import { createHash } from 'node:crypto';
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
 * Which request of which client: a digest of the credential, the endpoint
 * and the request id. A client numbers its requests per connection, and a
 * connection is one credential on one endpoint.
 */
export function requestKey(credential: string, endpoint: string, id: string | number): string {
  return createHash('sha256').update(`${credential}\n${endpoint}\n${JSON.stringify(id)}`).digest('base64url');
}

/**
 * Cancellation for 2025-era clients. Such a client cancels a request by
 * sending `notifications/cancelled` with the request's id as a request of its
 * own (closing the stream does not cancel). Served statelessly, that
 * notification has no session joining it to the request, which may be in
 * flight on another node: every node is told, and the one serving a request
 * of that key ends its response, which cancels it on the way the 2026-07-28
 * clients' closed streams do (upstream calls, bot runs). A node serving two
 * requests of one key (two clients sharing a credential, at the same id)
 * cancels neither: it cannot tell which one the client meant.
 */
export interface LegacyCancellations {
  /** Keeps `cancel` for the request under `key` until the returned function is called. */
  track(key: string, cancel: () => void): () => void;
  /** Tells every node that the request under `key` was cancelled by its client. */
  cancelled(tenantId: string, key: string): void;
}

function readCancelled(event: ChangeEvent): string | undefined {
  if (event.kind !== 'message' || event.topic !== REQUEST_CANCELLED_TOPIC) return undefined;
  const { key } = event.payload;
  return typeof key === 'string' ? key : undefined;
}

export function createLegacyCancellations(changes: ChangeBus, logger: Logger): LegacyCancellations {
  const inFlight = new Map<string, Set<() => void>>();
  changes.subscribe((event) => {
    const key = readCancelled(event);
    const cancels = key === undefined ? undefined : inFlight.get(key);
    if (!cancels) return;
    if (cancels.size > 1) {
      logger.warn({ requests: cancels.size }, 'a 2025-era cancellation names a request id that several requests of one credential carry here; none is cancelled');
      return;
    }
    for (const cancel of cancels) cancel();
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
      changes.publish(REQUEST_CANCELLED_TOPIC, { tenantId, key });
    },
  };
}
