import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBotService, type BotService } from '../../src/bots/bot.service.ts';
import { loadPriceTable } from '../../src/bots/pricing/index.ts';
import { openSecret } from '../../src/shared/crypto.ts';
import type { Tenant } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { OPERATOR, openServerService, rawAuditEvents, type ServerServiceFixture } from '../support/server-service.ts';

const API_KEY = 'sk-ant-tenantKeyThatMustNeverBeShown-0123456789';
const NEW_API_KEY = 'sk-ant-rotatedTenantKeyNeverShown-9876543210';

const HELPER = {
  slug: 'helper',
  description: 'Answers questions about the docs folder. Ask it in plain English.',
  model: 'claude-haiku-4-5',
};

describeEachDatabase('bot service', (use) => {
  let fx: ServerServiceFixture;
  let bots: BotService;
  const secretKey = randomBytes(32);

  beforeAll(async () => {
    fx = await openServerService(use().db);
    bots = createBotService({ db: fx.db, secretKey, prices: () => loadPriceTable() });
  });
  afterAll(async () => {
    await fx?.close();
  });

  /** The stored row of a bot, read as the owning role. */
  async function rawBotRow(tenantId: string, slug: string) {
    const result = await sql<{ id: string; anthropic_api_key: string | null; servers: unknown; bots: unknown }>`
      select id, anthropic_api_key, servers, bots from bots where tenant_id = ${tenantId} and slug = ${slug}`.execute(fx.db);
    return result.rows[0];
  }

  /** Everything about a tenant's bots that a refused change must leave as it was. */
  async function botState(tenant: Tenant) {
    const rows = await sql<Record<string, unknown>>`select * from bots where tenant_id = ${tenant.id} order by slug`.execute(fx.db);
    return { bots: await bots.list(tenant), rows: rows.rows, audit: (await rawAuditEvents(fx.db, tenant.id)).length };
  }

  /** A tenant with a filesystem server `files` and a bot `helper`. */
  async function tenantWithHelper(prefix: string) {
    const tenant = await fx.newTenant(prefix);
    await fx.servers.create(tenant, OPERATOR, { slug: 'files', kind: 'filesystem' });
    const helper = await bots.create(tenant, OPERATOR, HELPER);
    return { tenant, helper };
  }

  it('creates, lists, reads, updates and deletes a bot', async () => {
    const { tenant, helper } = await tenantWithHelper('crud');
    expect(helper).toMatchObject({
      slug: 'helper',
      name: 'helper',
      model: 'claude-haiku-4-5',
      priced: true,
      systemPrompt: '',
      temperature: null,
      maxTokens: 4096,
      servers: [],
      bots: [],
      anthropicApiKey: null,
    });

    const lead = await bots.create(tenant, OPERATOR, {
      slug: 'lead',
      name: 'Team lead',
      description: 'Plans work and delegates to the helper bot.',
      model: 'claude-sonnet-4-5',
      systemPrompt: 'You are a careful planner.',
      temperature: 0.3,
      maxTokens: 2000,
      servers: [{ slug: 'files', tools: ['read_file', 'list_directory'] }],
      bots: ['helper'],
    });
    expect(lead).toMatchObject({
      name: 'Team lead',
      temperature: 0.3,
      maxTokens: 2000,
      servers: [{ slug: 'files', tools: ['read_file', 'list_directory'] }],
      bots: ['helper'],
    });
    expect(await bots.get(tenant, 'lead')).toEqual(lead);
    expect((await bots.list(tenant)).map((b) => b.slug)).toEqual(['helper', 'lead']);

    const updated = await bots.update(tenant, OPERATOR, 'lead', { temperature: null, servers: [{ slug: 'files' }], bots: [] });
    expect(updated).toMatchObject({ id: lead.id, name: 'Team lead', temperature: null, servers: [{ slug: 'files' }], bots: [] });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(lead.updatedAt.getTime());

    await bots.remove(tenant, OPERATOR, 'lead');
    await expect(bots.get(tenant, 'lead')).rejects.toMatchObject({ code: 'not_found', message: 'bot not found' });
    await expect(bots.remove(tenant, OPERATOR, 'lead')).rejects.toMatchObject({ code: 'not_found' });
    expect((await bots.list(tenant)).map((b) => b.slug)).toEqual(['helper']);
  });

  it('refuses bad input with an error naming the field, and changes nothing', async () => {
    const { tenant } = await tenantWithHelper('invalid');
    const before = await botState(tenant);
    const creates: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...HELPER, slug: 'Bad Slug' }, /^slug: /],
      [{ ...HELPER, slug: 'x', description: undefined }, /^description: required/],
      [{ ...HELPER, slug: 'x', description: '   ' }, /^description: must not be empty/],
      [{ ...HELPER, slug: 'x', description: 'd'.repeat(2001) }, /^description: /],
      [{ ...HELPER, slug: 'x', model: undefined }, /^model: required/],
      [{ ...HELPER, slug: 'x', model: '' }, /^model: /],
      [{ ...HELPER, slug: 'x', name: '' }, /^name: /],
      [{ ...HELPER, slug: 'x', name: 'n'.repeat(201) }, /^name: /],
      [{ ...HELPER, slug: 'x', systemPrompt: 's'.repeat(100_001) }, /^system_prompt: /],
      [{ ...HELPER, slug: 'x', temperature: 1.5 }, /^temperature: must be between 0 and 1/],
      [{ ...HELPER, slug: 'x', maxTokens: 0 }, /^max_tokens: /],
      [{ ...HELPER, slug: 'x', maxTokens: 64_001 }, /^max_tokens: /],
      [{ ...HELPER, slug: 'x', maxTokens: 1.5 }, /^max_tokens: /],
      [{ ...HELPER, slug: 'x', servers: 'files' }, /^servers: /],
      [{ ...HELPER, slug: 'x', servers: [{ slug: 'files', tools: ['read file'] }] }, /^servers\.0\.tools\.0: must be a tool name/],
      [{ ...HELPER, slug: 'x', servers: [{ slug: 'files', colour: 'red' }] }, /^servers\.0: unknown field\(s\): colour/],
      [{ ...HELPER, slug: 'x', servers: [{ slug: 'files' }, { slug: 'files' }] }, /^servers: must not attach a server twice/],
      [{ ...HELPER, slug: 'x', anthropicApiKey: '' }, /^anthropic_api_key: /],
    ];
    for (const [input, message] of creates) {
      await expect(bots.create(tenant, OPERATOR, input as never)).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringMatching(message) });
    }
    const updates: Array<[Record<string, unknown>, RegExp]> = [
      [{ description: '' }, /^description: /],
      [{ temperature: -0.1 }, /^temperature: /],
      [{ servers: [{ slug: 'files', tools: [''] }] }, /^servers\.0\.tools\.0: /],
    ];
    for (const [input, message] of updates) {
      await expect(bots.update(tenant, OPERATOR, 'helper', input)).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringMatching(message) });
    }
    expect(await botState(tenant)).toEqual(before);
  });

  it('refuses a bot attaching itself, on create and on update, and changes nothing', async () => {
    const { tenant } = await tenantWithHelper('self');
    const before = await botState(tenant);
    await expect(bots.create(tenant, OPERATOR, { ...HELPER, slug: 'narcissus', bots: ['helper', 'narcissus'] })).rejects.toMatchObject({
      code: 'validation_failed',
      message: 'bots.1: a bot cannot attach itself',
    });
    await expect(bots.update(tenant, OPERATOR, 'helper', { bots: ['helper'] })).rejects.toMatchObject({
      code: 'validation_failed',
      message: 'bots.0: a bot cannot attach itself',
    });
    expect(await botState(tenant)).toEqual(before);
  });

  it('refuses unknown servers and bots, including those of another tenant, and changes nothing', async () => {
    const { tenant } = await tenantWithHelper('unknown');
    const other = await tenantWithHelper('unknown-other');
    await fx.servers.create(other.tenant, OPERATOR, { slug: 'theirs', kind: 'filesystem' });
    await bots.create(other.tenant, OPERATOR, { ...HELPER, slug: 'their-bot' });
    const before = await botState(tenant);
    const attempts: Array<[() => Promise<unknown>, string]> = [
      [() => bots.create(tenant, OPERATOR, { ...HELPER, slug: 'x', servers: [{ slug: 'files' }, { slug: 'nope' }] }), 'servers.1.slug: no server "nope" in this tenant'],
      [() => bots.create(tenant, OPERATOR, { ...HELPER, slug: 'x', servers: [{ slug: 'theirs' }] }), 'servers.0.slug: no server "theirs" in this tenant'],
      [() => bots.create(tenant, OPERATOR, { ...HELPER, slug: 'x', bots: ['helper', 'ghost'] }), 'bots.1: no bot "ghost" in this tenant'],
      [() => bots.create(tenant, OPERATOR, { ...HELPER, slug: 'x', bots: ['their-bot'] }), 'bots.0: no bot "their-bot" in this tenant'],
      [() => bots.update(tenant, OPERATOR, 'helper', { servers: [{ slug: 'theirs' }] }), 'servers.0.slug: no server "theirs" in this tenant'],
    ];
    for (const [attempt, message] of attempts) {
      await expect(attempt()).rejects.toMatchObject({ code: 'validation_failed', message });
    }
    expect(await botState(tenant)).toEqual(before);
  });

  it('refuses a duplicate slug with conflict', async () => {
    const { tenant } = await tenantWithHelper('dup');
    const before = await botState(tenant);
    await expect(bots.create(tenant, OPERATOR, { ...HELPER, model: 'claude-sonnet-4-5' })).rejects.toMatchObject({
      code: 'conflict',
      message: 'a bot with slug "helper" already exists',
    });
    expect(await botState(tenant)).toEqual(before);
  });

  it('stores the Anthropic key sealed, shows it only as "set", and never audits it', async () => {
    const tenant = await fx.newTenant('key');
    const created = await bots.create(tenant, OPERATOR, { ...HELPER, anthropicApiKey: API_KEY });
    expect(created.anthropicApiKey).toBe('set');
    const row = await rawBotRow(tenant.id, 'helper');
    expect(row?.anthropic_api_key).toMatch(/^v1:[A-Za-z0-9+/=]+$/);
    expect(JSON.stringify(row)).not.toContain(API_KEY);
    // Bound to the tenant and the bot: it opens only in that context.
    expect(openSecret(secretKey, row?.anthropic_api_key ?? '', `bot:${tenant.id}:${created.id}`)).toBe(API_KEY);
    expect(() => openSecret(secretKey, row?.anthropic_api_key ?? '', `bot:${tenant.id}:00000000-0000-4000-8000-000000000000`)).toThrow(/unable to authenticate/);

    await bots.update(tenant, OPERATOR, 'helper', { name: 'Helper' });
    expect((await rawBotRow(tenant.id, 'helper'))?.anthropic_api_key).toBe(row?.anthropic_api_key);
    const rotated = await bots.update(tenant, OPERATOR, 'helper', { anthropicApiKey: NEW_API_KEY });
    expect(rotated.anthropicApiKey).toBe('set');
    const rotatedRow = await rawBotRow(tenant.id, 'helper');
    expect(openSecret(secretKey, rotatedRow?.anthropic_api_key ?? '', `bot:${tenant.id}:${created.id}`)).toBe(NEW_API_KEY);
    const removed = await bots.update(tenant, OPERATOR, 'helper', { anthropicApiKey: null });
    expect(removed.anthropicApiKey).toBeNull();
    expect((await rawBotRow(tenant.id, 'helper'))?.anthropic_api_key).toBeNull();
    await bots.remove(tenant, OPERATOR, 'helper');

    for (const shown of [created, rotated, await bots.list(tenant)]) {
      expect(JSON.stringify(shown)).not.toContain('sk-ant-');
    }
    const events = await rawAuditEvents(fx.db, tenant.id);
    expect(events.filter((e) => e.action.startsWith('bot.')).map((e) => [e.action, e.resource_id])).toEqual([
      ['bot.create', created.id],
      ['bot.update', created.id],
      ['bot.update', created.id],
      ['bot.update', created.id],
      ['bot.delete', created.id],
    ]);
    const stored = events.map((e) => e.json).join('\n');
    expect(stored).not.toContain('sk-ant-');
    expect(stored).toContain('"model": "claude-haiku-4-5"');

    const { events: listed } = await fx.tenancy.audit.list(tenant.id, { limit: 100, action: 'bot.create' });
    expect(listed).toEqual([expect.objectContaining({ actor: OPERATOR.actor, resourceType: 'bot', resourceId: created.id })]);
  });

  it('allows an unknown model but flags it as unpriced', async () => {
    const tenant = await fx.newTenant('unpriced');
    const bot = await bots.create(tenant, OPERATOR, { ...HELPER, model: 'claude-future-9' });
    expect(bot).toMatchObject({ model: 'claude-future-9', priced: false, suggestedModel: null });
    expect((await bots.list(tenant))[0]?.priced).toBe(false);
    expect(await bots.update(tenant, OPERATOR, 'helper', { model: 'claude-haiku-4.5' })).toMatchObject({ priced: false, suggestedModel: 'claude-haiku-4-5' });
    expect(await bots.update(tenant, OPERATOR, 'helper', { model: 'claude-sonnet-4-5-20250929' })).toMatchObject({ priced: true, suggestedModel: null });
  });

  it("answers not_found to another tenant, for its slugs as for missing ones, and leaves them unchanged", async () => {
    const { tenant: a } = await tenantWithHelper('iso-a');
    await bots.update(a, OPERATOR, 'helper', { anthropicApiKey: API_KEY });
    const b = await fx.newTenant('iso-b');
    const stateOfA = await botState(a);
    const stateOfB = await botState(b);
    const attempts = [
      () => bots.get(b, 'helper'),
      () => bots.update(b, OPERATOR, 'helper', { systemPrompt: 'Leak everything.' }),
      () => bots.update(b, OPERATOR, 'helper', { anthropicApiKey: 'sk-ant-attacker' }),
      () => bots.remove(b, OPERATOR, 'helper'),
      () => bots.get(b, 'nothing-here'),
      () => bots.get(b, '../helper'),
    ];
    for (const attempt of attempts) {
      await expect(attempt()).rejects.toMatchObject({ code: 'not_found', message: 'bot not found' });
    }
    expect(await bots.list(b)).toEqual([]);
    expect(await botState(a)).toEqual(stateOfA);
    expect(await botState(b)).toEqual(stateOfB);
  });
});
