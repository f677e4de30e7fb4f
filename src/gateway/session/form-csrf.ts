import { createHmac, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { readCookie, secretsEqual } from './cookies.ts';

/**
 * Forms shown before anyone is signed in (sign-in, accepting an invitation) have no
 * session to bind a CSRF token to. They use a signed double-submit cookie instead: the
 * cookie holds `nonce.mac`, the form holds the nonce, and only this gateway can make the
 * mac, so a cookie planted by a sibling site does not pass.
 */
export const FORM_COOKIE = 'botgate_form';

/** A key for form tokens only, derived from the gateway's secret key (the same on every node). */
export function deriveFormKey(secretKey: Buffer): Buffer {
  return createHmac('sha256', secretKey).update('botgate pre-session form csrf v1').digest();
}

function macOf(key: Buffer, nonce: string): string {
  return createHmac('sha256', key).update(nonce).digest('base64url');
}

/** The nonce of a well-signed form cookie, or undefined. */
function cookieNonce(req: Request, key: Buffer): string | undefined {
  const [nonce, mac, extra] = (readCookie(req, FORM_COOKIE) ?? '').split('.');
  if (!nonce || !mac || extra !== undefined) return undefined;
  return secretsEqual(mac, macOf(key, nonce)) ? nonce : undefined;
}

/** The token to put in a form: the current cookie's nonce, or a fresh one with its cookie. */
export function issueFormToken(req: Request, res: Response, key: Buffer, secure: boolean): string {
  const existing = cookieNonce(req, key);
  if (existing) return existing;
  const nonce = randomBytes(24).toString('base64url');
  res.cookie(FORM_COOKIE, `${nonce}.${macOf(key, nonce)}`, { httpOnly: true, sameSite: 'lax', path: '/', secure });
  return nonce;
}

/** True when the submitted token matches a cookie this gateway signed. */
export function formTokenValid(req: Request, key: Buffer, presented: unknown): boolean {
  const nonce = cookieNonce(req, key);
  return nonce !== undefined && typeof presented === 'string' && secretsEqual(presented, nonce);
}
