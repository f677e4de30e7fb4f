import type { ModelTool } from '../../bots/index.ts';
import type { ChangeBus } from '../../shared/change-bus.ts';
import { readListsChange } from '../../servers/index.ts';
import { readTenantDeleted } from '../../tenancy/index.ts';

/** Lists kept at once; the oldest goes first past this. */
const MAX_ENTRIES = 1_000;

/**
 * The tool lists bot runs fetched through the gateway's own MCP endpoint,
 * kept as that endpoint's `tools/list` cache hint allows any client of it to
 * keep them (`ttlMs`, private: per tenant and per set of tools a run may use).
 * A tenant's lists go as soon as any of its lists changes, on any node (a
 * server or bot created, changed or deleted, a tool withheld or approved, an
 * upstream's own announcement), when the tenant is deleted, and all of them
 * when the change bus may have missed messages. Calls are not cached: each
 * goes through the endpoint, pinned and restricted as ever.
 */
export interface ToolListCache {
  /** The kept list for the tenant and tools, or `load`'s, kept unless a change came while it loaded. */
  list(tenantId: string, tools: readonly string[], load: () => Promise<ModelTool[]>): Promise<ModelTool[]>;
}

export function createToolListCache(options: { changes: ChangeBus; ttlMs: number; now?: () => number }): ToolListCache {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { tenantId: string; list: ModelTool[]; expiresAt: number }>();
  const keyOf = (tenantId: string, tools: readonly string[]) => `${tenantId} ${JSON.stringify([...tools].sort())}`;
  // Counts the changes heard, so that a list loaded across one is not kept.
  let changesHeard = 0;
  const dropTenant = (tenantId: string) => {
    changesHeard += 1;
    for (const [key, entry] of entries) if (entry.tenantId === tenantId) entries.delete(key);
  };

  options.changes.subscribe((event) => {
    if (event.kind === 'resync') {
      changesHeard += 1;
      return entries.clear();
    }
    const tenantId = readListsChange(event)?.tenantId ?? readTenantDeleted(event);
    if (tenantId !== undefined) dropTenant(tenantId);
  });

  return {
    async list(tenantId, tools, load) {
      const key = keyOf(tenantId, tools);
      const entry = entries.get(key);
      if (entry && entry.expiresAt > now()) return entry.list;
      entries.delete(key);
      const heardBefore = changesHeard;
      const list = await load();
      if (changesHeard === heardBefore) {
        entries.set(key, { tenantId, list, expiresAt: now() + options.ttlMs });
        if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
      }
      return list;
    },
  };
}
