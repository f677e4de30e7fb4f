/**
 * The operator's bound on what one upstream message may hold, so that a
 * tenant's server cannot make the gateway buffer without end (and so starve
 * every other tenant's calls). A JSON body is one message; an event stream
 * may run for ever, but each of its events is one message.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { findCause } from '../shared/errors.ts';

/** The default limit: 16 MiB, room for a result with several large images. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** An upstream message passed the limit; nothing more of it is read. */
export class MessageTooLargeError extends Error {
  override readonly name = 'MessageTooLargeError';
  constructor(readonly limit: number) {
    super(`it sent a message of more than ${limit} bytes, the limit for one message (BOTGATE_UPSTREAM_MESSAGE_LIMIT)`);
  }
}

/** The size limit behind an error, looking through the causes fetch and the MCP client wrap it in. */
export function findMessageTooLarge(error: unknown): MessageTooLargeError | undefined {
  return findCause(error, MessageTooLargeError);
}

/** Told each chunk of a body as it is read; throws `MessageTooLargeError` once the limit is passed. */
export type SizeGuard = (chunk: Uint8Array) => void;

/** Counts a whole body. */
export function bodySizeGuard(limit: number): SizeGuard {
  let total = 0;
  return (chunk) => {
    total += chunk.byteLength;
    if (total > limit) throw new MessageTooLargeError(limit);
  };
}

const LF = 0x0a;
const CR = 0x0d;

/** Counts an event stream event by event: an event ends at an empty line (LF, CR or CRLF line ends). */
export function eventSizeGuard(limit: number): SizeGuard {
  let eventBytes = 0;
  let lineBytes = 0;
  let afterCr = false;
  let endedEvent = false;
  return (chunk) => {
    for (const byte of chunk) {
      if (byte === LF && afterCr) {
        // The LF of a CRLF goes with its CR: to the event that CR ended, if it ended one.
        afterCr = false;
        if (!endedEvent) eventBytes += 1;
        continue;
      }
      eventBytes += 1;
      afterCr = byte === CR;
      endedEvent = false;
      if (byte !== LF && byte !== CR) {
        lineBytes += 1;
        continue;
      }
      if (lineBytes === 0) {
        if (eventBytes > limit) throw new MessageTooLargeError(limit);
        eventBytes = 0;
        endedEvent = true;
      }
      lineBytes = 0;
    }
    if (eventBytes > limit) throw new MessageTooLargeError(limit);
  };
}

/** The guard for a body of this content type. */
function sizeGuardFor(contentType: string | null | undefined, limit: number): SizeGuard {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type === 'text/event-stream' ? eventSizeGuard(limit) : bodySizeGuard(limit);
}

/** Who hears of a response of the current request that passed the limit (see `reportingOverflow`). */
const overflowListeners = new AsyncLocalStorage<(error: MessageTooLargeError) => void>();

/**
 * Runs `send`; a response to a request it makes that passes the limit (read
 * through `limitResponse`) is also told to `onOverflow`. An MCP client drops an
 * event stream that fails without failing the request it answers, which would
 * then wait out its timeout: this lets the request's sender fail it at once.
 */
export function reportingOverflow<T>(onOverflow: (error: MessageTooLargeError) => void, send: () => T): T {
  return overflowListeners.run(onOverflow, send);
}

/** The same response, its body read through the guard for its content type; it errors once the limit is passed. */
export function limitResponse(response: Response, limit: number): Response {
  if (!response.body) return response;
  const guard = sizeGuardFor(response.headers.get('content-type'), limit);
  const onOverflow = overflowListeners.getStore();
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        try {
          guard(chunk);
        } catch (error) {
          if (error instanceof MessageTooLargeError) onOverflow?.(error);
          throw error;
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return withBody(response, body);
}

/** The same response (status, headers, url) with another body. */
export function withBody(response: Response, body: ConstructorParameters<typeof Response>[0]): Response {
  const replaced = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  // Redirect handling reads where the response came from.
  Object.defineProperty(replaced, 'url', { value: response.url });
  return replaced;
}
