import type { RequestHandler } from 'express';
import { AppError } from '../shared/errors.ts';
import { denialReason, type ApiKeyService, type Permission } from '../tenancy/index.ts';
import { principalOf } from './http.ts';

/** The bearer token of a request, or undefined when it carries none. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** Requires a valid API key and puts its principal in `res.locals.principal`. */
export function requireApiKey(apiKeys: ApiKeyService): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (!token) throw new AppError('unauthorized', 'an API key is required: send "Authorization: Bearer bgk_..."');
    const principal = await apiKeys.authenticate(token);
    if (!principal) throw new AppError('unauthorized', 'the API key is invalid, expired or revoked');
    res.locals['principal'] = principal;
    req.log = req.log.child({ tenantId: principal.tenant.id, actor: principal.actor });
    next();
  };
}

/** 403 unless the principal's scopes and role allow the permission. */
export function requirePermission(permission: Permission): RequestHandler {
  return (_req, res, next) => {
    const reason = denialReason(principalOf(res), permission);
    if (reason) throw new AppError('forbidden', reason);
    next();
  };
}
