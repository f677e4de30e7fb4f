import { randomUUID } from 'node:crypto';
import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import pino from 'pino';
import { createPinnedSource } from '../../src/servers/pinning/index.ts';
import type { PinLimits } from '../../src/servers/pinning/pinned-source.ts';
import { createServersModule, type SourcePool, type ToolSource } from '../../src/servers/index.ts';
import { checkServer } from '../../src/servers/server-check.ts';
import { createInProcessChangeBus } from '../../src/shared/change-bus.ts';
import type { Db } from '../../src/shared/db.ts';
import { createTenancyModule, type RequestContext, type Tenant } from '../../src/tenancy/index.ts';
import { captureLog } from './captured-log.ts';

export const operator: RequestContext = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null };
export const signal = new AbortController().signal;
export const callContext = { signal, progress: async () => undefined };

/** A small, well-formed tool: what a hostile upstream lists beside its bad ones. */
export const ECHO: Tool = {
  name: 'echo',
  description: 'Echoes the message back.',
  inputSchema: { type: 'object', properties: { message: { type: 'string' } } },
};

export const names = (tools: Tool[]) => tools.map((t) => t.name).sort();
export const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('');

/**
 * A `remote` server of a fresh tenant whose upstream is an in-memory source
 * listing whatever `upstream.list()` returns at each listing (set it to change
 * the tools) and giving `upstream.instructions`, wrapped in pinning as the
 * gateway wraps it.
 */
export async function setupPinnedUpstream(db: Db, slug = 'up') {
  const tenancy = createTenancyModule({ db });
  const changes = createInProcessChangeBus(pino({ level: 'silent' }));
  const servers = createServersModule({
    db,
    logger: pino({ level: 'silent' }),
    secretKey: Buffer.alloc(32, 7),
    policy: { dataDir: '/nonexistent', fsRoots: [], allowPrivateNetworks: ['127.0.0.0/8'], stdioCommands: {} },
    changes,
  });
  const tenant: Tenant = await tenancy.tenants.create(operator, { slug: `hostile-${randomUUID().slice(0, 8)}` });
  const server = await servers.servers.create(tenant, operator, { slug, kind: 'remote', config: { url: 'http://127.0.0.1:9/mcp' } });
  const upstream = {
    list: (): Tool[] => [ECHO],
    /** Names of the tools the upstream ran, in order. */
    calls: [] as string[],
    /** What the upstream tells clients in its handshake; none unless set. */
    instructions: undefined as string | undefined,
  };
  const source: ToolSource & { instructions(signal: AbortSignal): Promise<string | undefined> } = {
    listTools: async () => upstream.list(),
    instructions: async () => upstream.instructions,
    callTool: async (name): Promise<CallToolResult> => {
      upstream.calls.push(name);
      return { content: [{ type: 'text', text: `ran ${name}` }] };
    },
    close: async () => undefined,
  };
  const pinned = (limits?: PinLimits) =>
    createPinnedSource({ source, db, tenantId: tenant.id, serverId: server.id, serverSlug: slug, auditContext: operator, ...(limits && { limits }) });
  const events = async (action: string) => (await tenancy.audit.list(tenant.id, { action, limit: 100 })).events;
  /** What `server status` reports for the server, checked through `through`; and what it logged. */
  async function status(through: ToolSource) {
    const log = captureLog();
    const check = await checkServer(
      { servers: servers.servers, sources: { sourceFor: async () => through } as unknown as SourcePool, pins: servers.pins, logger: log.logger },
      tenant,
      slug,
    );
    return { check, log: log.entries };
  }
  return { tenancy, servers, changes, tenant, server, upstream, pinned, events, status };
}
