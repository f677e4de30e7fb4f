import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BOTS_CHANGED_TOPIC, cacheBots } from '../../src/bots/bot-cache.ts';
import type { BotInfo, BotService } from '../../src/bots/index.ts';
import { createInProcessChangeBus } from '../../src/shared/change-bus.ts';
import type { Tenant } from '../../src/tenancy/index.ts';

const tenant = (id: string): Tenant => ({ id, slug: `t-${id}`, name: id, createdAt: new Date(0) });
const A = tenant('a');
const B = tenant('b');
const OPERATOR = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

/** A bot service answering from `models` (slug → model) and counting its reads. */
function fakeBots() {
  const models = new Map<string, string>([['a/helper', 'claude-haiku-4-5'], ['b/helper', 'claude-sonnet-4-5']]);
  const state = { reads: 0 };
  const forRun = async (t: Tenant, slug: string) => {
    state.reads += 1;
    const model = models.get(`${t.id}/${slug}`);
    if (!model) throw new Error('bot not found');
    return { info: { slug, model } as BotInfo, apiKey: null };
  };
  const service = { forRun, update: async () => ({}) as BotInfo } as unknown as BotService;
  return { service, models, state };
}

describe('cached bots', () => {
  const bus = () => createInProcessChangeBus(pino({ level: 'silent' }));

  it('reads a bot once, per tenant, for runs and for get', async () => {
    const { service, state } = fakeBots();
    const bots = cacheBots(service, bus());
    expect((await bots.forRun(A, 'helper')).info.model).toBe('claude-haiku-4-5');
    expect((await bots.get(A, 'helper')).model).toBe('claude-haiku-4-5');
    expect((await bots.get(B, 'helper')).model).toBe('claude-sonnet-4-5');
    expect(state.reads).toBe(2);
  });

  it("drops a tenant's bots when one changes here or on another node, and keeps other tenants'", async () => {
    const { service, models, state } = fakeBots();
    const changes = bus();
    const bots = cacheBots(service, changes);
    await bots.get(A, 'helper');
    await bots.get(B, 'helper');
    models.set('a/helper', 'claude-opus-4-5');
    await bots.update(A, OPERATOR, 'helper', { model: 'claude-opus-4-5' });
    expect((await bots.get(A, 'helper')).model).toBe('claude-opus-4-5');
    models.set('a/helper', 'claude-sonnet-4-5');
    changes.publish(BOTS_CHANGED_TOPIC, { tenantId: 'a' });
    expect((await bots.get(A, 'helper')).model).toBe('claude-sonnet-4-5');
    await bots.get(B, 'helper');
    expect(state.reads).toBe(4);
  });

  it('does not remember a bot that was not found', async () => {
    const { service, models } = fakeBots();
    const bots = cacheBots(service, bus());
    await expect(bots.get(A, 'later')).rejects.toThrow('bot not found');
    models.set('a/later', 'claude-haiku-4-5');
    expect((await bots.get(A, 'later')).model).toBe('claude-haiku-4-5');
  });

  it('reads again after its time to live', async () => {
    const { service, state } = fakeBots();
    let time = 0;
    const bots = cacheBots(service, bus(), { ttlMs: 100, now: () => time });
    await bots.get(A, 'helper');
    time = 100;
    await bots.get(A, 'helper');
    expect(state.reads).toBe(2);
  });
});
