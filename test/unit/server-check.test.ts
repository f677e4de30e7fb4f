import { describe, expect, it, vi } from 'vitest';
import type { ServerService, SourcePool, ToolPinService } from '../../src/servers/index.ts';
import { checkServer } from '../../src/servers/server-check.ts';
import { ToolError, type ToolSource } from '../../src/servers/tool-source.ts';
import { createLogger } from '../../src/shared/logger.ts';
import type { Tenant } from '../../src/tenancy/index.ts';

const TENANT = { id: 't1', slug: 'acme' } as Tenant;
const RUNTIME = { id: 's1', slug: 'db', kind: 'database' as const, config: {}, secrets: {}, version: 'v1' };
const TOOL = { name: 'query', inputSchema: { type: 'object' as const } };

/** The module's parts `checkServer` uses, around one server whose running source is `source`. */
function depsWith(source: ToolSource) {
  return {
    servers: { listRuntime: async () => [RUNTIME] } as unknown as ServerService,
    sources: { sourceFor: async () => source } as unknown as SourcePool,
    pins: { list: async () => [] } as unknown as ToolPinService,
    logger: createLogger({ level: 'silent' }),
  };
}

const source = (overrides: Partial<ToolSource>): ToolSource => ({
  listTools: async () => [TOOL],
  callTool: async () => ({ content: [] }),
  close: async () => {},
  ...overrides,
});

describe('checkServer', () => {
  it('is ok when the tools list and what they depend on answers', async () => {
    const check = vi.fn<(signal: AbortSignal) => Promise<void>>(async () => {});
    expect(await checkServer(depsWith(source({ check })), TENANT, 'db')).toMatchObject({ state: 'ok', tools: 1, awaitingApproval: 0 });
    expect(check).toHaveBeenCalledOnce();
  });

  it('gives the reason a source states, and hides any other failure', async () => {
    const refused = source({ check: async () => Promise.reject(new ToolError('Could not reach the database: connect ECONNREFUSED')) });
    const broken = source({ listTools: async () => Promise.reject(new Error('internal detail at /srv/botgate/x.ts:12')) });

    expect(await checkServer(depsWith(refused), TENANT, 'db')).toMatchObject({
      state: 'unavailable',
      tools: 0,
      error: 'Could not reach the database: connect ECONNREFUSED',
    });
    expect((await checkServer(depsWith(broken), TENANT, 'db')).error).toBe('it could not be started; the gateway log has the details');
  });

  it('stops at its bound however the source reports being stopped', async () => {
    // A source that, stopped, fails with an error of its own rather than the signal's reason.
    const slow = source({
      check: (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('socket closed')))),
    });
    const checked = await checkServer({ ...depsWith(slow), timeoutMs: 50 }, TENANT, 'db');

    expect(checked).toMatchObject({ state: 'unavailable', error: 'it did not answer within 50 ms' });
  });

  it('does not find a server the tenant does not have', async () => {
    await expect(checkServer(depsWith(source({})), TENANT, 'other')).rejects.toMatchObject({ code: 'not_found' });
  });
});
