import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { withTenant, type Db } from '../../src/shared/db.ts';
import { createTenancyModule, type TenancyModule, type UsageRecordInput } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

async function newTenant(tenancy: TenancyModule, prefix: string): Promise<string> {
  return (await tenancy.tenants.create(operator, { slug: `${prefix}-${randomUUID().slice(0, 8)}` })).id;
}

function call(overrides: Partial<UsageRecordInput> = {}): UsageRecordInput {
  return {
    botId: null,
    conversationId: null,
    runId: randomUUID(),
    parentRunId: null,
    principal: { type: 'api_key', id: 'key-1' },
    model: 'claude-haiku-4-5',
    inputTokens: 0,
    outputTokens: 0,
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
    costUsd: '0',
    stopReason: 'end_turn',
    error: null,
    ...overrides,
  };
}

/** Sets the stored time of records, as owner: the table is append-only for the application. */
async function setCreatedAt(db: Db, ids: string[], at: string): Promise<void> {
  for (const id of ids) await sql`update usage_records set created_at = ${at}::timestamptz where id = ${id}`.execute(db);
}

const zero = {
  calls: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheWriteTokens: 0,
  cacheReadTokens: 0,
  costUsd: '0',
  unpricedCalls: 0,
};

describeEachDatabase('usage records', (use) => {
  it('stores one record per call with every field, the cost exactly as given', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenantId = await newTenant(tenancy, 'usage-store');
    const [bot, conversation, run, parent] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];

    const id = await tenancy.usage.record(tenantId, {
      botId: bot,
      conversationId: conversation,
      runId: run,
      parentRunId: parent,
      principal: { type: 'user', id: 'user-7' },
      model: 'claude-sonnet-4-5',
      inputTokens: 1234,
      outputTokens: 567,
      cacheWriteTokens: 2000,
      cacheReadTokens: 10_000,
      costUsd: '0.022707',
      stopReason: null,
      error: 'overloaded_error: Overloaded',
    });

    const row = await db.selectFrom('usage_records').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      tenant_id: tenantId,
      bot_id: bot,
      conversation_id: conversation,
      run_id: run,
      parent_run_id: parent,
      principal_type: 'user',
      principal_id: 'user-7',
      model: 'claude-sonnet-4-5',
      input_tokens: 1234,
      output_tokens: 567,
      cache_write_tokens: 2000,
      cache_read_tokens: 10_000,
      priced: true,
      stop_reason: null,
      error: 'overloaded_error: Overloaded',
    });
    expect(String(row.cost_usd)).toBe('0.0227070000');
  });

  it('sums tokens and costs by model, bot, principal and day, counting unpriced calls apart', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenantId = await newTenant(tenancy, 'usage-sum');
    const bot = randomUUID();
    const day1 = [
      await tenancy.usage.record(tenantId, call({ botId: bot, inputTokens: 100, outputTokens: 10, costUsd: '0.00015' })),
      await tenancy.usage.record(
        tenantId,
        call({ botId: bot, model: 'claude-sonnet-4-5', cacheWriteTokens: 7, cacheReadTokens: 3, costUsd: '0.00002715' }),
      ),
    ];
    const day2 = [
      await tenancy.usage.record(
        tenantId,
        call({ model: 'claude-future-9', inputTokens: 5, outputTokens: 5, costUsd: null, principal: { type: 'user', id: 'u-2' } }),
      ),
      await tenancy.usage.record(tenantId, call({ inputTokens: 1, costUsd: '0.000001', principal: { type: 'operator', id: null } })),
    ];
    await setCreatedAt(db, day1, '2026-03-01T23:59:59Z');
    await setCreatedAt(db, day2, '2026-03-02T00:00:00Z');
    const summarize = (groupBy: 'day' | 'bot' | 'model' | 'principal') => tenancy.usage.summarize(tenantId, { groupBy });

    const byModel = await summarize('model');
    expect(byModel.groups).toEqual([
      { key: 'claude-future-9', calls: 1, inputTokens: 5, outputTokens: 5, cacheWriteTokens: 0, cacheReadTokens: 0, costUsd: '0', unpricedCalls: 1 },
      { key: 'claude-haiku-4-5', calls: 2, inputTokens: 101, outputTokens: 10, cacheWriteTokens: 0, cacheReadTokens: 0, costUsd: '0.000151', unpricedCalls: 0 },
      { key: 'claude-sonnet-4-5', calls: 1, inputTokens: 0, outputTokens: 0, cacheWriteTokens: 7, cacheReadTokens: 3, costUsd: '0.00002715', unpricedCalls: 0 },
    ]);
    expect(byModel.total).toEqual({
      calls: 4,
      inputTokens: 106,
      outputTokens: 15,
      cacheWriteTokens: 7,
      cacheReadTokens: 3,
      costUsd: '0.00017815',
      unpricedCalls: 1,
    });
    expect((await summarize('bot')).groups.map((g) => [g.key, g.calls, g.costUsd])).toEqual([
      [bot, 2, '0.00017715'],
      [null, 2, '0.000001'],
    ]);
    expect((await summarize('principal')).groups.map((g) => [g.key, g.calls, g.unpricedCalls])).toEqual([
      ['api_key:key-1', 2, 0],
      ['operator', 1, 0],
      ['user:u-2', 1, 1],
    ]);
    expect((await summarize('day')).groups.map((g) => [g.key, g.calls, g.costUsd])).toEqual([
      ['2026-03-01', 2, '0.00017715'],
      ['2026-03-02', 2, '0.000001'],
    ]);
  });

  it('adds a thousand tiny costs to exactly their sum', async () => {
    const tenancy = createTenancyModule({ db: use().db });
    const tenantId = await newTenant(tenancy, 'usage-exact');
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(
        Array.from({ length: 100 }, () => tenancy.usage.record(tenantId, call({ cacheReadTokens: 1, costUsd: '0.0000001' }))),
      );
    }
    // Thirty calls of 0.1 and 0.2: in floats 0.1 + 0.2 alone is 0.30000000000000004.
    for (let i = 0; i < 10; i += 1) {
      await tenancy.usage.record(tenantId, call({ model: 'other', costUsd: '0.1' }));
      await tenancy.usage.record(tenantId, call({ model: 'other', costUsd: '0.2' }));
    }

    const { groups, total } = await tenancy.usage.summarize(tenantId, { groupBy: 'model' });

    expect(groups.map((g) => [g.key, g.calls, g.cacheReadTokens, g.costUsd])).toEqual([
      ['claude-haiku-4-5', 1000, 1000, '0.0001'],
      ['other', 20, 0, '3'],
    ]);
    expect(total.costUsd).toBe('3.0001');
  });

  it('filters by time (since inclusive, until exclusive) and by principal', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenantId = await newTenant(tenancy, 'usage-filter');
    const mine = await tenancy.usage.record(tenantId, call({ principal: { type: 'api_key', id: 'mine' }, costUsd: '1' }));
    const asMe = await tenancy.usage.record(tenantId, call({ principal: { type: 'user', id: 'me' }, costUsd: '2' }));
    const theirs = await tenancy.usage.record(tenantId, call({ principal: { type: 'api_key', id: 'theirs' }, costUsd: '4' }));
    // Same id, other type: not the same principal.
    const lookalike = await tenancy.usage.record(tenantId, call({ principal: { type: 'user', id: 'mine' }, costUsd: '8' }));
    await setCreatedAt(db, [mine], '2026-01-01T00:00:00Z');
    await setCreatedAt(db, [asMe], '2026-01-02T00:00:00Z');
    await setCreatedAt(db, [theirs, lookalike], '2026-01-03T00:00:00Z');
    const cost = async (filter: { since?: string; until?: string; principals?: Array<{ type: 'api_key' | 'user'; id: string }> }) =>
      (
        await tenancy.usage.summarize(tenantId, {
          groupBy: 'day',
          since: filter.since === undefined ? undefined : new Date(filter.since),
          until: filter.until === undefined ? undefined : new Date(filter.until),
          principals: filter.principals,
        })
      ).total.costUsd;

    expect(await cost({})).toBe('15');
    expect(await cost({ since: '2026-01-02T00:00:00Z' })).toBe('14');
    expect(await cost({ until: '2026-01-02T00:00:00Z' })).toBe('1');
    expect(await cost({ since: '2026-01-02T00:00:00Z', until: '2026-01-03T00:00:00Z' })).toBe('2');
    expect(await cost({ principals: [{ type: 'api_key', id: 'mine' }, { type: 'user', id: 'me' }] })).toBe('3');
    expect(await cost({ principals: [{ type: 'api_key', id: 'nobody' }] })).toBe('0');
    expect(await cost({ principals: [] })).toBe('0');
  });

  it("never shows one tenant another tenant's usage, nor lets it write there", async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await newTenant(tenancy, 'usage-a');
    const b = await newTenant(tenancy, 'usage-b');
    const ofA = await tenancy.usage.record(a, call({ costUsd: '5', botId: randomUUID() }));
    const before = await countRows(db, 'usage_records');

    for (const groupBy of ['day', 'bot', 'model', 'principal'] as const) {
      expect(await tenancy.usage.summarize(b, { groupBy })).toEqual({ groups: [], total: zero });
    }
    expect(await withTenant(db, b, (trx) => trx.selectFrom('usage_records').select('id').execute())).toEqual([]);
    // Tenant B asks for A's rows by naming A: row-level security still confines it to B.
    const seenAsB = await withTenant(db, b, (trx) =>
      trx.selectFrom('usage_records').select('id').where('tenant_id', '=', a).execute(),
    );
    expect(seenAsB).toEqual([]);
    await expect(
      withTenant(db, b, (trx) =>
        trx
          .insertInto('usage_records')
          .values({ ...rowOf(a), cost_usd: '-100' })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    expect(await countRows(db, 'usage_records')).toBe(before);
    expect((await tenancy.usage.summarize(a, { groupBy: 'model' })).total.costUsd).toBe('5');
    expect(ofA).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is append-only for the application: updates and deletes are refused and change nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenantId = await newTenant(tenancy, 'usage-append');
    await tenancy.usage.record(tenantId, call({ costUsd: '0.5' }));
    const before = await countRows(db, 'usage_records');

    await expect(
      withTenant(db, tenantId, (trx) => trx.updateTable('usage_records').set({ cost_usd: '0' }).execute()),
    ).rejects.toThrow(/permission denied/);
    await expect(withTenant(db, tenantId, (trx) => trx.deleteFrom('usage_records').execute())).rejects.toThrow(
      /permission denied/,
    );

    expect(await countRows(db, 'usage_records')).toBe(before);
    expect((await tenancy.usage.summarize(tenantId, { groupBy: 'model' })).total.costUsd).toBe('0.5');
  });

  it('refuses a record whose cost does not say whether it is priced, or has negative tokens', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenantId = await newTenant(tenancy, 'usage-checks');
    const before = await countRows(db, 'usage_records');

    await expect(
      withTenant(db, tenantId, (trx) =>
        trx.insertInto('usage_records').values({ ...rowOf(tenantId), cost_usd: null, priced: true }).execute(),
      ),
    ).rejects.toThrow(/usage_records_priced_check/);
    await expect(tenancy.usage.record(tenantId, call({ inputTokens: -1 }))).rejects.toThrow(/check constraint/);

    expect(await countRows(db, 'usage_records')).toBe(before);
  });
});

function rowOf(tenantId: string) {
  return {
    tenant_id: tenantId,
    run_id: randomUUID(),
    principal_type: 'api_key',
    principal_id: 'k',
    model: 'claude-haiku-4-5',
    input_tokens: 0,
    output_tokens: 0,
    cache_write_tokens: 0,
    cache_read_tokens: 0,
    cost_usd: '0',
    priced: true,
  };
}
