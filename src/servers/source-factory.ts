import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../shared/db.ts';
import type { Logger } from '../shared/logger.ts';
import type { RequestContext, Tenant } from '../tenancy/index.ts';
import { createDatabaseLedger } from './area-use.repository.ts';
import { createDatabaseSource } from './database/index.ts';
import { createAreaQuotas, createFilesystemSource, type AreaQuotas } from './filesystem/index.ts';
import { createGithubSource } from './github/index.ts';
import type { KindConfig, KindSecrets } from './kinds.ts';
import type { ListKind, NotifyToolsChanged } from './list-changes.ts';
import type { OutboundGuard } from './outbound.ts';
import { createPinnedSource } from './pinning/index.ts';
import { DEFAULT_FS_QUOTA_BYTES, makesFilesystemRoot, resolveFilesystemRoots, shownFilesystemRoot, type ServerPolicy } from './policy.ts';
import { createRemoteSource, type HeldCallRelay } from './remote/index.ts';
import { createStdioSource } from './stdio/index.ts';
import type { ServerRuntime } from './server.service.ts';
import type { SourceFactory } from './source-pool.ts';
import { createTenantDirs, type TenantDirs } from './tenant-dirs.ts';
import { ToolError, type ToolCallOutcome, type ToolSource } from './tool-source.ts';

/** A source whose every call fails with the same message: for kinds this node cannot run. */
function unavailableSource(message: string): ToolSource {
  return {
    listTools: () => Promise.reject(new ToolError(message)),
    callTool: () => Promise.resolve({ content: [{ type: 'text', text: message }], isError: true }),
    close: () => Promise.resolve(),
  };
}

/**
 * Changes the gateway notices by itself, such as an upstream's changed tool
 * definition, are recorded under the operator's name: no request caused them.
 */
const GATEWAY_CONTEXT: RequestContext = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null };

/**
 * The quotas of tenants' file areas: every filesystem server of a tenant writes into the same
 * area, under the same quota; nodes sharing the database keep its use there, so that each counts
 * what the others wrote.
 */
export function createTenantAreaQuotas({ db, policy, sharedDatabase }: { db: Db; policy: ServerPolicy; sharedDatabase: boolean }): AreaQuotas {
  return createAreaQuotas({
    limitBytes: policy.fsQuotaBytes ?? DEFAULT_FS_QUOTA_BYTES,
    ...(sharedDatabase && { ledgerFor: (tenantId: string) => createDatabaseLedger(db, tenantId) }),
  });
}

/**
 * Builds the running source of each kind from its stored configuration and the
 * operator's policy. Upstream kinds (`remote`, `stdio`) have their tool
 * definitions pinned; built-in kinds are the gateway's own code. A tenant's
 * file area and stdio homes are used only once claimed for it (`dirs`).
 */
export function createSourceFactory({
  db,
  policy,
  logger,
  outbound,
  notifyToolsChanged,
  heldCalls,
  sharedDatabase = false,
  dirs = createTenantDirs({ db, policy, logger, sharedDatabase }),
  quotas = createTenantAreaQuotas({ db, policy, sharedDatabase }),
}: {
  db: Db;
  policy: ServerPolicy;
  logger: Logger;
  /** The connections of database, github and remote servers, under `policy.allowPrivateNetworks`. */
  outbound: OutboundGuard;
  /** Told when a pinned upstream's changed tool is withheld. */
  notifyToolsChanged?: NotifyToolsChanged;
  /** Retries of remote calls held on other nodes go through it; absent, only this node's are answered. */
  heldCalls?: HeldCallRelay | undefined;
  /** Whether other nodes share the database, and so may share the tenants' files. */
  sharedDatabase?: boolean;
  /** Who owns the tenants' directories; by default made here, from `policy`. */
  dirs?: TenantDirs;
  /** The quotas of the tenants' file areas; by default made here (`createTenantAreaQuotas`). */
  quotas?: AreaQuotas;
}): SourceFactory {
  // Which protocol era each upstream speaks, shared so reconnects skip the probe.
  const eraCache = new Map<string, unknown>();

  /** The quota of a tenant's area, by the area's real path, as the sandbox compares paths; the area is the tenant's first. */
  async function areaQuota(tenant: Tenant) {
    const area = await dirs.claim('files', tenant);
    await mkdir(area, { recursive: true });
    return quotas.forArea(await realpath(area), tenant.id);
  }

  const pinned = <S extends ToolSource<ToolCallOutcome>>(source: S, server: ServerRuntime, tenant: Tenant): S =>
    createPinnedSource({
      source,
      db,
      tenantId: tenant.id,
      serverId: server.id,
      serverSlug: server.slug,
      auditContext: GATEWAY_CONTEXT,
      ...(notifyToolsChanged && { notifyToolsChanged }),
    });

  return (server: ServerRuntime, tenant: Tenant) => {
    switch (server.kind) {
      case 'filesystem': {
        const config = server.config as KindConfig<'filesystem'>;
        const roots = resolveFilesystemRoots(policy, tenant.slug, server.slug, config.roots);
        return areaQuota(tenant).then((quota) =>
          createFilesystemSource({
            roots,
            shownAs: roots.map((root) => shownFilesystemRoot(policy, tenant.slug, root)),
            readOnly: config.readOnly,
            makesRoot: (root) => makesFilesystemRoot(policy, tenant.slug, root, config.readOnly),
            quota,
          }),
        );
      }
      case 'database': {
        const config = server.config as KindConfig<'database'>;
        const secrets = server.secrets as KindSecrets<'database'>;
        return createDatabaseSource({
          url: secrets.url,
          createSocket: outbound.createSocket,
          ...(config.rowLimit !== undefined && { rowLimit: config.rowLimit }),
          ...(config.statementTimeoutMs !== undefined && { statementTimeoutMs: config.statementTimeoutMs }),
          ...(config.ca !== undefined && { ca: config.ca }),
        });
      }
      case 'github': {
        const config = server.config as KindConfig<'github'>;
        const secrets = server.secrets as KindSecrets<'github'>;
        return createGithubSource({
          token: secrets.token,
          fetch: outbound.fetch,
          ...(config.owner !== undefined && { owner: config.owner }),
          ...(config.repo !== undefined && { repo: config.repo }),
          ...(config.baseUrl !== undefined && { baseUrl: config.baseUrl }),
          logger: logger.child({ serverId: server.id }),
        });
      }
      case 'remote': {
        const config = server.config as KindConfig<'remote'>;
        const secrets = server.secrets as KindSecrets<'remote'>;
        const remote = createRemoteSource({
          url: config.url,
          ...(config.headers !== undefined && { headers: config.headers }),
          ...(secrets.token !== undefined && { token: secrets.token }),
          ...(secrets.headers !== undefined && { secretHeaders: secrets.headers }),
          ...(config.timeoutMs !== undefined && { timeoutMs: config.timeoutMs }),
          outbound,
          eraCache,
          heldCalls: heldCalls?.link(tenant.id, server.id),
          logger: logger.child({ serverId: server.id }),
          // The upstream's own announcements reach this tenant's listeners, as the server's.
          ...(notifyToolsChanged && { onListsChanged: (lists: ListKind[]) => notifyToolsChanged(tenant.id, server.slug, lists) }),
          onWatchError: (error, uri) =>
            logger.warn({ err: error, serverId: server.id, uri }, uri ? 'subscribing to an upstream resource failed' : 'reconnecting for resource watches failed'),
        });
        return pinned(remote, server, tenant);
      }
      case 'stdio': {
        const config = server.config as KindConfig<'stdio'>;
        // The tenant only names a command; what runs is the operator's, and only while still allowed.
        const allowed = Object.hasOwn(policy.stdioCommands, config.command) ? policy.stdioCommands[config.command] : undefined;
        if (!allowed) {
          return unavailableSource(`the operator no longer allows the stdio command ${config.command} (server ${server.slug})`);
        }
        // A home of its own, so the child finds neither the gateway's dotfiles nor another server's state.
        return dirs.claim('stdio', tenant).then((homes) => {
          const home = path.resolve(homes, server.slug);
          const stdio = createStdioSource({
            command: allowed.command,
            args: allowed.args,
            env: { HOME: home },
            cwd: home,
            name: config.command,
            ...(config.timeoutMs !== undefined && { timeoutMs: config.timeoutMs }),
            maxMessageBytes: outbound.maxMessageBytes,
            logger: logger.child({ serverId: server.id, command: config.command }),
          });
          return pinned(stdio, server, tenant);
        });
      }
      default:
        return unavailableSource(`${String(server.kind)} servers are not supported by this gateway yet (server ${server.slug})`);
    }
  };
}
