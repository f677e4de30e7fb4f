/** The closed set of application error codes; each maps to one HTTP status. */
export type AppErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'loop_detected'
  | 'unavailable'
  | 'internal';

/** HTTP status for each application error code. */
export const HTTP_STATUS: Readonly<Record<AppErrorCode, number>> = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  loop_detected: 508,
  unavailable: 503,
  internal: 500,
};

/** An error whose message is safe to show to the caller. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: AppErrorCode;
  readonly details: unknown;

  constructor(code: AppErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** The first error of class `type` among `error` and its causes, as fetch, SDKs and drivers wrap them (8 deep at most). */
export function findCause<T extends Error>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    if (current instanceof type) return current;
  }
  return undefined;
}

/** Shorthand for the 404 used for missing resources and other tenants' resources alike. */
export function notFound(what: string): AppError {
  return new AppError('not_found', `${what} not found`);
}
