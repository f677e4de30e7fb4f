export interface CredentialCache<T> {
  get(digest: string): T | undefined;
  set(digest: string, tenantId: string, value: T): void;
  /** Drops the tenant's entries: a credential of it may have been revoked or narrowed. */
  changed(tenantId: string): void;
}

export interface CredentialCacheOptions {
  /**
   * Caching is exact only where every change passes through this process: the
   * embedded database admits one process. Several nodes on PostgreSQL would
   * each need to hear of a revocation first, so there nothing is cached.
   */
  enabled: boolean;
  /** Longest an entry is kept without a change. */
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/**
 * Resolved credentials by digest, so a request costs no database round trip
 * to authenticate. Whatever may end or narrow a credential calls `changed`
 * (in the same process, right after its commit), which drops the tenant's
 * entries; expiry is still checked on every use by the caller.
 */
export function createCredentialCache<T>(options: CredentialCacheOptions): CredentialCache<T> {
  const ttlMs = options.ttlMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { tenantId: string; value: T; at: number }>();

  return {
    get(digest) {
      const entry = entries.get(digest);
      if (!entry) return undefined;
      if (now() - entry.at >= ttlMs) {
        entries.delete(digest);
        return undefined;
      }
      return entry.value;
    },
    set(digest, tenantId, value) {
      if (!options.enabled) return;
      entries.delete(digest);
      entries.set(digest, { tenantId, value, at: now() });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    changed(tenantId) {
      for (const [digest, entry] of entries) if (entry.tenantId === tenantId) entries.delete(digest);
    },
  };
}
