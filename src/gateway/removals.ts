import type { BotInfo, BotsModule } from '../bots/index.ts';
import { RESERVED_SERVER_SLUG, type ServersModule } from '../servers/index.ts';
import type { Tx } from '../shared/db.ts';
import type { ApiKeyInfo, RequestContext, TenancyModule, Tenant } from '../tenancy/index.ts';

/*
 * Bots attach servers and bots by slug, keys' tool restrictions name them by slug, and OAuth
 * approvals are given for their endpoints' URLs, which hold the slug: a server or bot created later
 * with a deleted one's slug would inherit those references (a key restricted to the old "files", or
 * a client approved for it, would reach the new one). So deleting one takes every reference to it
 * out in the same transaction; once that commits, what this process keeps of those keys, and what
 * every node keeps of those bots and tokens, is dropped. The REST API and the operator's commands both delete
 * through these. What keeps a bot or key naming one from being committed meanwhile is locked where
 * those are written: bot.service.ts (checkAttachments) and key-tools.ts.
 */

type Modules = { tenancy: TenancyModule; servers: ServersModule; bots: BotsModule };

/** What a deletion took the server or bot out of: the bots that attached it, the keys restricted to it, as changed. */
export interface Detached {
  bots: BotInfo[];
  keys: ApiKeyInfo[];
}

/** Withdraws the OAuth approvals given for an endpoint, in the deletion's transaction; true when there were some. */
async function revokeApprovals(tenancy: TenancyModule, trx: Tx, tenant: Tenant, context: RequestContext, endpoint: string): Promise<boolean> {
  return (await tenancy.oauth.consents.revokeForEndpoint(trx, tenant.id, context, `/t/${tenant.slug}/mcp/${endpoint}`)).length > 0;
}

/** Deletes a server and takes it out of bots' attachments and keys' restrictions. */
export async function removeServer({ tenancy, servers, bots }: Modules, tenant: Tenant, context: RequestContext, slug: string): Promise<Detached> {
  const detached: Detached = { bots: [], keys: [] };
  let revoked = false;
  try {
    await servers.servers.remove(tenant, context, slug, async (trx, removed) => {
      detached.bots = await bots.bots.detachServer(trx, tenant, context, removed.slug);
      detached.keys = await tenancy.apiKeys.detachToolSource(trx, tenant.id, context, { server: removed.slug });
      revoked = await revokeApprovals(tenancy, trx, tenant, context, `servers/${removed.slug}`);
    });
  } finally {
    // Also when the transaction failed after detaching: dropping what was cached is then merely early.
    if (detached.keys.length > 0) tenancy.apiKeys.credentialsChanged(tenant.id);
    if (revoked) tenancy.oauth.credentialsChanged(tenant.id);
    if (detached.bots.length > 0) bots.bots.attachmentsChanged(tenant);
  }
  return detached;
}

/** Deletes a bot, which takes it out of other bots' attachments, and takes it out of keys' restrictions. */
export async function removeBot({ tenancy, bots }: Omit<Modules, 'servers'>, tenant: Tenant, context: RequestContext, slug: string): Promise<Detached> {
  let keys: ApiKeyInfo[] = [];
  let revoked = false;
  try {
    const detachedBots = await bots.bots.remove(tenant, context, slug, async (trx, removed) => {
      // A key names a bot as a tool of the aggregate endpoint's `bot` namespace: `bot__{slug}`.
      const source = { server: RESERVED_SERVER_SLUG, tool: removed.slug };
      keys = await tenancy.apiKeys.detachToolSource(trx, tenant.id, context, source);
      revoked = await revokeApprovals(tenancy, trx, tenant, context, `bots/${removed.slug}`);
    });
    return { bots: detachedBots, keys };
  } finally {
    if (keys.length > 0) tenancy.apiKeys.credentialsChanged(tenant.id);
    if (revoked) tenancy.oauth.credentialsChanged(tenant.id);
  }
}
