import type { Logger } from '../shared/logger.ts';
import type { Tenant } from '../tenancy/index.ts';
import { createDatabaseSource } from './database/index.ts';
import { createFilesystemSource } from './filesystem/index.ts';
import { createGithubSource } from './github/index.ts';
import type { KindConfig, KindSecrets } from './kinds.ts';
import { resolveFilesystemRoots, type ServerPolicy } from './policy.ts';
import { createRemoteSource } from './remote/index.ts';
import type { ServerRuntime } from './server.service.ts';
import type { SourceFactory } from './source-pool.ts';
import { ToolError, type ToolSource } from './tool-source.ts';

/** A source whose every call fails with the same message: for kinds this node cannot run. */
function unavailableSource(message: string): ToolSource {
  return {
    listTools: () => Promise.reject(new ToolError(message)),
    callTool: () => Promise.resolve({ content: [{ type: 'text', text: message }], isError: true }),
    close: () => Promise.resolve(),
  };
}

/** Builds the running source of each kind from its stored configuration and the operator's policy. */
export function createSourceFactory({ policy, logger }: { policy: ServerPolicy; logger: Logger }): SourceFactory {
  // Which protocol era each upstream speaks, shared so reconnects skip the probe.
  const eraCache = new Map<string, unknown>();

  return (server: ServerRuntime, tenant: Tenant) => {
    switch (server.kind) {
      case 'filesystem': {
        const config = server.config as KindConfig<'filesystem'>;
        return createFilesystemSource({
          roots: resolveFilesystemRoots(policy, tenant.slug, server.slug, config.roots),
          readOnly: config.readOnly,
        });
      }
      case 'database': {
        const config = server.config as KindConfig<'database'>;
        const secrets = server.secrets as KindSecrets<'database'>;
        return createDatabaseSource({
          url: secrets.url,
          ...(config.rowLimit !== undefined && { rowLimit: config.rowLimit }),
          ...(config.statementTimeoutMs !== undefined && { statementTimeoutMs: config.statementTimeoutMs }),
        });
      }
      case 'github': {
        const config = server.config as KindConfig<'github'>;
        const secrets = server.secrets as KindSecrets<'github'>;
        return createGithubSource({
          token: secrets.token,
          ...(config.owner !== undefined && { owner: config.owner }),
          ...(config.repo !== undefined && { repo: config.repo }),
          ...(config.baseUrl !== undefined && { baseUrl: config.baseUrl }),
          logger: logger.child({ serverId: server.id }),
        });
      }
      case 'remote': {
        const config = server.config as KindConfig<'remote'>;
        const secrets = server.secrets as KindSecrets<'remote'>;
        return createRemoteSource({
          url: config.url,
          ...(config.headers !== undefined && { headers: config.headers }),
          ...(secrets.token !== undefined && { token: secrets.token }),
          ...(secrets.headers !== undefined && { secretHeaders: secrets.headers }),
          allowPrivateNetworks: policy.allowPrivateNetworks,
          eraCache,
        });
      }
      case 'stdio':
      default:
        return unavailableSource(`${server.kind} servers are not supported by this gateway yet (server ${server.slug})`);
    }
  };
}
