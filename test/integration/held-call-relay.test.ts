import { randomUUID } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/server';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { createServersModule, isUnavailableResult, unavailableResult } from '../../src/servers/index.ts';
import { createHeldCallRelay, HOLDER_LOST_MESSAGE, type RelayTiming, type ResumeHeldCall } from '../../src/servers/remote/held-call-relay.ts';
import { createInProcessChangeBus, type ChangeBus } from '../../src/shared/change-bus.ts';
import { createPostgresChangeBus } from '../../src/shared/postgres-change-bus.ts';
import { withTenant } from '../../src/shared/db.ts';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase, type TestDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const logger = pino({ level: 'silent' });
/** A call of the `confirm` tool by one API key. */
const CONFIRM = { tool: 'confirm', caller: 'api_key:alice' };
const FAST: RelayTiming = { claimWaitMs: 300, pollMs: 20, heartbeatMs: 40, holderLostMs: 400 };
const result = (text: string): CallToolResult => ({ content: [{ type: 'text', text }] });

/** Buses opened by `setup`, closed after each test. */
const buses: ChangeBus[] = [];

afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

/**
 * Two nodes' relays on one database, and a tenant with a remote server (another tenant's too).
 * On PostgreSQL each node has a bus of its own, so messages cross as NOTIFY; on PGlite, one process, they share one.
 */
async function setup({ db, url }: TestDatabase, timing: { holder?: RelayTiming; waiter?: RelayTiming } = {}) {
  const tenancy = createTenancyModule({ db });
  const busOf = async () => {
    if (!url) return (buses[0] ??= createInProcessChangeBus(logger));
    const bus = createPostgresChangeBus({ connectionString: url, db, logger });
    buses.push(bus);
    await bus.connect();
    return bus;
  };
  const [holderBus, waiterBus] = [await busOf(), await busOf()];
  const servers = createServersModule({
    db,
    logger,
    secretKey: Buffer.alloc(32, 7),
    policy: { dataDir: '/nonexistent', fsRoots: [], allowPrivateNetworks: ['127.0.0.0/8'], stdioCommands: {} },
    changes: waiterBus,
  });
  const create = async (prefix: string) => {
    const tenant = await tenancy.tenants.create(operator, { slug: `${prefix}-${randomUUID().slice(0, 8)}` });
    const server = await servers.servers.create(tenant, operator, { slug: 'upstream', kind: 'remote', config: { url: 'http://127.0.0.1:9/mcp' } });
    return { tenant, server };
  };
  const mine = await create('relay');
  const other = await create('relay-other');
  const holder = createHeldCallRelay({ db, changes: holderBus, logger, timing: timing.holder ?? FAST });
  const waiter = createHeldCallRelay({ db, changes: waiterBus, logger, timing: timing.waiter ?? FAST });
  return {
    tenants: { mine: mine.tenant.id, other: other.tenant.id },
    servers: { mine: mine.server.id, other: other.server.id },
    holding: holder.link(mine.tenant.id, mine.server.id),
    waiting: waiter.link(mine.tenant.id, mine.server.id),
    otherTenant: waiter.link(other.tenant.id, other.server.id),
  };
}

/** A held call that records what it was given and answers with `outcome`, or waits until its signal aborts. */
function heldCall(outcome?: CallToolResult) {
  const given: Array<Record<string, unknown>> = [];
  let stopped: unknown;
  const resume: ResumeHeldCall = (responses, signal) => {
    given.push(responses);
    if (outcome) return Promise.resolve(outcome);
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        stopped = signal.reason;
        resolve(result('stopped'));
      });
    });
  };
  return { given, resume, stopped: () => stopped };
}

const live = (signal = new AbortController().signal) => ({ signal, progress: () => Promise.resolve() });

describeEachDatabase('answers for a call held on another node', (use) => {
  it('reach the node holding the call, and what the call gives next comes back exactly, NUL characters and lone surrogates included', async () => {
    const { db } = use();
    const { holding, waiting } = await setup(use());
    const next = result('done \u0000 with \ud800 odd text');
    const call = heldCall(next);
    const release = holding.hold('state-1', CONFIRM, call.resume);

    const outcome = await waiting.forward('state-1', CONFIRM, { 'ask-1': { action: 'accept', content: { ok: true } } }, live());

    expect(outcome).toEqual(next);
    expect(call.given).toEqual([{ 'ask-1': { action: 'accept', content: { ok: true } } }]);
    expect(await countRows(db, 'held_call_answers')).toBe(0);
    release();
  });

  it('keep an upstream outage an outage across nodes, so that both trails count it as one', async () => {
    const { holding, waiting } = await setup(use());
    const down = heldCall(unavailableResult('upstream example.com unavailable: connection refused'));
    const releaseDown = holding.hold('state-down', CONFIRM, down.resume);
    const outage = await waiting.forward('state-down', CONFIRM, {}, live());
    expect(outage).toEqual(unavailableResult('upstream example.com unavailable: connection refused'));
    releaseDown();

    const refused = heldCall(result('the tool said no'));
    const releaseRefused = holding.hold('state-refused', CONFIRM, refused.resume);
    const answered = await waiting.forward('state-refused', CONFIRM, {}, live());
    expect(answered && isUnavailableResult(answered)).toBe(false);
    releaseRefused();
  });

  it('are refused when no node holds the state, the tool or caller differs, or the state is another tenant’s; the call still waits for its own', async () => {
    const { db } = use();
    const { holding, waiting, otherTenant } = await setup(use());
    const call = heldCall(result('answered'));
    holding.hold('state-2', CONFIRM, call.resume);

    const unknown = await waiting.forward('forged', CONFIRM, {}, live());
    const otherTool = await waiting.forward('state-2', { ...CONFIRM, tool: 'delete-everything' }, {}, live());
    const otherCaller = await waiting.forward('state-2', { ...CONFIRM, caller: 'api_key:mallory' }, { 'ask-1': { action: 'accept' } }, live());
    const stolen = await otherTenant.forward('state-2', CONFIRM, { 'ask-1': { action: 'accept' } }, live());

    expect([unknown, otherTool, otherCaller, stolen]).toEqual([undefined, undefined, undefined, undefined]);
    expect(call.given).toEqual([]);
    expect(await countRows(db, 'held_call_answers')).toBe(0);
    expect(await waiting.forward('state-2', CONFIRM, { 'ask-1': { action: 'decline' } }, live())).toEqual(result('answered'));
  });

  it('bring the held call’s progress to the client waiting on the other node', async () => {
    const { holding, waiting } = await setup(use());
    const long = 'x'.repeat(5_000);
    const heard: Array<[number, number | undefined, string | undefined]> = [];
    // Each notification is sent once the one before has arrived, and the outcome once both have: no timing assumed.
    const arrived = (count: number) => expect.poll(() => heard.length).toBe(count);
    holding.hold('state-6', CONFIRM, async (_responses, _signal, progress) => {
      await progress(1, 3, 'writing');
      await arrived(1);
      await progress(2, 3, long);
      await arrived(2);
      return result('written');
    });

    const outcome = await waiting.forward('state-6', CONFIRM, {}, {
      signal: new AbortController().signal,
      progress: async (progress, total, message) => void heard.push([progress, total, message]),
    });

    expect(outcome).toEqual(result('written'));
    expect(heard).toEqual([
      [1, 3, 'writing'],
      [2, 3, 'x'.repeat(1_000)],
    ]);
  });

  it('wait in a row only their tenant sees, which keeps the state as its digest', async () => {
    const { db } = use();
    const { tenants, waiting } = await setup(use());

    const forwarded = waiting.forward('secret-state', CONFIRM, { 'ask-1': { action: 'accept' } }, live());
    const seen = (tenantId: string) => withTenant(db, tenantId, (trx) => trx.selectFrom('held_call_answers').selectAll().execute());
    await expect.poll(async () => (await seen(tenants.mine)).length).toBe(1);
    const [row] = await seen(tenants.mine);
    const seenByOther = await seen(tenants.other);

    expect(seenByOther).toEqual([]);
    expect(JSON.stringify(row)).not.toContain('secret-state');
    expect(row?.state_digest).toMatch(/^[0-9a-f]{64}$/);
    expect(await forwarded).toBeUndefined();
  });

  it('clear away rows a node left behind hours ago, in their tenant only', async () => {
    const { db } = use();
    const { tenants, servers, waiting } = await setup(use());
    const leftBehind = (tenant: 'mine' | 'other') => ({
      tenant_id: tenants[tenant],
      server_id: servers[tenant],
      state_digest: 'd',
      tool: 'confirm',
      responses: '{}',
      created_at: new Date(Date.now() - 3 * 60 * 60_000),
    });
    await db.insertInto('held_call_answers').values([leftBehind('mine'), leftBehind('other')]).execute();

    expect(await waiting.forward('no-such-state', CONFIRM, {}, live())).toBeUndefined();

    const rows = await db.selectFrom('held_call_answers').select('tenant_id').execute();
    expect(rows).toEqual([{ tenant_id: tenants.other }]);
    await db.deleteFrom('held_call_answers').execute();
  });

  it('are served once: a state whose call took answers is not answered again', async () => {
    const { holding, waiting } = await setup(use());
    const call = heldCall(result('first'));
    const release = holding.hold('state-3', CONFIRM, call.resume);

    expect(await waiting.forward('state-3', CONFIRM, {}, live())).toEqual(result('first'));
    expect(await waiting.forward('state-3', CONFIRM, {}, live())).toBeUndefined();
    release();
    expect(call.given).toHaveLength(1);
  });

  it('stop the call on the holding node when the waiting client goes away', async () => {
    const { db } = use();
    const { holding, waiting } = await setup(use());
    const call = heldCall();
    holding.hold('state-4', CONFIRM, call.resume);
    const client = new AbortController();

    const forwarded = waiting.forward('state-4', CONFIRM, {}, live(client.signal));
    await expect.poll(() => call.given.length).toBe(1);
    client.abort(new Error('client went away'));

    await expect(forwarded).rejects.toThrow('client went away');
    await expect.poll(() => (call.stopped() as Error | undefined)?.message).toBe('the client stopped waiting for the call');
    expect(await countRows(db, 'held_call_answers')).toBe(0);
  });

  it('give up on a holder that stops showing it is alive', async () => {
    // The holder claims, then never touches the row again: as a node that stopped.
    const { holding, waiting } = await setup(use(), { holder: { ...FAST, heartbeatMs: 60_000 } });
    const call = heldCall();
    holding.hold('state-5', CONFIRM, call.resume);

    const outcome = await waiting.forward('state-5', CONFIRM, {}, live());

    expect(outcome).toEqual({ content: [{ type: 'text', text: HOLDER_LOST_MESSAGE }], isError: true });
    expect(call.given).toHaveLength(1);
  });
});
