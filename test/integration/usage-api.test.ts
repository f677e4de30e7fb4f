import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { composeModules, type Modules } from '../../src/compose.ts';
import { createApp, generateOperatorToken, listen, type RunningServer } from '../../src/gateway/index.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { createLogger } from '../../src/shared/logger.ts';
import type { Role, UsageRecordInput } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

interface UsageJson {
  groups: Array<Record<string, unknown> & { key: string | null }>;
  total: Record<string, unknown>;
}

function call(principal: UsageRecordInput['principal'], model: string, costUsd: string | null): UsageRecordInput {
  return {
    botId: null,
    conversationId: null,
    runId: randomUUID(),
    parentRunId: null,
    principal,
    model,
    inputTokens: 10,
    outputTokens: 2,
    cacheWriteTokens: 0,
    cacheReadTokens: 1,
    costUsd,
    stopReason: 'end_turn',
    error: null,
  };
}

describeEachDatabase('GET /api/v1/usage', (use) => {
  let modules: Modules;
  let server: RunningServer;
  const secrets: Partial<Record<Role | 'other tenant' | 'mcp only', string>> = {};
  const ids: { memberKey?: string; memberUser?: string; ownerKey?: string } = {};

  beforeAll(async () => {
    const { db } = use();
    const logger = createLogger({ level: 'silent' });
    modules = composeModules({ config: loadConfig({ DATA_DIR: '/tmp/botgate-usage-test' }), db, logger, secretKey: randomBytes(32) });
    const { tenancy } = modules;
    const tenant = await tenancy.tenants.create(operator, { slug: `usage-api-${randomUUID().slice(0, 8)}` });
    const other = await tenancy.tenants.create(operator, { slug: `usage-other-${randomUUID().slice(0, 8)}` });
    const owner = await tenancy.apiKeys.create(tenant.id, operator, { name: 'owner', scopes: ['read'] });
    secrets.owner = owner.secret;
    ids.ownerKey = owner.id;
    secrets['mcp only'] = (await tenancy.apiKeys.create(tenant.id, operator, { name: 'mcp', scopes: ['mcp'] })).secret;
    for (const role of ['admin', 'member', 'auditor'] as const) {
      const { member } = await tenancy.members.add(tenant.id, operator, { email: `${role}-${randomUUID()}@example.com`, role });
      const key = await tenancy.apiKeys.create(tenant.id, operator, { name: role, scopes: ['read'], userId: member.userId });
      secrets[role] = key.secret;
      if (role === 'member') Object.assign(ids, { memberKey: key.id, memberUser: member.userId });
    }
    secrets['other tenant'] = (await tenancy.apiKeys.create(other.id, operator, { name: 'b', scopes: ['admin'] })).secret;

    await tenancy.usage.record(tenant.id, call({ type: 'api_key', id: ids.memberKey ?? '' }, 'claude-haiku-4-5', '0.0000201'));
    await tenancy.usage.record(tenant.id, call({ type: 'user', id: ids.memberUser ?? '' }, 'claude-haiku-4-5', '0.0000201'));
    await tenancy.usage.record(tenant.id, call({ type: 'api_key', id: ids.ownerKey }, 'claude-sonnet-4-5', '0.0000603'));
    await tenancy.usage.record(tenant.id, call({ type: 'api_key', id: ids.ownerKey }, 'claude-future-9', null));
    await tenancy.usage.record(other.id, call({ type: 'api_key', id: 'someone' }, 'claude-haiku-4-5', '99'));

    server = await listen(
      createApp({
        logger,
        tenancy,
        servers: modules.servers,
        bots: modules.bots,
        auditWriter: modules.auditWriter,
        version: 'test',
        bodyLimit: '1mb',
        allowedHostnames: undefined,
        isReady: () => Promise.resolve(true),
        changes: modules.changes,
        // No bots run here, so nothing calls back into the gateway.
        selfUrl: () => 'http://127.0.0.1:9',
        operator: { commands: modules.commands, token: generateOperatorToken() },
      }),
      { host: '127.0.0.1', port: 0 },
    );
  });

  afterAll(async () => {
    await server.close(1_000);
    await modules.close();
  });

  async function get(who: keyof typeof secrets, query: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${server.url}/api/v1/usage${query}`, {
      headers: { authorization: `Bearer ${secrets[who] ?? ''}` },
    });
    return { status: response.status, body: await response.json() };
  }

  it('sums the whole tenant for owner, admin and auditor, costs as exact decimal strings', async () => {
    for (const who of ['owner', 'admin', 'auditor'] as const) {
      const { status, body } = await get(who, '?group_by=model');
      expect(status).toBe(200);
      expect(body).toEqual({
        groups: [
          { key: 'claude-future-9', calls: 1, input_tokens: 10, output_tokens: 2, cache_write_tokens: 0, cache_read_tokens: 1, cost_usd: '0', unpriced_calls: 1 },
          { key: 'claude-haiku-4-5', calls: 2, input_tokens: 20, output_tokens: 4, cache_write_tokens: 0, cache_read_tokens: 2, cost_usd: '0.0000402', unpriced_calls: 0 },
          { key: 'claude-sonnet-4-5', calls: 1, input_tokens: 10, output_tokens: 2, cache_write_tokens: 0, cache_read_tokens: 1, cost_usd: '0.0000603', unpriced_calls: 0 },
        ],
        total: { calls: 4, input_tokens: 40, output_tokens: 8, cache_write_tokens: 0, cache_read_tokens: 4, cost_usd: '0.0001005', unpriced_calls: 1 },
      });
    }
  });

  it('shows a member only the calls made with its own key or as itself', async () => {
    const { status, body } = await get('member', '?group_by=principal');
    expect(status).toBe(200);
    const usage = body as UsageJson;
    // Groups come ordered by key: `api_key:` sorts before `user:`.
    expect(usage.groups.map((g) => g.key)).toEqual([`api_key:${ids.memberKey}`, `user:${ids.memberUser}`]);
    expect(usage.total).toMatchObject({ calls: 2, cost_usd: '0.0000402', unpriced_calls: 0 });
  });

  it("never shows another tenant's usage", async () => {
    const { status, body } = await get('other tenant', '?group_by=bot');
    expect(status).toBe(200);
    expect(body).toEqual({
      groups: [{ key: null, calls: 1, input_tokens: 10, output_tokens: 2, cache_write_tokens: 0, cache_read_tokens: 1, cost_usd: '99', unpriced_calls: 0 }],
      total: { calls: 1, input_tokens: 10, output_tokens: 2, cache_write_tokens: 0, cache_read_tokens: 1, cost_usd: '99', unpriced_calls: 0 },
    });
  });

  it('filters by time window', async () => {
    const future = await get('owner', '?group_by=day&since=2999-01-01T00:00:00Z');
    expect(future.body).toMatchObject({ groups: [], total: { calls: 0, cost_usd: '0' } });
    const past = await get('owner', '?group_by=day&until=2000-01-01T00:00:00Z');
    expect(past.body).toMatchObject({ groups: [], total: { calls: 0 } });
  });

  it.each([
    ['no group_by', '', /^group_by: /],
    ['an unknown group_by', '?group_by=tenant', /^group_by: /],
    ['a bad since', '?group_by=day&since=yesterday', /^since: /],
    ['until before since', '?group_by=day&since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z', /^until: must be later than since/],
    ['an unknown parameter', '?group_by=day&tenant=x', /^query: unknown field\(s\): tenant/],
  ])('refuses %s with 400 naming the field', async (_why, query, message) => {
    const { status, body } = await get('owner', query);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { code: 'validation_failed', message: expect.stringMatching(message) } });
  });

  it('refuses a key without the read scope', async () => {
    const { status, body } = await get('mcp only', '?group_by=day');
    expect(status).toBe(403);
    expect(body).toMatchObject({ error: { code: 'forbidden' } });
  });
});
