import type { Logger } from '../shared/logger.ts';
import { notFound } from '../shared/errors.ts';
import type { Tenant } from '../tenancy/index.ts';
import { refusedToolsOf, type RefusedTool, type ToolPinService } from './pinning/index.ts';
import { UpstreamError } from './remote/index.ts';
import type { ServerService } from './server.service.ts';
import type { SourcePool } from './source-pool.ts';
import { ToolError } from './tool-source.ts';

/** How long a check waits for a server to list its tools. */
export const CHECK_TIMEOUT_MS = 15_000;

/** What listing a server's tools, as an MCP client's listing would, found. */
export interface ServerCheck {
  /** `ok`: the server listed its tools; `unavailable`: it could not, and `error` says why. */
  state: 'ok' | 'unavailable';
  /** Tools MCP clients are offered now (none when unavailable). */
  tools: number;
  /** Changed tool definitions withheld until an admin approves them (remote and stdio servers). */
  awaitingApproval: number;
  durationMs: number;
  error?: string;
  /**
   * Listed tools withheld for a reason no approval fixes (a duplicate or bad
   * name, a definition that cannot be stored or is too large): how many, the
   * first ten with their reasons, and a sentence saying so.
   */
  withheld?: { count: number; tools: Pick<RefusedTool, 'name' | 'reason'>[]; summary: string } | undefined;
  /** A filesystem server's tenant area: what it holds and its quota. */
  storage?: { usedBytes: number; limitBytes: number } | undefined;
}

/** Withheld tools a status names; it counts the rest. */
const MAX_NAMED = 10;

/** `2 listed tools are withheld: "dup" (it is listed more than once by the upstream); …`, names quoted as JSON (no raw line breaks). */
function describeRefused(refused: RefusedTool[]): string {
  const named = refused.slice(0, MAX_NAMED).map(({ name, reason }) => `${JSON.stringify(name)} (${reason})`);
  const more = refused.length > MAX_NAMED ? `; and ${refused.length - MAX_NAMED} more` : '';
  const count = refused.length === 1 ? '1 listed tool is' : `${refused.length} listed tools are`;
  return `${count} withheld: ${named.join('; ')}${more}`;
}

/**
 * Checks one of a tenant's servers by listing its tools through the same
 * running source MCP requests use, then checking what the tools depend on:
 * remote and stdio servers are reached by the listing (connecting, or
 * starting the process, when needed), a database server connects, a GitHub
 * server's token is tried. A server of another tenant, or none, is not found.
 */
export async function checkServer(
  deps: { servers: ServerService; sources: SourcePool; pins: ToolPinService; logger: Logger; timeoutMs?: number },
  tenant: Tenant,
  slug: string,
): Promise<ServerCheck> {
  const runtime = (await deps.servers.listRuntime(tenant)).find((server) => server.slug === slug);
  if (!runtime) throw notFound('server');
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const awaitingApproval = (await deps.pins.list(tenant, slug)).filter((pin) => pin.status === 'pending').length;
  const timeoutMs = deps.timeoutMs ?? CHECK_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const source = await deps.sources.sourceFor(tenant, runtime);
    const tools = await source.listTools(signal);
    const status = await source.check?.(signal);
    const refused = refusedToolsOf(source);
    if (refused.length > 0) {
      deps.logger.warn({ serverId: runtime.id, withheld: refused.slice(0, MAX_NAMED) }, 'a server lists tools the gateway withholds');
    }
    return {
      state: 'ok',
      tools: tools.length,
      awaitingApproval,
      durationMs: elapsed(),
      ...(refused.length > 0 && {
        withheld: {
          count: refused.length,
          tools: refused.slice(0, MAX_NAMED).map(({ name, reason }) => ({ name, reason })),
          summary: describeRefused(refused),
        },
      }),
      ...(status?.storage && { storage: status.storage }),
    };
  } catch (error) {
    // However the source reports being stopped, the bound is what stopped it.
    const timedOut = signal.aborted;
    // Upstream and tool errors are written for the tenant; anything else stays in the log.
    const shown = error instanceof UpstreamError || error instanceof ToolError;
    if (!shown && !timedOut) deps.logger.warn({ err: error, serverId: runtime.id }, 'checking a server failed');
    const reason = timedOut
      ? `it did not answer within ${timeoutMs} ms`
      : shown
        ? error.message
        : 'it could not be started; the gateway log has the details';
    return { state: 'unavailable', tools: 0, awaitingApproval, durationMs: elapsed(), error: reason };
  }
}
