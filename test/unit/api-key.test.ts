import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_PREFIX,
  digestApiKey,
  digestsEqual,
  generateApiKey,
  looksLikeApiKey,
} from '../../src/tenancy/api-key.ts';

describe('generateApiKey', () => {
  it('makes a bgk_ key with 43 base64url characters, i.e. 256 random bits', () => {
    const { secret } = generateApiKey();

    expect(API_KEY_PREFIX).toBe('bgk_');
    expect(secret).toMatch(/^bgk_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret.slice(4), 'base64url')).toHaveLength(32);
  });

  it('shows a prefix of the secret that is too short to use', () => {
    const { secret, prefix } = generateApiKey();

    expect(prefix).toBe(secret.slice(0, 12));
    expect(looksLikeApiKey(prefix)).toBe(false);
  });

  it('stores the SHA-256 hex digest of the secret, never the secret', () => {
    const { secret, digest } = generateApiKey();

    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digest).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(digest).toBe(digestApiKey(secret));
  });

  it('never repeats a key', () => {
    const keys = Array.from({ length: 1000 }, () => generateApiKey());

    expect(new Set(keys.map((k) => k.secret)).size).toBe(1000);
    expect(new Set(keys.map((k) => k.digest)).size).toBe(1000);
  });
});

describe('looksLikeApiKey', () => {
  it('accepts a generated key', () => {
    expect(looksLikeApiKey(generateApiKey().secret)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['the prefix alone', 'bgk_'],
    ['one character short', `bgk_${'A'.repeat(42)}`],
    ['one character long', `bgk_${'A'.repeat(44)}`],
    ['another prefix', `sk_${'A'.repeat(44)}`],
    ['an uppercase prefix', `BGK_${'A'.repeat(43)}`],
    ['standard base64 characters', `bgk_${'A'.repeat(42)}+`],
    ['a trailing newline', `bgk_${'A'.repeat(43)}\n`],
    ['a Bearer header', `Bearer bgk_${'A'.repeat(43)}`],
    ['SQL', `bgk_${"'; drop table api_keys;--".padEnd(43, 'A')}`],
  ])('refuses %s', (_why, text) => {
    expect(looksLikeApiKey(text)).toBe(false);
  });
});

describe('digestsEqual', () => {
  const a = digestApiKey('bgk_a');
  const b = digestApiKey('bgk_b');

  it('is true for the same digest, also in another letter case', () => {
    expect(digestsEqual(a, a)).toBe(true);
    expect(digestsEqual(a, a.toUpperCase())).toBe(true);
  });

  it('is false for different digests, including ones differing in the last character only', () => {
    const lastFlipped = a.slice(0, -1) + (a.endsWith('0') ? '1' : '0');

    expect(digestsEqual(a, b)).toBe(false);
    expect(digestsEqual(a, lastFlipped)).toBe(false);
  });

  it('is false for digests of different lengths', () => {
    expect(digestsEqual(a, a.slice(0, 62))).toBe(false);
    expect(digestsEqual(a, '')).toBe(false);
  });

  it('never treats malformed digests as equal', () => {
    // Node's hex decoder stops at the first non-hex character, so these would decode alike.
    expect(digestsEqual('', '')).toBe(false);
    expect(digestsEqual('zz', 'yy')).toBe(false);
    expect(digestsEqual(`${a.slice(0, 62)}zz`, `${a.slice(0, 62)}yy`)).toBe(false);
  });
});
