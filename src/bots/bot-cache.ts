import type { ChangeBus } from '../shared/change-bus.ts';
import type { RequestContext, Tenant } from '../tenancy/index.ts';
import type { BotInfo, BotService, CreateBotInput, UpdateBotInput } from './bot.service.ts';

/** The bus topic of changes to a tenant's bots. */
export const BOTS_CHANGED_TOPIC = 'bots.changed';

type Loaded = { info: BotInfo; apiKey: string | null };

/** A `BotService` whose bots are kept in memory. */
export interface CachedBotService extends BotService {
  /** Drops the tenant's bots: it was deleted. */
  forgetTenant(tenantId: string): void;
}

/**
 * Keeps bots as runs read them (`forRun`, `get`) in memory, so asking a bot
 * costs no database read for its configuration. A change through this
 * service drops the tenant's entries at once here and, over the change bus,
 * on every node; an entry is never kept past `ttlMs` (a lost notification).
 */
export function cacheBots(service: BotService, changes: ChangeBus, options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}): CachedBotService {
  const ttlMs = options.ttlMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  // A load in flight is an entry too; a change drops it like any other.
  const entries = new Map<string, { tenantId: string; loaded: Promise<Loaded>; at: number }>();
  let subscribed = false;

  function dropTenant(tenantId: string) {
    for (const [key, entry] of entries) if (entry.tenantId === tenantId) entries.delete(key);
  }

  function subscribeOnce() {
    if (subscribed) return;
    subscribed = true;
    changes.subscribe((event) => {
      if (event.kind === 'resync') entries.clear();
      else if (event.topic === BOTS_CHANGED_TOPIC) dropTenant(event.payload.tenantId);
    });
  }

  function forRun(tenant: Tenant, slug: string): Promise<Loaded> {
    subscribeOnce();
    const key = `${tenant.id}/${slug}`;
    const cached = entries.get(key);
    if (cached && now() - cached.at < ttlMs) return cached.loaded;
    const loaded = service.forRun(tenant, slug);
    entries.delete(key);
    entries.set(key, { tenantId: tenant.id, loaded, at: now() });
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    // An unknown bot is not remembered: it may be created next.
    loaded.catch(() => {
      if (entries.get(key)?.loaded === loaded) entries.delete(key);
    });
    return loaded;
  }

  /** Runs a change, then drops the tenant's bots here and tells the other nodes. */
  async function changing<T>(tenant: Tenant, change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      dropTenant(tenant.id);
      changes.publish(BOTS_CHANGED_TOPIC, { tenantId: tenant.id });
    }
  }

  return {
    ...service,
    forRun,
    get: async (tenant, slug) => (await forRun(tenant, slug)).info,
    create: (tenant, context: RequestContext, input: CreateBotInput) => changing(tenant, () => service.create(tenant, context, input)),
    update: (tenant, context: RequestContext, slug: string, input: UpdateBotInput) => changing(tenant, () => service.update(tenant, context, slug, input)),
    remove: (tenant, context: RequestContext, slug: string, detach) => changing(tenant, () => service.remove(tenant, context, slug, detach)),
    attachmentsChanged(tenant) {
      service.attachmentsChanged(tenant);
      dropTenant(tenant.id);
      changes.publish(BOTS_CHANGED_TOPIC, { tenantId: tenant.id });
    },
    forgetTenant: dropTenant,
  };
}
