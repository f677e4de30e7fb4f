import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../shared/errors.ts';
import {
  denialReason,
  slugSchema,
  type ApiKeyService,
  type Permission,
  type Principal,
  type SessionService,
  type TenancyModule,
  type ValidSession,
} from '../tenancy/index.ts';
import { bindPrincipalToLog, principalOf } from './http.ts';
import { checkCsrf, readSession, refreshSessionCookie } from './session/index.ts';

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
    bindPrincipalToLog(req, principal);
    next();
  };
}

/** The header that picks the tenant of a cookie-authenticated request. */
export const TENANT_HEADER = 'x-botgate-tenant';
/** A session acts with every scope; the member's role is what limits it (see `denialReason`). */
const SESSION_SCOPES = ['admin', 'read', 'mcp'] as const;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session behind a cookie-authenticated request; undefined for an API key. */
export function sessionOf(res: Response): ValidSession | undefined {
  return res.locals['session'] as ValidSession | undefined;
}

/** The principal of a signed-in person in the tenant of the `x-botgate-tenant` header, or their only tenant. */
async function sessionPrincipal(req: Request, sessions: SessionService, session: ValidSession): Promise<Principal> {
  const memberships = await sessions.memberships(session.user.id);
  const wanted = req.get(TENANT_HEADER);
  let chosen: (typeof memberships)[number] | undefined;
  if (wanted !== undefined) {
    // Not a member there looks exactly like no such tenant.
    chosen = slugSchema.safeParse(wanted).success ? memberships.find((m) => m.tenant.slug === wanted) : undefined;
    if (!chosen) throw new AppError('not_found', 'tenant not found');
  } else if (memberships.length === 1) {
    chosen = memberships[0];
  } else if (memberships.length === 0) {
    throw new AppError('forbidden', 'this account is not a member of any tenant');
  } else {
    throw new AppError('bad_request', `this account belongs to several tenants: choose one with the "${TENANT_HEADER}: <slug>" header`);
  }
  if (!chosen) throw new AppError('not_found', 'tenant not found');
  return {
    tenant: chosen.tenant,
    actor: { type: 'user', id: session.user.id },
    keyId: null,
    userId: session.user.id,
    role: chosen.role,
    scopes: [...SESSION_SCOPES],
    tools: null,
  };
}

/**
 * Requires an API key (`Authorization: Bearer`), or else a signed-in browser session with
 * its tenant chosen by `x-botgate-tenant`; puts the principal in `res.locals.principal`.
 * A cookie-authenticated request that changes anything must carry the session's CSRF token.
 */
export function requireCredential(
  apiKeys: ApiKeyService,
  sessions: SessionService,
  options: { secureCookies: boolean },
): RequestHandler {
  const byKey = requireApiKey(apiKeys);
  return async (req, res, next) => {
    // A request that offers any Authorization is judged by it alone, never by a cookie it also carries.
    const session = req.get('authorization') === undefined ? await readSession(req, sessions) : undefined;
    if (!session) {
      await byKey(req, res, next);
      return;
    }
    const principal = await sessionPrincipal(req, sessions, session);
    // Known before the CSRF check, so that a forged request's refusal is in the tenant's audit trail (`auditRefusals`).
    res.locals['principal'] = principal;
    bindPrincipalToLog(req, principal);
    if (!SAFE_METHODS.has(req.method)) checkCsrf(req, session);
    refreshSessionCookie(req, res, session, options.secureCookies);
    res.locals['session'] = session;
    next();
  };
}

/** 403 unless the principal's scopes and role allow the permission. */
export function requirePermission(permission: Permission): RequestHandler {
  return (_req, res, next) => {
    const reason = denialReason(principalOf(res), permission);
    // The permission goes to the audit trail (`auditRefusals`); the client is told the reason.
    if (reason) throw new AppError('forbidden', reason, { details: { permission } });
    next();
  };
}

/** When the key acting expires; null for a person, or a key that does not. */
export async function actingKeyExpiry(tenancy: TenancyModule, principal: Principal): Promise<Date | null> {
  return principal.keyId === null ? null : (await tenancy.apiKeys.get(principal.tenant.id, principal.keyId)).expiresAt;
}

/** 403 for a key that expires: what the route makes (a member, an invitation) would outlast it. */
export function requireLastingKey(tenancy: TenancyModule, what: string): RequestHandler {
  return async (_req, res, next) => {
    const expiresAt = await actingKeyExpiry(tenancy, principalOf(res));
    if (expiresAt !== null) throw new AppError('forbidden', `a key that expires may not ${what}, which would outlast it`);
    next();
  };
}
