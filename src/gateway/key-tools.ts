import { AppError } from '../shared/errors.ts';
import type { BotsModule } from '../bots/index.ts';
import { RESERVED_SERVER_SLUG, type ServersModule } from '../servers/index.ts';
import { unknownToolSources, type Tenant } from '../tenancy/index.ts';

/**
 * Refuses a key's tool restriction (null: none) that names a server or bot the
 * tenant does not have, naming each entry: a typo would otherwise make a key
 * that quietly reaches nothing. The REST API and the operator's `key create`
 * both check with this, before the key is made.
 */
export async function assertToolSourcesExist(
  tenant: Tenant,
  tools: readonly string[] | null,
  { servers, bots }: { servers: ServersModule; bots: BotsModule },
): Promise<void> {
  if (tools === null) return;
  // Bots are the tools of the aggregate endpoint's reserved `bot` namespace.
  const namesBots = tools.some((entry) => entry.startsWith(`${RESERVED_SERVER_SLUG}__`));
  const [serverList, botList] = await Promise.all([servers.servers.list(tenant), namesBots ? bots.bots.list(tenant) : []]);
  const unknown = unknownToolSources(tools, {
    servers: serverList.map((server) => server.slug),
    bots: botList.map((bot) => bot.slug),
    botsNamespace: RESERVED_SERVER_SLUG,
  });
  if (unknown.length > 0) {
    throw new AppError('validation_failed', `tools: no such server or bot in this tenant: ${unknown.join(', ')}`, { details: { field: 'tools' } });
  }
}
