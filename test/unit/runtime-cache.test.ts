import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { publishListsChanges, type ServerRuntime, type ServerService } from '../../src/servers/index.ts';
import { cacheServerRuntimes } from '../../src/servers/runtime-cache.ts';
import { createInProcessChangeBus } from '../../src/shared/change-bus.ts';
import type { Tenant } from '../../src/tenancy/index.ts';

const tenant = (id: string): Tenant => ({ id, slug: `t-${id}`, name: id, createdAt: new Date(0) });
const A = tenant('a');
const B = tenant('b');
const OPERATOR = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

/** A server service whose listRuntime answers from `servers` and counts its loads; loads can be held open. */
function fakeService() {
  const servers = new Map<string, string[]>([
    ['a', ['files']],
    ['b', ['gh']],
  ]);
  const state = { loads: 0, hold: undefined as Promise<void> | undefined };
  const listRuntime = async (t: Tenant): Promise<ServerRuntime[]> => {
    state.loads += 1;
    const slugs = [...(servers.get(t.id) ?? [])];
    await state.hold;
    return slugs.map((slug) => ({ slug }) as ServerRuntime);
  };
  const unused = () => Promise.reject(new Error('not used here'));
  const service = { listRuntime, list: unused, get: unused, create: async () => ({}), update: unused, remove: async () => undefined } as unknown as ServerService;
  return { service, servers, state };
}

const slugs = (runtimes: ServerRuntime[]) => runtimes.map((r) => r.slug);

describe("a tenant's cached server configuration", () => {
  const bus = () => createInProcessChangeBus(pino({ level: 'silent' }));

  it('is read once, then served from memory per tenant', async () => {
    const { service, state } = fakeService();
    const cached = cacheServerRuntimes(service, bus());
    expect(slugs(await cached.listRuntime(A))).toEqual(['files']);
    expect(slugs(await cached.listRuntime(A))).toEqual(['files']);
    expect(slugs(await cached.listRuntime(B))).toEqual(['gh']);
    expect(state.loads).toBe(2);
  });

  it("is dropped when the bus says that tenant's servers changed, and only that tenant's", async () => {
    const { service, servers, state } = fakeService();
    const changes = bus();
    const cached = cacheServerRuntimes(service, changes);
    await cached.listRuntime(A);
    await cached.listRuntime(B);
    servers.set('a', ['files', 'db']);
    publishListsChanges(changes)('a', 'db');
    expect(slugs(await cached.listRuntime(A))).toEqual(['files', 'db']);
    await cached.listRuntime(B);
    expect(state.loads).toBe(3);
  });

  it('is dropped at once by a change made through the service on this node', async () => {
    const { service, servers } = fakeService();
    const cached = cacheServerRuntimes(service, bus());
    await cached.listRuntime(A);
    servers.set('a', []);
    await cached.remove(A, OPERATOR, 'files');
    expect(await cached.listRuntime(A)).toEqual([]);
  });

  it('does not keep a list that was being read when a change arrived', async () => {
    const { service, servers, state } = fakeService();
    const changes = bus();
    const cached = cacheServerRuntimes(service, changes);
    let release = () => {};
    state.hold = new Promise<void>((resolve) => (release = resolve));
    const inFlight = cached.listRuntime(A);
    servers.set('a', ['files', 'new']);
    publishListsChanges(changes)('a', 'new');
    state.hold = undefined;
    release();
    expect(slugs(await inFlight)).toEqual(['files']);
    expect(slugs(await cached.listRuntime(A))).toEqual(['files', 'new']);
  });

  it('is read again after its time to live even without a notification', async () => {
    const { service, state } = fakeService();
    let time = 0;
    const cached = cacheServerRuntimes(service, bus(), { ttlMs: 1000, now: () => time });
    await cached.listRuntime(A);
    time = 999;
    await cached.listRuntime(A);
    time = 1000;
    await cached.listRuntime(A);
    expect(state.loads).toBe(2);
  });
});
