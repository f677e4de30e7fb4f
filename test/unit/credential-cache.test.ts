import { describe, expect, it } from 'vitest';
import { createCredentialCache } from '../../src/tenancy/credential-cache.ts';

describe('the credential cache', () => {
  it('keeps nothing when disabled (several nodes on PostgreSQL)', () => {
    const cache = createCredentialCache<string>({ enabled: false });
    cache.set('d1', 'tenant-a', 'key');
    expect(cache.get('d1')).toBeUndefined();
  });

  it("drops a tenant's entries when it changes, and no other tenant's", () => {
    const cache = createCredentialCache<string>({ enabled: true });
    cache.set('a1', 'tenant-a', 'key a1');
    cache.set('a2', 'tenant-a', 'key a2');
    cache.set('b1', 'tenant-b', 'key b1');
    cache.changed('tenant-a');
    expect([cache.get('a1'), cache.get('a2'), cache.get('b1')]).toEqual([undefined, undefined, 'key b1']);
  });

  it('keeps an entry no longer than its time to live', () => {
    let time = 0;
    const cache = createCredentialCache<string>({ enabled: true, ttlMs: 100, now: () => time });
    cache.set('a1', 'tenant-a', 'key a1');
    time = 99;
    expect(cache.get('a1')).toBe('key a1');
    time = 100;
    expect(cache.get('a1')).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = createCredentialCache<string>({ enabled: true, maxEntries: 2 });
    cache.set('1', 't', 'one');
    cache.set('2', 't', 'two');
    cache.set('3', 't', 'three');
    expect([cache.get('1'), cache.get('2'), cache.get('3')]).toEqual([undefined, 'two', 'three']);
  });
});
