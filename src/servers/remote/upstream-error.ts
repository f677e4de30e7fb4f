import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
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

// SDK errors raised about an answer the upstream gave, not about the connection.
const ANSWER_ERRORS: ReadonlySet<string> = new Set([
  SdkErrorCode.CapabilityNotSupported,
  SdkErrorCode.MethodNotSupportedByProtocolVersion,
  SdkErrorCode.InvalidResult,
  SdkErrorCode.UnsupportedResultType,
  SdkErrorCode.InputRequiredRoundsExceeded,
  SdkErrorCode.ListPaginationExceeded,
]);

/** Whether an error says the connection is unusable (so it is dropped and re-established next time). */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof UpstreamError) return error.failure === 'unavailable';
  // A call that ran past its bound in all was still being answered: the connection is fine.
  if (error instanceof ProtocolError || findMessageTooLarge(error) || totalTimeoutOf(error) !== undefined) return false;
  return !(error instanceof SdkError && ANSWER_ERRORS.has(error.code));
}

/**
 * Whether the upstream refused the request at the HTTP level without running
 * it, as a 2025-era server that restarted and forgot the session does (404 per
 * the spec; 400 from some servers), so resending on a new connection is safe.
 */
export function isRefusedUnrun(error: unknown): boolean {
  return error instanceof SdkHttpError && (error.status === 404 || error.status === 400);
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

/** Turns any failure of an upstream operation into an `UpstreamError` naming the host and a short reason. */
export function toUpstreamError(error: unknown, host: string, timeoutMs: number): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const refusal = findOutboundRefusal(error);
  if (refusal) return new UpstreamError(`upstream ${host} is not allowed: ${refusal.reason}`, 'refused', undefined, { cause: error });
  if (error instanceof ProtocolError) {
    return new UpstreamError(`upstream ${host} answered with an error: ${error.message}`, 'error', error.code, { cause: error });
  }
  const maxTotal = totalTimeoutOf(error);
  if (maxTotal !== undefined) {
    return new UpstreamError(`upstream ${host} took too long: the call ran past ${maxTotal} ms, the most one call may take, progress or not`, 'error', undefined, {
      cause: error,
    });
  }
  if (!isConnectionFailure(error)) {
    const message = findMessageTooLarge(error)?.message ?? (error instanceof Error ? error.message : String(error));
    return new UpstreamError(`upstream ${host} gave an unusable answer: ${message}`, 'error', undefined, { cause: error });
  }
  const reason =
    networkReason(error) ??
    (isTimeout(error) ? `no answer within ${timeoutMs} ms` : undefined) ??
    (error instanceof SdkHttpError ? `HTTP ${error.status}${error.statusText ? ` ${error.statusText}` : ''}${saidInBody(error.data['text'])}` : undefined) ??
    (error instanceof Error ? error.message : String(error));
  return new UpstreamError(`upstream ${host} unavailable: ${reason}`, 'unavailable', undefined, { cause: error });
}
