import { createHash } from 'node:crypto';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../shared/errors.ts';
import type { OAuthStorage } from '../../tenancy/index.ts';
import type { RunningProvider } from './interaction.routes.ts';
import { OAUTH_MOUNT } from './provider.ts';
import { DEFAULT_SCOPE, parseMcpResource, protectedResourceMetadata } from './resource.ts';

const HOUR_S = 3600;
/** Dynamic registrations one address may make per hour, and all addresses together. */
export const REGISTRATIONS_PER_ADDRESS = 20;
const REGISTRATIONS_OVERALL = 1000;

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

/**
 * Sets Host and X-Forwarded-* from the issuer before oidc-provider (Koa, which
 * trusts them) sees a request, so that every URL it writes (metadata,
 * redirects) and its cookies' Secure flag are the public ones, whatever the
 * client sent. The client's address is the one express trusts.
 */
export function pinForwardedHeaders(issuer: string, req: Request): void {
  const url = new URL(issuer);
  req.headers['host'] = url.host;
  req.headers['x-forwarded-host'] = url.host;
  req.headers['x-forwarded-proto'] = url.protocol.slice(0, -1);
  req.headers['x-forwarded-for'] = req.ip ?? req.socket.remoteAddress ?? '';
}

/** Hands a request to oidc-provider. */
function forward(running: RunningProvider, req: Request, res: Response): void {
  pinForwardedHeaders(running.issuer, req);
  running.handle(req, res);
}

/** Dynamic client registration, rate-limited per address and overall, across nodes. */
function limitRegistrations(storage: OAuthStorage): RequestHandler {
  return async (req, res, next) => {
    const [mine, all] = await Promise.all([
      storage.hit(`registration:${digest(req.ip ?? 'unknown')}`, HOUR_S),
      storage.hit('registration:all', HOUR_S),
    ]);
    if (mine > REGISTRATIONS_PER_ADDRESS || all > REGISTRATIONS_OVERALL) {
      res.set('retry-after', String(HOUR_S)).status(429).json({
        error: 'temporarily_unavailable',
        error_description: 'too many client registrations from this address; try again later, or use a client ID metadata document',
      });
      return;
    }
    next();
  };
}

/**
 * RFC 6749 §3.3: an authorization request without `scope` gets the default,
 * `mcp`, which the consent page shows and the person approves; without this
 * the approval would grant nothing and end in `access_denied`.
 */
const defaultScope: RequestHandler = (req, _res, next) => {
  const url = new URL(req.url, 'http://request.invalid');
  if (!url.searchParams.has('scope')) {
    url.searchParams.set('scope', DEFAULT_SCOPE);
    req.url = `${url.pathname}${url.search}`;
  }
  next();
};

/**
 * The authorization server's public paths: RFC 8414 metadata at
 * `/.well-known/oauth-authorization-server`, RFC 9728 metadata of each MCP
 * endpoint at `/.well-known/oauth-protected-resource/t/...`, and oidc-provider's
 * endpoints under `/oauth` (authorize, token, registration, revocation, JWKS).
 */
export function createOAuthRoutes(deps: { running: () => RunningProvider | undefined; storage: OAuthStorage }): Router {
  const router = Router();
  const runningOrThrow = () => {
    const running = deps.running();
    if (!running) throw new AppError('unavailable', 'the authorization server is starting');
    return running;
  };

  router.get('/.well-known/oauth-authorization-server', (req, res) => {
    const running = runningOrThrow();
    // The provider serves it under its mount; the issuer has no path, so RFC 8414 puts it at the root.
    req.url = '/.well-known/oauth-authorization-server';
    req.originalUrl = `${OAUTH_MOUNT}${req.url}`;
    forward(running, req, res);
  });

  router.get('/.well-known/oauth-protected-resource/*path', (req, res) => {
    const running = runningOrThrow();
    const rest = req.params['path'];
    const path = `/${Array.isArray(rest) ? rest.join('/') : String(rest)}`;
    const resource = parseMcpResource(running.issuer, `${running.issuer}${path}`);
    // Metadata is public and the same for any tenant's path: it confirms no tenant, server or bot exists.
    if (!resource) throw new AppError('not_found', 'no MCP endpoint has this path');
    res.set({ 'access-control-allow-origin': '*', 'cache-control': 'public, max-age=3600' }).json(protectedResourceMetadata(resource, running.issuer));
  });

  router.post(`${OAUTH_MOUNT}/reg`, limitRegistrations(deps.storage));
  router.get(`${OAUTH_MOUNT}/auth`, defaultScope);

  router.use(OAUTH_MOUNT, (req, res) => forward(runningOrThrow(), req, res));
  return router;
}
