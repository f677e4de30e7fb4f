import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openSecret, sealSecret } from '../../src/shared/crypto.ts';

describe('sealed secrets', () => {
  const key = randomBytes(32);

  it('round-trips under the same key and context, and hides the plaintext', () => {
    const sealed = sealSecret(key, '{"token":"ghp_secret"}', 'server:t1:s1');
    expect(sealed).not.toContain('ghp_secret');
    expect(openSecret(key, sealed, 'server:t1:s1')).toBe('{"token":"ghp_secret"}');
  });

  it('uses a fresh IV each time', () => {
    expect(sealSecret(key, 'x', 'c')).not.toBe(sealSecret(key, 'x', 'c'));
  });

  it('refuses another context, another key and a tampered ciphertext', () => {
    const sealed = sealSecret(key, 'secret', 'server:t1:s1');
    expect(() => openSecret(key, sealed, 'server:t2:s1')).toThrow(/unable to authenticate/);
    expect(() => openSecret(randomBytes(32), sealed, 'server:t1:s1')).toThrow(/unable to authenticate/);
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => openSecret(key, `v1:${raw.toString('base64')}`, 'server:t1:s1')).toThrow(/unable to authenticate/);
    expect(() => openSecret(key, 'v0:abc', 'server:t1:s1')).toThrow(/unknown secret format/);
  });
});
