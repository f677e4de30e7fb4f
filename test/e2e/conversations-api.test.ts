import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConversationInfo, NewMessage } from '../../src/bots/index.ts';
import { composeModules, type Modules } from '../../src/compose.ts';
import { createApp, generateOperatorToken, listen, type RunningServer } from '../../src/gateway/index.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { createLogger } from '../../src/shared/logger.ts';
import type { Actor, Tenant } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { apiClient, type ApiResponse, type ErrorBody } from '../support/http.ts';

const OPERATOR = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

interface ConversationJson {
  id: string;
  bot_id: string;
  title: string | null;
  principal: Actor;
  summary: string | null;
  summarized_through_seq: number | null;
  message_count: number;
  created_at: string;
  updated_at: string;
}

interface MessageJson {
  seq: number;
  role: 'user' | 'assistant';
  content: Array<Record<string, unknown>>;
  run_id: string | null;
  created_at: string;
}

interface ListJson {
  conversations: ConversationJson[];
  next_cursor: string | null;
}

type Who = 'owner' | 'reader' | 'admin' | 'member' | 'other member' | 'auditor' | 'mcp only' | 'other tenant';

function expectError(response: ApiResponse<unknown>, status: number, code: string): ErrorBody {
  const body = response.body as ErrorBody;
  expect({ status: response.status, code: body?.error?.code }).toEqual({ status, code });
  expect(body.requestId).toBe(response.requestId);
  return body;
}

const turn = (question: string, runId = randomUUID()): NewMessage[] => [
  { role: 'user', content: [{ type: 'text', text: question }], runId },
  { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'files__read_file', input: { path: 'a.md' } }], runId },
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'contents' }], runId },
  { role: 'assistant', content: [{ type: 'text', text: `About: ${question}` }], runId },
];

describeEachDatabase('REST API: conversations', (use) => {
  let modules: Modules;
  let server: RunningServer;
  let tenant: Tenant;
  const secrets = {} as Record<Who, string>;
  const principals = {} as Record<'owner' | 'memberKey' | 'memberUser' | 'otherMember', Actor>;
  const seeded = {} as Record<'owner' | 'memberByKey' | 'memberAsUser' | 'otherMember' | 'onOtherBot' | 'otherTenant', ConversationInfo>;
  let helperId: string;

  const client = (who: Who) => apiClient(server.url, secrets[who]);

  /** Every stored row of the tenant's conversations, read as the owning role. */
  async function rawState() {
    const { db } = use();
    const conversations = await sql`select * from conversations where tenant_id = ${tenant.id} order by id`.execute(db);
    const messages = await sql`select * from conversation_messages where tenant_id = ${tenant.id} order by conversation_id, seq`.execute(db);
    return { conversations: conversations.rows, messages: messages.rows };
  }

  beforeAll(async () => {
    const { db } = use();
    const logger = createLogger({ level: 'silent' });
    modules = composeModules({ config: loadConfig({ DATA_DIR: '/tmp/botgate-conversations-test' }), db, logger, secretKey: randomBytes(32) });
    const { tenancy, bots } = modules;
    tenant = await tenancy.tenants.create(OPERATOR, { slug: `conv-api-${randomUUID().slice(0, 8)}` });
    const other = await tenancy.tenants.create(OPERATOR, { slug: `conv-other-${randomUUID().slice(0, 8)}` });

    const owner = await tenancy.apiKeys.create(tenant.id, OPERATOR, { name: 'owner', scopes: ['admin'] });
    secrets.owner = owner.secret;
    principals.owner = { type: 'api_key', id: owner.id };
    secrets.reader = (await tenancy.apiKeys.create(tenant.id, OPERATOR, { name: 'reader', scopes: ['read'] })).secret;
    secrets['mcp only'] = (await tenancy.apiKeys.create(tenant.id, OPERATOR, { name: 'mcp', scopes: ['mcp'] })).secret;
    const roles = [
      ['admin', 'admin'],
      ['member', 'member'],
      ['other member', 'member'],
      ['auditor', 'auditor'],
    ] as const;
    for (const [who, role] of roles) {
      const { member } = await tenancy.members.add(tenant.id, OPERATOR, { email: `${role}-${randomUUID()}@example.com`, role });
      const key = await tenancy.apiKeys.create(tenant.id, OPERATOR, { name: who, scopes: ['read'], userId: member.userId });
      secrets[who] = key.secret;
      if (who === 'member') {
        principals.memberKey = { type: 'api_key', id: key.id };
        principals.memberUser = { type: 'user', id: member.userId };
      }
      if (who === 'other member') principals.otherMember = { type: 'api_key', id: key.id };
    }
    secrets['other tenant'] = (await tenancy.apiKeys.create(other.id, OPERATOR, { name: 'b', scopes: ['admin'] })).secret;

    const helper = await bots.bots.create(tenant, OPERATOR, { slug: 'helper', description: 'Helps.', model: 'claude-haiku-4-5' });
    helperId = helper.id;
    const otherBot = await bots.bots.create(tenant, OPERATOR, { slug: 'other', description: 'Other.', model: 'claude-haiku-4-5' });
    const foreignBot = await bots.bots.create(other, OPERATOR, { slug: 'helper', description: 'Theirs.', model: 'claude-haiku-4-5' });

    const start = async (t: Tenant, botId: string, principal: Actor, question: string) => {
      const conversation = await bots.conversations.create(t.id, { botId, principal });
      await bots.conversations.appendTurn(t.id, conversation.id, turn(question));
      return bots.conversations.get(t.id, conversation.id);
    };
    // Oldest first: the list shows them the other way round.
    seeded.owner = await start(tenant, helper.id, principals.owner, 'Owner question');
    seeded.memberByKey = await start(tenant, helper.id, principals.memberKey, 'Member question by key');
    seeded.memberAsUser = await start(tenant, helper.id, principals.memberUser, 'Member question as user');
    seeded.otherMember = await start(tenant, helper.id, principals.otherMember, 'Other member question');
    seeded.onOtherBot = await start(tenant, otherBot.id, principals.owner, 'Question for the other bot');
    seeded.otherTenant = await start(other, foreignBot.id, { type: 'api_key', id: randomUUID() }, 'Tenant B secret');

    server = await listen(
      createApp({
        logger,
        tenancy,
        servers: modules.servers,
        bots,
        auditWriter: modules.auditWriter,
        version: 'test',
        bodyLimit: '1mb',
        allowedHostnames: undefined,
        isReady: () => Promise.resolve(true),
        changes: modules.changes,
        // No bot runs here, so nothing calls back into the gateway.
        selfUrl: () => 'http://127.0.0.1:9',
        operator: { commands: modules.commands, token: generateOperatorToken() },
      }),
      { host: '127.0.0.1', port: 0 },
    );
  });

  afterAll(async () => {
    await server?.close(1_000);
    await modules?.close();
  });

  it('lists the whole tenant newest first for owner and admin, page by page', async () => {
    const newestFirst = [seeded.onOtherBot, seeded.otherMember, seeded.memberAsUser, seeded.memberByKey, seeded.owner].map((c) => c.id);
    for (const who of ['owner', 'reader', 'admin'] as const) {
      const all = await client(who).get<ListJson>('/api/v1/conversations');
      expect(all.status).toBe(200);
      expect(all.body.conversations.map((c) => c.id)).toEqual(newestFirst);
      expect(all.body.next_cursor).toBeNull();
    }

    const first = await client('owner').get<ListJson>('/api/v1/conversations?limit=2');
    expect(first.body.conversations.map((c) => c.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.body.conversations[0]).toEqual({
      id: seeded.onOtherBot.id,
      bot_id: seeded.onOtherBot.botId,
      title: 'Question for the other bot',
      principal: principals.owner,
      summary: null,
      summarized_through_seq: null,
      message_count: 4,
      created_at: seeded.onOtherBot.createdAt.toISOString(),
      updated_at: seeded.onOtherBot.updatedAt.toISOString(),
    });
    const second = await client('owner').get<ListJson>(`/api/v1/conversations?limit=2&cursor=${first.body.next_cursor ?? ''}`);
    expect(second.body.conversations.map((c) => c.id)).toEqual(newestFirst.slice(2, 4));
    const third = await client('owner').get<ListJson>(`/api/v1/conversations?limit=2&cursor=${second.body.next_cursor ?? ''}`);
    expect(third.body).toEqual({ conversations: [expect.objectContaining({ id: seeded.owner.id })], next_cursor: null });

    const helperOnly = await client('owner').get<ListJson>('/api/v1/conversations?bot=helper');
    expect(helperOnly.body.conversations.map((c) => c.id)).toEqual(newestFirst.slice(1));
    expect(helperOnly.body.conversations.every((c) => c.bot_id === helperId)).toBe(true);
  });

  it('shows a conversation with its messages', async () => {
    const response = await client('owner').get<{ conversation: ConversationJson & { messages: MessageJson[] } }>(
      `/api/v1/conversations/${seeded.owner.id}`,
    );
    expect(response.status).toBe(200);
    const messages = await modules.bots.conversations.messages(tenant.id, seeded.owner.id);
    expect(response.body.conversation).toEqual({
      id: seeded.owner.id,
      bot_id: helperId,
      title: 'Owner question',
      principal: principals.owner,
      summary: null,
      summarized_through_seq: null,
      message_count: 4,
      created_at: seeded.owner.createdAt.toISOString(),
      updated_at: seeded.owner.updatedAt.toISOString(),
      // Seeded without model calls: nothing metered yet.
      usage: { calls: 0, input_tokens: 0, output_tokens: 0, cache_write_tokens: 0, cache_read_tokens: 0, cost_usd: '0', unpriced_calls: 0 },
      messages: messages.map((m) => ({ seq: m.seq, role: m.role, content: m.content, run_id: m.runId, created_at: m.createdAt.toISOString() })),
    });
    expect(response.body.conversation.messages.map((m) => [m.seq, m.role])).toEqual([
      [1, 'user'],
      [2, 'assistant'],
      [3, 'user'],
      [4, 'assistant'],
    ]);
    expect(response.body.conversation.messages[1]?.content).toEqual([
      { type: 'tool_use', id: 'toolu_1', name: 'files__read_file', input: { path: 'a.md' } },
    ]);
  });

  it('shows a member only the conversations started with its own key or as itself', async () => {
    const own = [seeded.memberAsUser.id, seeded.memberByKey.id];
    const listed = await client('member').get<ListJson>('/api/v1/conversations');
    expect(listed.status).toBe(200);
    expect(listed.body.conversations.map((c) => c.id)).toEqual(own);
    for (const id of own) expect((await client('member').get(`/api/v1/conversations/${id}`)).status).toBe(200);

    for (const id of [seeded.owner.id, seeded.otherMember.id, seeded.onOtherBot.id]) {
      const refused = expectError(await client('member').get(`/api/v1/conversations/${id}`), 404, 'not_found');
      expect(refused.error.message).toBe('conversation not found');
    }
    const otherMember = await client('other member').get<ListJson>('/api/v1/conversations?bot=helper');
    expect(otherMember.body.conversations.map((c) => c.id)).toEqual([seeded.otherMember.id]);
  });

  it("answers 404 for another tenant's conversation and never lists it", async () => {
    const before = await rawState();
    for (const id of [seeded.owner.id, randomUUID(), 'not-a-uuid']) {
      const refused = expectError(await client('other tenant').get(`/api/v1/conversations/${id}`), 404, 'not_found');
      expect(refused.error.message).toBe('conversation not found');
    }
    const theirs = await client('other tenant').get<ListJson>('/api/v1/conversations');
    expect(theirs.body.conversations.map((c) => c.id)).toEqual([seeded.otherTenant.id]);
    // Nor is tenant B's conversation visible to tenant A.
    expectError(await client('owner').get(`/api/v1/conversations/${seeded.otherTenant.id}`), 404, 'not_found');
    // A's bot slug resolves in B's tenant only to B's own bot.
    const viaSlug = await client('other tenant').get<ListJson>('/api/v1/conversations?bot=helper');
    expect(viaSlug.body.conversations.map((c) => c.id)).toEqual([seeded.otherTenant.id]);
    expect(await rawState()).toEqual(before);
  });

  it('refuses the auditor and a key without the read scope', async () => {
    for (const path of ['/api/v1/conversations', `/api/v1/conversations/${seeded.owner.id}`]) {
      const auditor = expectError(await client('auditor').get(path), 403, 'forbidden');
      expect(auditor.error.message).toBe('the role "auditor" does not allow conversations:read');
      expectError(await client('mcp only').get(path), 403, 'forbidden');
      expectError(await apiClient(server.url).get(path), 401, 'unauthorized');
    }
  });

  it("answers 404 'bot not found' for an unknown bot", async () => {
    for (const bot of ['nope', 'Not%20A%20Slug']) {
      const refused = expectError(await client('owner').get(`/api/v1/conversations?bot=${bot}`), 404, 'not_found');
      expect(refused.error.message).toBe('bot not found');
    }
  });

  it.each([
    ['a zero limit', '?limit=0', /^limit: /],
    ['a limit over 200', '?limit=201', /^limit: /],
    ['a limit that is not a number', '?limit=ten', /^limit: /],
    ['a forged cursor', '?cursor=bm90LWEtY3Vyc29y', /^cursor: not a cursor this API returned$/],
    ['two bots', '?bot=helper&bot=other', /^bot: /],
    ['an unknown parameter', '?tenant=x', /^query: unknown field\(s\): tenant$/],
  ])('refuses %s with 400 naming the field', async (_why, query, message) => {
    const refused = expectError(await client('owner').get(`/api/v1/conversations${query}`), 400, 'validation_failed');
    expect(refused.error.message).toMatch(message);
  });
});
