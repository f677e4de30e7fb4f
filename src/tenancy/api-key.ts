import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every Botgate API key starts with this, so scanners and people recognise one. */
export const API_KEY_PREFIX = 'bgk_';
const SECRET_BYTES = 32;
const DISPLAY_LENGTH = API_KEY_PREFIX.length + 8;
const KEY_PATTERN = /^bgk_[A-Za-z0-9_-]{43}$/;
const DIGEST_PATTERN = /^[0-9a-f]{64}$/i;

/** SHA-256 of the key, hex: what the database stores and looks keys up by. */
export function digestApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A fresh key: 256 random bits, base64url, behind the recognisable prefix. */
export function generateApiKey(): { secret: string; prefix: string; digest: string } {
  const secret = API_KEY_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
  return { secret, prefix: secret.slice(0, DISPLAY_LENGTH), digest: digestApiKey(secret) };
}

/** Cheap shape check before any database work. */
export function looksLikeApiKey(text: string): boolean {
  return KEY_PATTERN.test(text);
}

/** Constant-time comparison of two hex digests; a malformed digest equals nothing. */
export function digestsEqual(a: string, b: string): boolean {
  // Buffer.from(hex) stops silently at the first non-hex character, so check the shape first.
  if (!DIGEST_PATTERN.test(a) || !DIGEST_PATTERN.test(b)) return false;
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
