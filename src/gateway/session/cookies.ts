import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { AppError } from '../../shared/errors.ts';
import { SESSION_LIFETIME_MS, type SessionService, type ValidSession } from '../../tenancy/index.ts';

/** The browser session cookie: HttpOnly, SameSite=Lax, Path=/, Secure when PUBLIC_URL is https. */
export const SESSION_COOKIE = 'botgate_session';
/** The form field and header that carry a session's CSRF token. */
export const CSRF_FIELD = 'csrf_token';
export const CSRF_HEADER = 'x-csrf-token';

/** The value of one cookie of the request, or undefined. */
export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) {
      const value = part.slice(index + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The request's session token, when it carries a cookie. */
export function sessionToken(req: Request): string | undefined {
  return readCookie(req, SESSION_COOKIE);
}

/** The session of the request's cookie, or undefined when it has none or it is no longer valid. */
export async function readSession(req: Request, sessions: SessionService): Promise<ValidSession | undefined> {
  const token = sessionToken(req);
  return token === undefined ? undefined : sessions.validate(token);
}

function cookieOptions(secure: boolean) {
  return { httpOnly: true, sameSite: 'lax', path: '/', secure } as const;
}

export function setSessionCookie(res: Response, token: string, expiresAt: Date, secure: boolean): void {
  res.cookie(SESSION_COOKIE, token, { ...cookieOptions(secure), expires: expiresAt });
}

export function clearSessionCookie(res: Response, secure: boolean): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(secure));
}

/**
 * Re-sends the cookie when `validate` has just slid the session's expiry forward, so the
 * browser keeps it as long as the server does; other requests carry no Set-Cookie.
 */
export function refreshSessionCookie(req: Request, res: Response, session: ValidSession, secure: boolean): void {
  const token = sessionToken(req);
  if (token !== undefined && session.expiresAt.getTime() > Date.now() + SESSION_LIFETIME_MS - 60_000) {
    setSessionCookie(res, token, session.expiresAt, secure);
  }
}

/** Where the sign-in page is, coming back to `returnTo` afterwards. */
export function loginUrl(returnTo: string): string {
  return `/login?return_to=${encodeURIComponent(returnTo)}`;
}

/**
 * `value` when it is a path on this origin (`/x`, not `//host`, `/\host` or a full URL);
 * otherwise `/`. Keeps a sign-in link from becoming an open redirect.
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2048) return '/';
  // oxlint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /[\u0000-\u001f\u007f]/.test(value)) {
    return '/';
  }
  const base = 'http://botgate.invalid';
  try {
    const url = new URL(value, base);
    const path = `${url.pathname}${url.search}${url.hash}`;
    // Dot segments can leave two slashes in front (`/.//host` is `//host`): a link to another host.
    return url.origin === base && !path.startsWith('//') ? path : '/';
  } catch {
    return '/';
  }
}

/** Constant-time string comparison: hashing first makes the lengths equal. */
export function secretsEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}

/**
 * Throws 403 unless the request proves it came from a page of this gateway: the
 * `x-csrf-token` header or the `csrf_token` form field equals the session's token.
 */
export function checkCsrf(req: Request, session: ValidSession): void {
  const header = req.get(CSRF_HEADER);
  const body = req.body as Record<string, unknown> | undefined;
  const field = body && typeof body === 'object' ? body[CSRF_FIELD] : undefined;
  const presented = header ?? (typeof field === 'string' ? field : undefined);
  if (presented === undefined || !secretsEqual(presented, session.csrfToken)) {
    throw new AppError('forbidden', `a valid CSRF token is required: send the ${CSRF_HEADER} header (GET /api/v1/me shows it)`);
  }
}
