import { InsufficientScopeError, ProtocolError, SdkError, SdkErrorCode, SdkHttpError, UnauthorizedError } from '@modelcontextprotocol/client';
import { findCause } from '../../shared/errors.ts';
import { findMessageTooLarge } from '../message-limit.ts';
import { findOutboundRefusal } from '../outbound.ts';

/**
 * Why a call to a tenant's upstream failed:
 * `refused` — the operator's network policy forbids an address the upstream's host resolved to (nothing was sent);
 * `unavailable` — the upstream could not be reached or did not answer in time;
 * `error` — the upstream answered, with an error or something unusable.
 */
export type UpstreamFailure = 'refused' | 'unavailable' | 'error';

/** A failure of a tenant's upstream, with a message that names the host and is safe to show to that tenant. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    readonly failure: UpstreamFailure,
    /** The JSON-RPC error code, when the upstream answered with one. */
    readonly code?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * What was wrong with the upstream's answer to one request, in words fit for
 * the tenant: `error` when it answered with something unusable, `unavailable`
 * when its answer never came whole. It fails that request only.
 */
export class AnswerError extends Error {
  override readonly name = 'AnswerError';
  constructor(
    message: string,
    readonly failure: 'unavailable' | 'error',
  ) {
    super(message);
  }
}

/** The upstream redirected a request elsewhere than the SDK client follows (its own origin, same method): nothing was sent there. */
export class RedirectedError extends Error {
  override readonly name = 'RedirectedError';
  constructor(
    readonly status: number,
    readonly location: URL,
  ) {
    super(`Redirect to ${shownLocation(location)} not followed`);
  }
}

/** Where a redirect points, without the parts that may carry credentials (userinfo, query, fragment). */
function shownLocation(location: URL): string {
  const shown = new URL(location);
  shown.username = shown.password = shown.search = shown.hash = '';
  return shown.href;
}

// SDK errors raised about an answer the upstream gave, not about the connection.
const ANSWER_ERRORS: ReadonlySet<string> = new Set([
  SdkErrorCode.CapabilityNotSupported,
  SdkErrorCode.MethodNotSupportedByProtocolVersion,
  SdkErrorCode.InvalidResult,
  SdkErrorCode.UnsupportedResultType,
  SdkErrorCode.InputRequiredRoundsExceeded,
  SdkErrorCode.ListPaginationExceeded,
  SdkErrorCode.ClientHttpUnexpectedContent,
]);

/**
 * Whether an error shows that the connection itself is gone, so that it is
 * replaced: the network failed under it, its transport closed, or (`session`:
 * on a 2025-era session) the upstream no longer knows the session. Anything
 * else (a call's own timeout, an HTTP error status on its own request, an
 * answer that is unusable or for another request) fails that call alone.
 */
export function isConnectionLost(error: unknown, session: boolean): boolean {
  if (error instanceof UpstreamError || findOutboundRefusal(error)) return false;
  if (session && isSessionRefused(error)) return true;
  if (error instanceof SdkError) return error.code === SdkErrorCode.ConnectionClosed || error.code === SdkErrorCode.NotConnected;
  // undici's fetch wraps every network failure so; its requests throw the network error itself.
  return networkReason(error) !== undefined || (error instanceof TypeError && error.message === 'fetch failed');
}

/**
 * Whether the upstream refused the request at the HTTP level without running
 * it, as a 2025-era server that restarted and forgot the session does (404 per
 * the spec; 400 from some servers), so resending on a new connection is safe.
 */
export function isRefusedUnrun(error: unknown): boolean {
  return error instanceof SdkHttpError && (error.status === 404 || error.status === 400);
}

/** A refusal that says the session is unknown: 404, or a 400 whose body speaks of the session. */
function isSessionRefused(error: unknown): boolean {
  if (!(error instanceof SdkHttpError)) return false;
  const text = error.data['text'];
  return error.status === 404 || (error.status === 400 && typeof text === 'string' && /session/i.test(text));
}

const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

function networkReason(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES[code]) return NETWORK_CODES[code];
  }
  return undefined;
}

/** The bound in all (ms) of a call that ran past it (the client's `maxTotalTimeout` error, or `totalTimeout`); else undefined. */
function totalTimeoutOf(error: unknown): number | undefined {
  const data = error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout ? (error.data as { maxTotalTimeout?: unknown } | undefined) : undefined;
  return typeof data?.maxTotalTimeout === 'number' ? data.maxTotalTimeout : undefined;
}

/** Whether an error is the client's request timeout or an `AbortSignal.timeout` firing. */
export function isTimeout(error: unknown): boolean {
  return (
    (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) ||
    (error instanceof Error && error.name === 'TimeoutError')
  );
}

/** The message an error response's JSON body gives (JSON-RPC's `error.message`, or `message`, `error_description`, `error`), as `: "…"`; else nothing. */
function saidInBody(text: unknown): string {
  let body: unknown;
  try {
    body = typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    return '';
  }
  if (typeof body !== 'object' || body === null) return '';
  const { error, message, error_description: description } = body as Record<string, unknown>;
  const nested = typeof error === 'object' && error !== null ? (error as Record<string, unknown>)['message'] : undefined;
  const said = [nested, message, description, error].find((value): value is string => typeof value === 'string' && value.trim() !== '');
  if (said === undefined) return '';
  const flat = said.replace(/\s+/g, ' ').trim();
  return `: "${flat.length > 300 ? `${flat.slice(0, 300)}…` : flat}"`;
}

/** The HTTP status of a refusal of the configured credentials (401, 403), as `HTTP 401 Unauthorized: "…"`; else undefined. */
function refusedCredentials(error: unknown): string | undefined {
  if (error instanceof SdkHttpError && (error.status === 401 || error.status === 403)) {
    return `HTTP ${error.status}${error.statusText ? ` ${error.statusText}` : ''}${saidInBody(error.data['text'])}`;
  }
  if (findCause(error, UnauthorizedError)) return 'HTTP 401 Unauthorized';
  const scope = findCause(error, InsufficientScopeError);
  return scope && `HTTP 403 Forbidden: insufficient scope${scope.requiredScope ? ` (it asks for "${scope.requiredScope}")` : ''}`;
}

/** Turns any failure of an upstream operation into an `UpstreamError` naming the host and a short reason. */
export function toUpstreamError(error: unknown, host: string, timeoutMs: number): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const failed = (message: string, failure: UpstreamFailure, code?: number) => new UpstreamError(message, failure, code, { cause: error });
  const refusal = findOutboundRefusal(error);
  if (refusal) return failed(`upstream ${host} is not allowed: ${refusal.reason}`, 'refused');
  if (error instanceof ProtocolError) return failed(`upstream ${host} answered with an error: ${error.message}`, 'error', error.code);
  const maxTotal = totalTimeoutOf(error);
  if (maxTotal !== undefined) {
    return failed(`upstream ${host} took too long: the call ran past ${maxTotal} ms, the most one call may take, progress or not`, 'error');
  }
  const redirect = findCause(error, RedirectedError);
  if (redirect) {
    // Following it could hand the configured credentials to another server.
    const to = shownLocation(redirect.location);
    return failed(`upstream ${host} redirected the request to ${to}, and redirects are not followed: if the server moved there, change its URL`, 'error');
  }
  const credentials = refusedCredentials(error);
  if (credentials) {
    return failed(`upstream ${host} refused the credentials configured for this server (${credentials}): an admin should check its token and headers`, 'error');
  }
  const answer = findCause(error, AnswerError);
  if (answer?.failure === 'unavailable') return failed(`upstream ${host} unavailable: ${answer.message}`, 'unavailable');
  const unusable = answer ?? findMessageTooLarge(error) ?? (error instanceof SdkError && ANSWER_ERRORS.has(error.code) ? error : undefined);
  if (unusable) return failed(`upstream ${host} gave an unusable answer: ${unusable.message}`, 'error');
  const reason =
    networkReason(error) ??
    (isTimeout(error) ? `no answer within ${timeoutMs} ms` : undefined) ??
    (error instanceof SdkHttpError ? `HTTP ${error.status}${error.statusText ? ` ${error.statusText}` : ''}${saidInBody(error.data['text'])}` : undefined) ??
    (error instanceof Error ? error.message : String(error));
  return failed(`upstream ${host} unavailable: ${reason}`, 'unavailable');
}
