import type { ChangeBus } from '../shared/change-bus.ts';
import type { RequestContext, Tenant } from '../tenancy/index.ts';
import { readListsChange } from './list-changes.ts';
import type { CreateServerInput, ServerRuntime, ServerService, UpdateServerInput } from './server.service.ts';

export interface RuntimeCacheOptions {
  /** Longest a tenant's servers are reused without a change notification; bounds staleness if one is lost. */
  ttlMs?: number;
  /** Most tenants kept; the least recently loaded is dropped first. */
  maxTenants?: number;
  now?: () => number;
}

/** A `ServerService` whose tenants' configuration is kept in memory. */
export interface CachedServerService extends ServerService {
  /** Drops the tenant's entry: it was deleted. */
  forgetTenant(tenantId: string): void;
}

interface Entry {
  runtimes: Promise<ServerRuntime[]>;
  loadedAt: number;
}

/**
 * Keeps each tenant's decrypted server configuration in memory, so an MCP
 * request costs no database round trip for it. A change to the tenant's
 * servers drops the entry: at once for changes made through `service` on this
 * node, and through the change bus for every node (a load still in flight
 * is dropped too, so a list read before a change is not kept after it).
 */
export function cacheServerRuntimes(service: ServerService, changes: ChangeBus, options: RuntimeCacheOptions = {}): CachedServerService {
  const ttlMs = options.ttlMs ?? 60_000;
  const maxTenants = options.maxTenants ?? 10_000;
  const now = options.now ?? Date.now;
  // A load in flight is an entry too: callers meanwhile share it, and a change drops it like any other.
  const entries = new Map<string, Entry>();
  let subscribed = false;

  function invalidate(tenantId: string) {
    entries.delete(tenantId);
  }

  function subscribeOnce() {
    if (subscribed) return;
    subscribed = true;
    changes.subscribe((event) => {
      if (event.kind === 'resync') {
        for (const tenantId of [...entries.keys()]) invalidate(tenantId);
        return;
      }
      const change = readListsChange(event);
      if (change) invalidate(change.tenantId);
    });
  }

  async function listRuntime(tenant: Tenant): Promise<ServerRuntime[]> {
    subscribeOnce();
    const cached = entries.get(tenant.id);
    if (cached && now() - cached.loadedAt < ttlMs) return cached.runtimes;
    const runtimes = service.listRuntime(tenant);
    entries.delete(tenant.id);
    entries.set(tenant.id, { runtimes, loadedAt: now() });
    if (entries.size > maxTenants) entries.delete(entries.keys().next().value as string);
    try {
      return await runtimes;
    } catch (error) {
      if (entries.get(tenant.id)?.runtimes === runtimes) entries.delete(tenant.id);
      throw error;
    }
  }

  /** Runs a change and drops the tenant's entry once it is committed. */
  const changing =
    <A extends unknown[], R>(change: (tenant: Tenant, ...args: A) => Promise<R>) =>
    async (tenant: Tenant, ...args: A): Promise<R> => {
      try {
        return await change(tenant, ...args);
      } finally {
        invalidate(tenant.id);
      }
    };

  return {
    ...service,
    create: changing((tenant, context: RequestContext, input: CreateServerInput) => service.create(tenant, context, input)),
    update: changing((tenant, context: RequestContext, slug: string, input: UpdateServerInput) => service.update(tenant, context, slug, input)),
    remove: changing((tenant, context: RequestContext, slug: string, detach?: Parameters<ServerService['remove']>[3]) => service.remove(tenant, context, slug, detach)),
    listRuntime,
    forgetTenant: invalidate,
  };
}
