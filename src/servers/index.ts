import type { Db } from '../shared/db.ts';
import type { Logger } from '../shared/logger.ts';
import { createServerService, type ServerService } from './server.service.ts';
import type { ServerPolicy } from './policy.ts';
import { createSourceFactory } from './source-factory.ts';
import { createSourcePool, type SourcePool } from './source-pool.ts';

export interface ServersModule {
  servers: ServerService;
  sources: SourcePool;
}

/** Tenants' configured servers and their running tool sources. */
export function createServersModule(deps: {
  db: Db;
  logger: Logger;
  secretKey: Buffer;
  policy: ServerPolicy;
}): ServersModule {
  return {
    servers: createServerService(deps),
    sources: createSourcePool({ factory: createSourceFactory(deps), logger: deps.logger }),
  };
}

export { SERVER_KINDS, KIND_SCHEMAS, type ServerKind } from './kinds.ts';
export { checkOutboundUrl, resolveFilesystemRoots, tenantArea, type ServerPolicy } from './policy.ts';
export type { ServerService, ServerInfo, ServerRuntime, CreateServerInput, UpdateServerInput } from './server.service.ts';
export type { SourceFactory, SourcePool } from './source-pool.ts';
export {
  errorResult,
  textResult,
  ToolError,
  UnknownToolError,
  type ToolCallContext,
  type ToolSource,
} from './tool-source.ts';
export { createToolRegistry, type BuiltinTool, type ToolHandler, type ToolRegistry } from './tool-registry.ts';
