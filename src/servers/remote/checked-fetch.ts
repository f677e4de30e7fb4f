import { withBody } from '../message-limit.ts';
import type { OutboundFetch } from '../outbound.ts';
import { AnswerError, RedirectedError } from './upstream-error.ts';

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `to` is within `from`'s origin as the SDK client sees it: the same origin, or its https form on default ports. */
export function isWithinOrigin(from: URL, to: URL): boolean {
  return (
    (from.protocol === to.protocol && from.host === to.host) ||
    (from.protocol === 'http:' && to.protocol === 'https:' && from.hostname === to.hostname && !from.port && !to.port)
  );
}

/** The messages of a JSON body (one, or a batch's); a body that is not JSON fails as unusable. */
export function jsonMessages(text: string): unknown[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AnswerError('its response is not valid JSON', 'error');
  }
  return Array.isArray(body) ? body : [body];
}

/** The failure of a JSON body that holds no answer to the request it came for: an answer to another one, or none. */
export function foreignAnswer(messages: readonly unknown[]): AnswerError {
  const answer = messages.find((message) => isObject(message) && 'id' in message && ('result' in message || 'error' in message));
  if (!isObject(answer)) return new AnswerError('its response holds no answer to the request', 'error');
  const id = JSON.stringify(answer['id']) ?? String(answer['id']);
  return new AnswerError(`its response answers another request (id ${id.length > 60 ? `${id.slice(0, 60)}…` : id}), not this one`, 'error');
}

/** The id of the JSON-RPC request a body (as the SDK client serializes one) carries; undefined for notifications, answers and batches. */
function requestIdOf(body: unknown): unknown {
  if (typeof body !== 'string') return undefined;
  try {
    const message: unknown = JSON.parse(body);
    return isObject(message) && typeof message['method'] === 'string' ? message['id'] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where a redirect points when the SDK client does not follow it: it follows
 * only within the origin, with the same credentials in the URL, and only when
 * the method is kept (any redirect of a GET; 307 and 308 otherwise).
 * Undefined for any other response.
 */
function unfollowedRedirect(from: URL, method: string, response: Response): URL | undefined {
  const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
  if (!location || !URL.canParse(location, from.href)) return undefined;
  const to = new URL(location, from);
  const keepsMethod = method === 'GET' || response.status === 307 || response.status === 308;
  const keepsUserinfo = (!to.username && !to.password) || (to.username === from.username && to.password === from.password);
  return keepsMethod && keepsUserinfo && isWithinOrigin(from, to) ? undefined : to;
}

/**
 * The fetch the SDK client's transport uses, checking each response before
 * the client reads it. A JSON answer to a request that is not valid JSON, or
 * holds no answer to that request (one to another request, say), fails the
 * request at once with an `AnswerError`: the client would report the first as
 * a bare parse error, and wait out the timeout on the second. A redirect the
 * client does not follow fails with a `RedirectedError` naming where it
 * pointed. Nothing else changes.
 */
export function checkingAnswers(fetch: OutboundFetch): OutboundFetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const method = (init?.method ?? 'GET').toUpperCase();
    const from = new URL(input instanceof Request ? input.url : input);
    const redirect = unfollowedRedirect(from, method, response);
    if (redirect) {
      await response.body?.cancel().catch(() => undefined);
      throw new RedirectedError(response.status, redirect);
    }
    const type = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (!response.ok || method !== 'POST' || type !== 'application/json') return response;
    const id = requestIdOf(init?.body);
    if (id === undefined) return response;
    const text = await response.text();
    const messages = jsonMessages(text);
    // An error whose request the upstream could not tell (id null) is left to the client, as JSON-RPC allows it.
    const answered = messages.some(
      (message) => isObject(message) && ((message['id'] === id && 'result' in message) || ((message['id'] === id || message['id'] === null) && 'error' in message)),
    );
    if (!answered) throw foreignAnswer(messages);
    return withBody(response, text);
  };
}
