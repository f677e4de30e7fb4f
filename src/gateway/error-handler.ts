import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, HTTP_STATUS } from '../shared/errors.ts';

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Maps body-parser failures to application errors; anything unknown is internal. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
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
