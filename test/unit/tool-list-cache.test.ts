import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ModelTool } from '../../src/bots/index.ts';
import { createToolListCache } from '../../src/gateway/bots/tool-list-cache.ts';
import { createInProcessChangeBus, type ChangeBus, type ChangeEvent } from '../../src/shared/change-bus.ts';
import { publishListsChanges } from '../../src/servers/index.ts';
import { publishTenantDeleted } from '../../src/tenancy/index.ts';

const TTL_MS = 60_000;
const tool = (name: string): ModelTool => ({ name, description: name, input_schema: { type: 'object' } });

/** A cache on its own bus and clock, and a loader counting its loads of the current upstream list. */
function setup() {
  const changes = createInProcessChangeBus(pino({ level: 'silent' }));
  let at = 0;
  const cache = createToolListCache({ changes, ttlMs: TTL_MS, now: () => at });
  const upstream = { tools: [tool('files__read_file')], loads: 0 };
  const load = async () => {
    upstream.loads += 1;
    return [...upstream.tools];
  };
  return { changes, cache, upstream, load, advance: (ms: number) => (at += ms) };
}

const names = (list: ModelTool[]) => list.map((t) => t.name);

describe('tool lists kept for bot runs', () => {
  it('keeps a list for its tenant and tool set until the cache hint runs out', async () => {
    const { cache, upstream, load, advance } = setup();
    expect(names(await cache.list('a', ['files'], load))).toEqual(['files__read_file']);
    upstream.tools.push(tool('files__write_file'));
    advance(TTL_MS - 1);
    expect(names(await cache.list('a', ['files'], load))).toEqual(['files__read_file']);
    expect(upstream.loads).toBe(1);
    advance(1);
    expect(names(await cache.list('a', ['files'], load))).toEqual(['files__read_file', 'files__write_file']);
    expect(upstream.loads).toBe(2);
  });

  it('keeps apart tenants and the sets of tools a run may use, whatever their order', async () => {
    const { cache, upstream, load } = setup();
    await cache.list('a', ['files', 'bot__helper'], load);
    await cache.list('a', ['bot__helper', 'files'], load);
    expect(upstream.loads).toBe(1);
    await cache.list('a', ['files'], load);
    await cache.list('b', ['files', 'bot__helper'], load);
    expect(upstream.loads).toBe(3);
  });

  it("drops a tenant's lists when any of its lists changes, on this node or another, and no other tenant's", async () => {
    const { changes, cache, upstream, load } = setup();
    await cache.list('a', ['files'], load);
    await cache.list('b', ['files'], load);
    publishListsChanges(changes)('a', 'files', ['tools']);
    await cache.list('a', ['files'], load);
    await cache.list('b', ['files'], load);
    expect(upstream.loads).toBe(3);
  });

  it("drops a deleted tenant's lists", async () => {
    const { changes, cache, upstream, load } = setup();
    await cache.list('a', ['files'], load);
    await cache.list('b', ['files'], load);
    publishTenantDeleted(changes)('a');
    await cache.list('a', ['files'], load);
    await cache.list('b', ['files'], load);
    expect(upstream.loads).toBe(3);
  });

  it('drops every list when the bus says messages may have been missed (resync)', async () => {
    let deliver: (event: ChangeEvent) => void = () => undefined;
    const bus = { subscribe: (handler: (event: ChangeEvent) => void) => ((deliver = handler), () => undefined) } as unknown as ChangeBus;
    const cache = createToolListCache({ changes: bus, ttlMs: TTL_MS });
    let loads = 0;
    const load = async () => [tool(`files__v${++loads}`)];
    await cache.list('a', ['files'], load);
    await cache.list('b', ['files'], load);
    deliver({ kind: 'resync' });
    expect(names(await cache.list('a', ['files'], load))).toEqual(['files__v3']);
    expect(names(await cache.list('b', ['files'], load))).toEqual(['files__v4']);
  });

  it('does not keep a list that was loading while a change came', async () => {
    const { changes, cache, upstream } = setup();
    let release: () => void = () => undefined;
    const slow = () =>
      new Promise<ModelTool[]>((resolve) => {
        upstream.loads += 1;
        const before = [...upstream.tools];
        release = () => resolve(before);
      });
    const loading = cache.list('a', ['files'], slow);
    upstream.tools.push(tool('files__write_file'));
    publishListsChanges(changes)('a', 'files', ['tools']);
    release();
    expect(names(await loading)).toEqual(['files__read_file']);
    expect(names(await cache.list('a', ['files'], async () => [...upstream.tools]))).toEqual(['files__read_file', 'files__write_file']);
  });
});
