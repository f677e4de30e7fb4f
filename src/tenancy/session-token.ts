import { sha256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding, encodeBase64urlNoPadding, encodeHexLowerCase } from '@oslojs/encoding';

// After the Lucia session guide: 20 random bytes (160 bits), base32 lowercase; only the SHA-256 is stored.
const TOKEN_BYTES = 20;
const TOKEN_PATTERN = /^[a-z2-7]{32}$/;
const DIGEST_PATTERN = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();

/** A fresh session token: what the browser's cookie holds. */
export function generateSessionToken(): string {
  return encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

/** Cheap shape check before any database work. */
export function looksLikeSessionToken(text: string): boolean {
  return TOKEN_PATTERN.test(text);
}

/** Hex SHA-256 of a token: the session's id in the database, and how it is looked up. */
export function digestToken(token: string): string {
  return encodeHexLowerCase(sha256(encoder.encode(token)));
}

/**
 * The session's CSRF token, derived from its secret token under a label: it changes with
 * the session, needs no storage, and reveals nothing of the token it came from.
 */
export function csrfTokenFor(token: string): string {
  return encodeBase64urlNoPadding(sha256(encoder.encode(`botgate-csrf\u0000${token}`)));
}

/** Constant-time comparison of two hex digests; a malformed digest equals nothing. */
export function hexDigestsEqual(a: string, b: string): boolean {
  if (!DIGEST_PATTERN.test(a) || !DIGEST_PATTERN.test(b)) return false;
  return constantTimeEqual(encoder.encode(a), encoder.encode(b));
}

