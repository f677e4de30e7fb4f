import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { RequestHandler } from 'express';
import type { Logger } from '../shared/logger.ts';
import { isSecretField } from '../tenancy/index.ts';

declare module 'node:http' {
  interface IncomingMessage {
    /** The request's id: the client's `x-request-id` when well-formed, else a new UUID. */
    id: string;
    /** Logs with the request's id, and with its principal once authenticated (`bindPrincipalToLog`). */
    log: Logger;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Paths that carry a credential as their last segment: an invitation's token. */
const CREDENTIAL_PATH = /^(\/invite\/)[^/?#]+/;
/** Query parameters that may carry a credential, besides those named like secrets. */
const CREDENTIAL_PARAMETERS = new Set(['code', 'id_token_hint', 'user_code']);

/** A URL as its line shows it: an invitation's token and the values of credential-like query parameters are redacted. */
export function loggedUrl(url: string): string {
  const queryAt = url.indexOf('?');
  const pathname = (queryAt === -1 ? url : url.slice(0, queryAt)).replace(CREDENTIAL_PATH, '$1[redacted]');
  if (queryAt === -1) return pathname;
  const query = url
    .slice(queryAt + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=', 1)[0] ?? '';
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed name is judged as written.
      }
      return isSecretField(decoded) || CREDENTIAL_PARAMETERS.has(decoded.toLowerCase()) ? `${name}=[redacted]` : pair;
    });
  return `${pathname}?${query.join('&')}`;
}

export interface RequestLogOptions {
  logger: Logger;
  /** Requests that get no line (health checks); they still get an id and `req.log`. */
  ignore: (req: IncomingMessage) => boolean;
  /** Fields the line adds once the response is over: the tenant and actor of an authenticated request. */
  bindings: (res: ServerResponse) => Record<string, unknown> | undefined;
}

/**
 * Gives every request an id (echoed in `x-request-id`) and `req.log`, and logs
 * one line when it ends: `request completed` (`info`), or `request errored`
 * (`error`) for a 5xx. The line carries the method, URL, status and time, never
 * headers; credentials in the URL are redacted (`loggedUrl`). A response the connection closed
 * before it finished (a client leaving an event stream) is marked `aborted`.
 *
 * Nothing is serialized for the line until the request ends, and nothing at
 * all when its level is off; the child logger behind `req.log` is made only
 * when something logs through it.
 */
export function requestLog({ logger, ignore, bindings }: RequestLogOptions): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader('x-request-id', id);
    let log: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: true,
      get: () => (log ??= logger.child({ requestId: id })),
      set: (value: Logger) => {
        log = value;
      },
    });
    if (ignore(req)) {
      next();
      return;
    }
    const started = performance.now();
    const ended = () => {
      res.off('finish', ended).off('close', ended);
      const failed = res.statusCode >= 500;
      const level = failed ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          requestId: id,
          req: { method: req.method, url: loggedUrl(req.originalUrl), remoteAddress: req.socket.remoteAddress },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
          ...(!res.writableFinished && { aborted: true }),
          ...bindings(res),
        },
        failed ? 'request errored' : 'request completed',
      );
    };
    res.on('finish', ended).on('close', ended);
    next();
  };
}
