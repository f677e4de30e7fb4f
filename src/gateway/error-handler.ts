import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, HTTP_STATUS } from '../shared/errors.ts';
import type { AuditWriter, Principal } from '../tenancy/index.ts';
import { contextOf } from './http.ts';

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Maps body-parser failures and undecodable paths to application errors; anything unknown is internal. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  // Express cannot decode a route parameter (`/keys/%ZZ`): the client's URL is wrong.
  if (error instanceof URIError && (error as BodyParserError).status === 400) return new AppError('bad_request', 'the URL holds malformed percent-encoding (a % must be followed by two hexadecimal digits)');
  const parser = error as BodyParserError;
  switch (parser?.type) {
    case 'entity.parse.failed':
      return new AppError('bad_request', 'request body is not valid JSON');
    case 'entity.too.large':
      return new AppError('payload_too_large', 'request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'request body encoding is not supported');
    default:
      return new AppError('internal', 'internal error', { cause: error });
  }
}

/** The one place errors become `{ error: { code, message }, requestId }`. */
export const errorHandler: ErrorRequestHandler = (error, req, res, next) => {
  const appError = toAppError(error);
  if (appError.code === 'internal') req.log.error({ err: error }, 'request failed');
  // An answer already under way (an event stream) cannot become an error document: express ends the connection.
  if (res.headersSent) {
    next(error);
    return;
  }
  // MCP endpoints set their own challenge (with the resource metadata and scope); others get the plain one.
  if (appError.code === 'unauthorized' && !res.get('www-authenticate')) res.set('www-authenticate', 'Bearer realm="botgate"');
  res.status(HTTP_STATUS[appError.code]).json({
    error: { code: appError.code, message: appError.message },
    requestId: req.id,
  });
};

/** 404 for any path no route answered. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
};

/** The most of a refused request's path the audit trail keeps. */
const MAX_AUDITED_PATH = 512;

/**
 * Records each refusal (403) of an authenticated principal in its tenant's
 * audit trail as `access.denied`: the method, the route's pattern and the
 * path (without its query), the permission it lacked when one was checked
 * (`details.permission`), and the reason it was told. Queued, not written on
 * the request's path. Unauthenticated requests (401) are not recorded: anyone
 * could fill the trail with them; nor are 404s, another tenant's resources among them.
 *
 * Mounted at the end of each router whose requests carry a principal, before
 * `errorHandler`: there the router's mount path (`req.baseUrl`) is still set,
 * and together with the matched route it gives the pattern.
 */
export function auditRefusals(auditWriter: AuditWriter): ErrorRequestHandler {
  return (error, req, res, next) => {
    const principal = res.locals['principal'] as Principal | undefined;
    if (principal && error instanceof AppError && error.code === 'forbidden' && !res.headersSent) {
      const matched = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof matched === 'string' ? `${req.baseUrl}${matched}` : null;
      const path = req.originalUrl.split('?', 1)[0] ?? '';
      const permission = (error.details as { permission?: unknown } | undefined)?.permission;
      auditWriter.enqueue(principal.tenant.id, contextOf(req, res), {
        action: 'access.denied',
        resourceType: 'route',
        resourceId: route,
        after: {
          method: req.method,
          route,
          path: path.length > MAX_AUDITED_PATH ? `${path.slice(0, MAX_AUDITED_PATH)}…` : path,
          ...(typeof permission === 'string' && { permission }),
          reason: error.message,
        },
      });
    }
    next(error);
  };
}
