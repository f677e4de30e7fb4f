import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ServerRuntime, ToolSource } from '../../src/servers/index.ts';
import { createSourcePool } from '../../src/servers/source-pool.ts';
import type { Tenant } from '../../src/tenancy/index.ts';

const tenant = (id: string): Tenant => ({ id, slug: id, name: id, createdAt: new Date(0) });
const server = (id: string) => ({ id, version: '1' }) as ServerRuntime;

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
});
