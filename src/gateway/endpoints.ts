import type { BotsModule } from '../bots/index.ts';
import type { ServersModule } from '../servers/index.ts';
import { AppError } from '../shared/errors.ts';
import type { EndpointExists } from './oauth/index.ts';

/** Whether a tenant has the server or bot that one of its MCP endpoints serves. */
export function endpointExists({ servers, bots }: { servers: ServersModule; bots: BotsModule }): EndpointExists {
  return async (tenant, { kind, slug }) => {
    try {
      await (kind === 'servers' ? servers.servers.get(tenant, slug) : bots.bots.get(tenant, slug));
      return true;
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return false;
      throw error;
    }
  };
}
