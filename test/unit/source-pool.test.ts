import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ServerRuntime, ToolSource } from '../../src/servers/index.ts';
import { createSourcePool } from '../../src/servers/source-pool.ts';
import type { Tenant } from '../../src/tenancy/index.ts';

const tenant = (id: string): Tenant => ({ id, slug: id, name: id, createdAt: new Date(0) });
const server = (id: string, version = '1') => ({ id, version }) as ServerRuntime;

/** A pool whose sources record their closing and say they are in use while `using` holds their id. */
function watchedPool(idleMs = 60_000) {
  const closed: string[] = [];
  const using = new Set<string>();
  const pool = createSourcePool({
    logger: pino({ level: 'silent' }),
    idleMs,
    factory: (s) => ({ close: async () => void closed.push(s.id), inUse: () => using.has(s.id) }) as unknown as ToolSource,
  });
  return { pool, closed, using };
}

describe('source pool', () => {
  it('closes the running sources of a deleted tenant only, and builds none for it again', async () => {
    const closed: string[] = [];
    let built = 0;
    const pool = createSourcePool({
      logger: pino({ level: 'silent' }),
      factory: (s) => {
        built += 1;
        return { close: async () => void closed.push(s.id) } as unknown as ToolSource;
      },
    });
    await pool.sourceFor(tenant('a'), server('a1'));
    await pool.sourceFor(tenant('a'), server('a2'));
    await pool.sourceFor(tenant('b'), server('b1'));

    await pool.closeTenant('a');

    expect(closed.sort()).toEqual(['a1', 'a2']);
    await pool.sourceFor(tenant('b'), server('b1'));
    expect(built).toBe(3);
    // A request that authenticated before the deletion landed finds the tenant gone, and nothing is opened.
    await expect(pool.sourceFor(tenant('a'), server('a1'))).rejects.toMatchObject({ code: 'not_found' });
    expect(built).toBe(3);
    await pool.close();
    expect(closed.sort()).toEqual(['a1', 'a2', 'b1']);
  });

  describe('sources in use between requests (watched resources)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('are not closed for idleness while in use, and are once they are not', async () => {
      vi.useFakeTimers();
      const { pool, closed, using } = watchedPool(1_000);
      await pool.sourceFor(tenant('a'), server('watched'));
      await pool.sourceFor(tenant('a'), server('idle'));
      using.add('watched');
      await vi.advanceTimersByTimeAsync(5_000);
      expect(closed).toEqual(['idle']);
      using.delete('watched');
      await vi.advanceTimersByTimeAsync(5_000);
      expect(closed).toEqual(['idle', 'watched']);
      await pool.close();
    });

    it('are closed when their server was reconfigured or deleted; others, and unchanged ones, are left alone', async () => {
      const { pool, closed, using } = watchedPool();
      for (const id of ['changed', 'deleted', 'same', 'idle-changed']) await pool.sourceFor(tenant('a'), server(id));
      await pool.sourceFor(tenant('b'), server('other-tenant'));
      for (const id of ['changed', 'deleted', 'same', 'other-tenant']) using.add(id);
      const reads: string[] = [];
      const current = async (t: Tenant) => {
        reads.push(t.id);
        return t.id === 'a' ? [server('changed', '2'), server('same'), server('idle-changed', '2')] : [];
      };

      await pool.retireChanged('a', current);

      expect(closed.sort()).toEqual(['changed', 'deleted']);
      expect(reads).toEqual(['a']);
      // Every tenant after lost change messages: b's source is gone from its servers too.
      await pool.retireChanged(undefined, current);
      expect(closed.sort()).toEqual(['changed', 'deleted', 'other-tenant']);
      await pool.close();
    });

    it('read nothing when no source of the tenant is in use', async () => {
      const { pool, closed } = watchedPool();
      await pool.sourceFor(tenant('a'), server('a1'));
      const current = vi.fn<(t: Tenant) => Promise<ServerRuntime[]>>(async () => []);
      await pool.retireChanged('a', current);
      expect(current).not.toHaveBeenCalled();
      expect(closed).toEqual([]);
      await pool.close();
    });
  });
});
