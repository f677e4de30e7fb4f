import type { BotsModule } from '../bots/index.ts';
import { RESERVED_SERVER_SLUG, type ServersModule } from '../servers/index.ts';
import type { RequestContext, TenancyModule, Tenant } from '../tenancy/index.ts';

/*
 * Bots attach servers and bots by slug, and keys' tool restrictions name them by slug: a server
 * or bot created later with a deleted one's slug would inherit those references (a key restricted
 * to the old "files" would reach the new one). So deleting one takes every reference to it out in
 * the same transaction; once that commits, what this process keeps of those keys, and what every
 * node keeps of those bots, is dropped. The REST API and the operator's commands both delete
 * through these.
 */

type Modules = { tenancy: TenancyModule; servers: ServersModule; bots: BotsModule };

/** Deletes a server and takes it out of bots' attachments and keys' restrictions. */
export async function removeServer({ tenancy, servers, bots }: Modules, tenant: Tenant, context: RequestContext, slug: string): Promise<void> {
  let botsChanged = false;
  let keysChanged = false;
  try {
    await servers.servers.remove(tenant, context, slug, async (trx, removed) => {
      botsChanged = (await bots.bots.detachServer(trx, tenant, context, removed.slug)).length > 0;
      keysChanged = (await tenancy.apiKeys.detachToolSource(trx, tenant.id, context, { server: removed.slug })).length > 0;
    });
  } finally {
    // Also when the transaction failed after detaching: dropping what was cached is then merely early.
    if (keysChanged) tenancy.apiKeys.credentialsChanged(tenant.id);
    if (botsChanged) bots.bots.attachmentsChanged(tenant);
  }
}

/** Deletes a bot, which takes it out of other bots' attachments, and takes it out of keys' restrictions. */
export async function removeBot({ tenancy, bots }: Omit<Modules, 'servers'>, tenant: Tenant, context: RequestContext, slug: string): Promise<void> {
  let keysChanged = false;
  try {
    await bots.bots.remove(tenant, context, slug, async (trx, removed) => {
      // A key names a bot as a tool of the aggregate endpoint's `bot` namespace: `bot__{slug}`.
      const source = { server: RESERVED_SERVER_SLUG, tool: removed.slug };
      keysChanged = (await tenancy.apiKeys.detachToolSource(trx, tenant.id, context, source)).length > 0;
    });
  } finally {
    if (keysChanged) tenancy.apiKeys.credentialsChanged(tenant.id);
  }
}
