import type { ChangeBus } from '../shared/change-bus.ts';
import type { Db } from '../shared/db.ts';
import type { Logger } from '../shared/logger.ts';
import type { Tenant } from '../tenancy/index.ts';
import { createServerService, type SecretKeySource, type ServerService } from './server.service.ts';
import { createToolPinService, type ToolPinService } from './pinning/index.ts';
import { publishListsChanges, readListsChange } from './list-changes.ts';
import { createOutboundGuard } from './outbound.ts';
import type { ServerPolicy } from './policy.ts';
import { createSourceFactory, createTenantAreaQuotas } from './source-factory.ts';
import { cacheServerRuntimes } from './runtime-cache.ts';
import { createSourcePool, type SourcePool } from './source-pool.ts';
import { checkServer, type ServerCheck } from './server-check.ts';
import { createHeldCallRelay } from './remote/index.ts';
import { createTenantDirs, type TenantDirs } from './tenant-dirs.ts';

export interface ServersModule {
  servers: ServerService;
  sources: SourcePool;
  /** Pinned upstream tool definitions and their approval. */
  pins: ToolPinService;
  /** Lists a server's tools as MCP clients would and tries what they depend on: whether it works, and why not. */
  check(tenant: Tenant, slug: string): Promise<ServerCheck>;
  /**
   * Lets go of a deleted tenant: drops its cached server settings, closes its running sources
   * (stdio processes stopped), then removes its file area and stdio homes.
   */
  forgetTenant(tenantId: string): Promise<void>;
  /**
   * Settles, at start-up, tenants' directories that no node did when it should have: those of
   * tenants deleted meanwhile or before they were removed, and those from before owner records.
   */
  settleTenantDirs(listTenants: () => Promise<Tenant[]>): Promise<void>;
}

/**
 * A filesystem server's directories are made as soon as it is configured (server.service.ts), so
 * its tenant's area is claimed first: never made in what a deleted tenant of the same slug left.
 * A failed claim is logged, as a failure to make the directories is; the server's use claims again.
 */
function claimingFilesFirst(service: ServerService, dirs: TenantDirs, logger: Logger): ServerService {
  const claim = (tenant: Tenant) =>
    dirs.claim('files', tenant).catch((error: unknown) => logger.warn({ err: error, tenantId: tenant.id }, "claiming a tenant's file area failed"));
  return {
    ...service,
    async create(tenant, context, input) {
      if (input.kind === 'filesystem') await claim(tenant);
      return service.create(tenant, context, input);
    },
    async update(tenant, context, slug, input) {
      await claim(tenant);
      return service.update(tenant, context, slug, input);
    },
  };
}

/**
 * Tenants' configured servers and their running tool sources. Changes to what
 * a server lists (it was created, reconfigured or deleted; a tool was withheld
 * or approved) are published on `changes` once committed.
 */
export function createServersModule(deps: {
  db: Db;
  logger: Logger;
  secretKey: SecretKeySource;
  policy: ServerPolicy;
  changes: ChangeBus;
  /** Bytes one upstream message may hold; `DEFAULT_MAX_MESSAGE_BYTES` when absent. */
  upstreamMessageLimit?: number;
  /**
   * Whether other nodes share the database: a retry answering a remote
   * upstream's question is then passed to the node holding the call, and
   * tenants' file areas are counted against their quota in the database.
   */
  sharedDatabase?: boolean;
}): ServersModule {
  const withNotify = { ...deps, notifyToolsChanged: publishListsChanges(deps.changes) };
  // One connection pool for every source, checking each connection against the policy.
  const outbound = createOutboundGuard({
    allowPrivateNetworks: deps.policy.allowPrivateNetworks,
    ...(deps.upstreamMessageLimit !== undefined && { maxMessageBytes: deps.upstreamMessageLimit }),
  });
  const sharedDatabase = deps.sharedDatabase ?? false;
  const dirs = createTenantDirs({ ...deps, sharedDatabase });
  const quotas = createTenantAreaQuotas({ ...deps, sharedDatabase });
  const service = claimingFilesFirst(createServerService(withNotify), dirs, deps.logger);
  const servers = cacheServerRuntimes(service, deps.changes);
  const heldCalls = deps.sharedDatabase ? createHeldCallRelay(deps) : undefined;
  const sources = createSourcePool({ factory: createSourceFactory({ ...withNotify, outbound, heldCalls, sharedDatabase, dirs, quotas }), logger: deps.logger });
  // A source watched for resource updates serves no request that would notice its server changed: a change (on any node) retires it.
  deps.changes.subscribe((event) => {
    const tenantId = event.kind === 'resync' ? undefined : readListsChange(event)?.tenantId;
    if (event.kind !== 'resync' && tenantId === undefined) return;
    sources
      .retireChanged(tenantId, (tenant) => service.listRuntime(tenant))
      .catch((error: unknown) => deps.logger.warn({ err: error, tenantId }, 'retiring sources of changed servers failed'));
  });
  const pins = createToolPinService(withNotify);
  return {
    servers,
    sources,
    pins,
    check: (tenant, slug) => checkServer({ servers, sources, pins, logger: deps.logger }, tenant, slug),
    async forgetTenant(tenantId) {
      // The settings first: a request arriving meanwhile must not find them and reopen a source.
      servers.forgetTenant(tenantId);
      await sources.closeTenant(tenantId);
      quotas.forget(tenantId);
      // Only now: a process still running could write into its home again.
      await dirs.release(tenantId);
    },
    settleTenantDirs: (listTenants) => dirs.settle(listTenants),
  };
}

export { SERVER_KINDS, KIND_SCHEMAS, type ServerKind } from './kinds.ts';
export { checkOutboundUrl, isAddressAllowed, resolveFilesystemRoots, tenantArea, type ServerPolicy } from './policy.ts';
export type { SecretKeySource, ServerService, ServerInfo, ServerRuntime, CreateServerInput, UpdateServerInput } from './server.service.ts';
export type { SourceFactory, SourcePool } from './source-pool.ts';
export type { ServerCheck } from './server-check.ts';
export { RESERVED_SERVER_SLUG } from './server.service.ts';
export { ALL_LISTS, publishListsChanges, readListsChange, type ListKind, type ListsChange, type NotifyToolsChanged } from './list-changes.ts';
export type { DefinitionChange, ToolDefinition, ToolPinInfo, ToolPinService } from './pinning/index.ts';
export {
  errorResult,
  isUnavailableResult,
  isUnknownToolResult,
  textResult,
  ToolError,
  unavailableResult,
  UnknownToolError,
  type ToolCallContext,
  type AskingContext,
  type InputAnswers,
  type ToolCallOutcome,
  type ToolSource,
} from './tool-source.ts';
export { createToolRegistry, type BuiltinTool, type ToolHandler, type ToolRegistry } from './tool-registry.ts';
export type { RemoteSource, ResourceUpdate, ResourceWatchListener } from './remote/index.ts';
