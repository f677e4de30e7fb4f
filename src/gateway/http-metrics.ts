import type { Request, RequestHandler } from 'express';
import type { Metrics } from './metrics.ts';

/** Paths served outside express's routing (the OAuth server), named by their prefix. */
const UNROUTED_PREFIXES = ['/oauth/', '/.well-known/'];

/** A request no route took: a path of the OAuth server's by its prefix, else `unmatched`. */
function unrouted(req: Request): string {
  const prefix = UNROUTED_PREFIXES.find((p) => req.originalUrl.startsWith(p));
  return prefix ? `${prefix}*` : 'unmatched';
}

/**
 * Counts and times every request once its answer ends, or the connection
 * closes first (`aborted`), under the pattern of the route that took it
 * (`/api/v1/keys/:id`), so that no path a client chooses becomes a label. The
 * pattern is read as the router matches the route: the mount path
 * (`req.baseUrl`) is reset once a router hands an error on.
 */
export function observeRequests(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    let matched: unknown;
    let route: string | undefined;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => matched,
      set: (value: { path?: unknown } | undefined) => {
        matched = value;
        if (typeof value?.path === 'string') route = `${req.baseUrl}${value.path}`;
      },
    });
    res.once('close', () => {
      const status = res.writableFinished ? String(res.statusCode) : 'aborted';
      metrics.httpRequest(req.method, route ?? unrouted(req), status, performance.now() - started);
    });
    next();
  };
}
