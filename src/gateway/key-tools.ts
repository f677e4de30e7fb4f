import { AppError } from '../shared/errors.ts';
import type { BotsModule } from '../bots/index.ts';
import { RESERVED_SERVER_SLUG, type ServersModule } from '../servers/index.ts';
import { namedToolSources, unknownToolSources, type KeyToolsCheck, type Tenant } from '../tenancy/index.ts';

/**
 * The check of a new key's tool restriction, for `apiKeys.create` to run in the transaction
 * inserting the key: it refuses entries naming a server or bot the tenant does not have, naming
 * each (a typo would otherwise make a key that quietly reaches nothing), and holds those named
 * until the key is committed, so that a deletion under way is waited for (and the entry refused)
 * or waits (and takes the entry out of the new key). The REST API and the operator's `key create`
 * both use it.
 */
export function toolSourcesCheck(tenant: Tenant, { servers, bots }: { servers: ServersModule; bots: BotsModule }): KeyToolsCheck {
  return async (trx, tools) => {
    // Bots are the tools of the aggregate endpoint's reserved `bot` namespace.
    const named = namedToolSources(tools, RESERVED_SERVER_SLUG);
    const foundServers = await servers.servers.holdExisting(trx, tenant, named.servers);
    const foundBots = await bots.bots.holdExisting(trx, tenant, named.bots);
    const unknown = unknownToolSources(tools, { servers: [...foundServers], bots: [...foundBots], botsNamespace: RESERVED_SERVER_SLUG });
    if (unknown.length > 0) {
      throw new AppError('validation_failed', `tools: no such server or bot in this tenant: ${unknown.join(', ')}`, { details: { field: 'tools' } });
    }
  };
}
