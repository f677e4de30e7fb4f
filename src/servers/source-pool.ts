import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Tenant } from '../tenancy/index.ts';
import type { ServerRuntime } from './server.service.ts';
import type { ToolCallOutcome, ToolSource } from './tool-source.ts';

/** Builds the running source of one configured server. */
export type SourceFactory = (server: ServerRuntime, tenant: Tenant) => ToolSource<ToolCallOutcome> | Promise<ToolSource<ToolCallOutcome>>;

/** Running tool sources, kept while used and rebuilt when their configuration changes. */
export interface SourcePool {
  sourceFor(tenant: Tenant, server: ServerRuntime): Promise<ToolSource<ToolCallOutcome>>;
  /**
   * Closes the tenant's running sources (it was deleted) and builds none for it again: a request
   * that was already past authentication when the deletion landed gets 404, not a new connection.
   */
  closeTenant(tenantId: string): Promise<void>;
  /**
   * Closes sources in use (see `ToolSource.inUse`) whose server was since
   * reconfigured or deleted, of one tenant or (undefined) every tenant;
   * `current` reads a tenant's servers now. A source not in use needs no
   * such care: the next request for its server replaces it, or it idles out.
   */
  retireChanged(tenantId: string | undefined, current: (tenant: Tenant) => Promise<ServerRuntime[]>): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  tenant: Tenant;
  version: string;
  source: Promise<ToolSource<ToolCallOutcome>>;
  /** The source once built. */
  built?: ToolSource<ToolCallOutcome>;
  lastUsed: number;
}

/**
 * Sources hold connections (database pools, upstream clients), so they are
 * shared across requests, keyed by server id, and closed after `idleMs`
 * without use (a source watched for resource updates is in use) or when the
 * server's configuration version changes.
 */
export function createSourcePool({
  factory,
  logger,
  idleMs = 5 * 60_000,
}: {
  factory: SourceFactory;
  logger: Logger;
  idleMs?: number;
}): SourcePool {
  const entries = new Map<string, Entry>();
  // Deleted tenants, most recent last; ids are never reused, so a bounded memory of them suffices.
  const deleted = new Set<string>();
  const MAX_DELETED = 10_000;

  function retire(id: string, entry: Entry): Promise<void> {
    entries.delete(id);
    return entry.source
      .then((source) => source.close())
      .catch((error: unknown) => logger.warn({ err: error, serverId: id }, 'closing a tool source failed'));
  }

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [id, entry] of entries) {
      if (entry.built?.inUse?.()) entry.lastUsed = now;
      else if (now - entry.lastUsed > idleMs) void retire(id, entry);
    }
  }, Math.min(idleMs, 60_000));
  sweeper.unref();

  return {
    sourceFor(tenant, server) {
      if (deleted.has(tenant.id)) return Promise.reject(new AppError('not_found', 'tenant not found'));
      const current = entries.get(server.id);
      if (current && current.version === server.version) {
        current.lastUsed = Date.now();
        return current.source;
      }
      if (current) void retire(server.id, current);
      const source = Promise.resolve().then(() => factory(server, tenant));
      const entry: Entry = { tenant, version: server.version, source, lastUsed: Date.now() };
      entries.set(server.id, entry);
      // A source that failed to build is not kept: the next call tries again.
      source.then(
        (built) => (entry.built = built),
        () => {
          if (entries.get(server.id) === entry) entries.delete(server.id);
        },
      );
      return source;
    },

    async closeTenant(tenantId) {
      deleted.add(tenantId);
      if (deleted.size > MAX_DELETED) deleted.delete(deleted.values().next().value as string);
      const owned = [...entries].filter(([, entry]) => entry.tenant.id === tenantId);
      await Promise.all(owned.map(([id, entry]) => retire(id, entry)));
    },

    async retireChanged(tenantId, current) {
      const held = [...entries].filter(([, entry]) => (tenantId === undefined || entry.tenant.id === tenantId) && entry.built?.inUse?.());
      const tenants = new Map(held.map(([, entry]) => [entry.tenant.id, entry.tenant]));
      await Promise.all(
        [...tenants.values()].map(async (tenant) => {
          const versions = new Map((await current(tenant)).map((server) => [server.id, server.version]));
          const stale = held.filter(([id, entry]) => entry.tenant.id === tenant.id && versions.get(id) !== entry.version && entries.get(id) === entry);
          await Promise.all(stale.map(([id, entry]) => retire(id, entry)));
        }),
      );
    },

    async close() {
      clearInterval(sweeper);
      const all = [...entries.entries()];
      entries.clear();
      await Promise.allSettled(all.map(async ([, entry]) => (await entry.source).close()));
    },
  };
}
