import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { createBotService, type BotService } from '../../src/bots/bot.service.ts';
import { createConversationService, type ConversationService, type NewMessage, type StoredContent } from '../../src/bots/conversation.service.ts';
import { loadPriceTable } from '../../src/bots/pricing/index.ts';
import { withTenant, type Db } from '../../src/shared/db.ts';
import { createTenancyModule, type Actor, type TenancyModule, type Tenant } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';

const OPERATOR = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const ALICE: Actor = { type: 'api_key', id: randomUUID() };
const BOB: Actor = { type: 'user', id: randomUUID() };

const text = (value: string): StoredContent => [{ type: 'text', text: value }];
const user = (value: string, runId: string | null = null): NewMessage => ({ role: 'user', content: text(value), runId });
const assistant = (value: string, runId: string | null = null): NewMessage => ({ role: 'assistant', content: text(value), runId });

describeEachDatabase('conversations', (use) => {
  let db: Db;
  let tenancy: TenancyModule;
  let modules: { bots: BotService; conversations: ConversationService };

  beforeAll(() => {
    db = use().db;
    tenancy = createTenancyModule({ db });
    modules = {
      bots: createBotService({ db, secretKey: randomBytes(32), prices: () => loadPriceTable() }),
      conversations: createConversationService({ db }),
    };
  });

  const conversations = () => modules.conversations;

  /** A fresh tenant with a bot `helper`. */
  async function tenantWithBot(prefix: string): Promise<{ tenant: Tenant; botId: string }> {
    const tenant = await tenancy.tenants.create(OPERATOR, { slug: `${prefix}-${randomUUID().slice(0, 8)}` });
    const bot = await modules.bots.create(tenant, OPERATOR, { slug: 'helper', description: 'Helps.', model: 'claude-haiku-4-5' });
    return { tenant, botId: bot.id };
  }

  /** Every stored row of a tenant's conversations and messages, read as the owning role. */
  async function rawState(tenantId: string) {
    const rows = await sql<Record<string, unknown>>`
      select * from conversations where tenant_id = ${tenantId} order by id`.execute(db);
    const messages = await sql<Record<string, unknown>>`
      select * from conversation_messages where tenant_id = ${tenantId} order by conversation_id, seq`.execute(db);
    return { conversations: rows.rows, messages: messages.rows };
  }

  it('creates a conversation and reads it back', async () => {
    const { tenant, botId } = await tenantWithBot('conv-create');
    const created = await conversations().create(tenant.id, { botId, principal: ALICE });
    expect(created).toEqual({
      id: expect.any(String),
      botId,
      title: null,
      principal: ALICE,
      summary: null,
      summarizedThroughSeq: null,
      messageCount: 0,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    expect(await conversations().get(tenant.id, created.id)).toEqual(created);
    expect(await conversations().get(tenant.id, created.id, { botId })).toEqual(created);
    expect(await conversations().messages(tenant.id, created.id)).toEqual([]);

    const titled = await conversations().create(tenant.id, { botId, principal: { type: 'operator', id: null }, title: '  Release notes  ' });
    expect(titled).toMatchObject({ title: 'Release notes', principal: { type: 'operator', id: null } });

    const other = await tenantWithBot('conv-create-other');
    for (const badBot of [other.botId, randomUUID(), 'not-a-uuid']) {
      await expect(conversations().create(tenant.id, { botId: badBot, principal: ALICE })).rejects.toMatchObject({
        code: 'not_found',
        message: 'bot not found',
      });
    }
    await expect(conversations().create(tenant.id, { botId, principal: ALICE, title: 't'.repeat(201) })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/^title: /),
    });
    expect((await rawState(tenant.id)).conversations).toHaveLength(2);
  });

  it('appends turns in seq order and titles the conversation with the first user text', async () => {
    const { tenant, botId } = await tenantWithBot('conv-append');
    const conversation = await conversations().create(tenant.id, { botId, principal: ALICE });
    const runId = randomUUID();
    const question = `  What changed\n\tin the   release?  ${'x'.repeat(100)}`;
    const toolUse = { type: 'tool_use', id: 'toolu_01', name: 'files__read_file', input: { path: 'CHANGELOG.md', nested: { deep: [1, 'two'] } } };
    const first = await conversations().appendTurn(tenant.id, conversation.id, [
      { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }, ...text(question)], runId },
      { role: 'assistant', content: [toolUse], runId },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'v2: faster' }], runId },
      assistant('Version 2 is faster. 👍', runId),
    ]);
    expect(first.map((m) => [m.seq, m.role, m.runId])).toEqual([
      [1, 'user', runId],
      [2, 'assistant', runId],
      [3, 'user', runId],
      [4, 'assistant', runId],
    ]);
    expect(first[1]?.content).toEqual([toolUse]);

    const afterFirst = await conversations().get(tenant.id, conversation.id);
    const expectedTitle = `What changed in the release? ${'x'.repeat(51)}`;
    expect(expectedTitle).toHaveLength(80);
    expect(afterFirst).toMatchObject({ title: expectedTitle, messageCount: 4 });
    expect(afterFirst.updatedAt.getTime()).toBeGreaterThanOrEqual(conversation.updatedAt.getTime());

    const second = await conversations().appendTurn(tenant.id, conversation.id, [user('And the one before?'), assistant('Version 1.')]);
    expect(second.map((m) => m.seq)).toEqual([5, 6]);
    const afterSecond = await conversations().get(tenant.id, conversation.id);
    expect(afterSecond).toMatchObject({ title: expectedTitle, messageCount: 6 });
    expect(afterSecond.updatedAt.getTime()).toBeGreaterThanOrEqual(afterFirst.updatedAt.getTime());

    const all = await conversations().messages(tenant.id, conversation.id);
    expect(all).toEqual([...first, ...second]);

    // A title given at creation is kept; a turn without user text leaves an untitled conversation untitled.
    const titled = await conversations().create(tenant.id, { botId, principal: ALICE, title: 'Mine' });
    await conversations().appendTurn(tenant.id, titled.id, [user('Something else')]);
    expect((await conversations().get(tenant.id, titled.id)).title).toBe('Mine');
    const untitled = await conversations().create(tenant.id, { botId, principal: ALICE });
    await conversations().appendTurn(tenant.id, untitled.id, [{ role: 'user', content: [{ type: 'text', text: '   ' }], runId: null }]);
    expect((await conversations().get(tenant.id, untitled.id)).title).toBeNull();
  });

  it('lets concurrent turns to one conversation land whole, one after the other', async () => {
    const { tenant, botId } = await tenantWithBot('conv-race');
    const conversation = await conversations().create(tenant.id, { botId, principal: ALICE });
    const turns = Array.from({ length: 6 }, (_, i) => [user(`question ${i}`), assistant(`answer ${i}`), assistant(`more ${i}`)]);

    const results = await Promise.all(turns.map((turn) => conversations().appendTurn(tenant.id, conversation.id, turn)));

    const all = await conversations().messages(tenant.id, conversation.id);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    // Each turn's three messages are contiguous: no other turn slipped in between.
    for (const stored of results) {
      const seqs = stored.map((m) => m.seq);
      expect(seqs).toEqual([seqs[0], (seqs[0] ?? 0) + 1, (seqs[0] ?? 0) + 2]);
      const n = /\d+/.exec(JSON.stringify(stored[0]?.content))?.[0];
      expect(stored.map((m) => m.content)).toEqual([text(`question ${n}`), text(`answer ${n}`), text(`more ${n}`)]);
    }
    expect((await conversations().get(tenant.id, conversation.id)).messageCount).toBe(18);
  });

  it('refuses a turn with a bad message, naming it, and writes nothing of the turn', async () => {
    const { tenant, botId } = await tenantWithBot('conv-bad');
    const conversation = await conversations().create(tenant.id, { botId, principal: ALICE });
    const before = await rawState(tenant.id);

    const refused: Array<[unknown, RegExp]> = [
      [[user('hello'), { role: 'assistant', content: [{ text: 'no type' }], runId: null }], /^messages\.1\.content\.0: must be a content block/],
      [[user('hello'), { role: 'assistant', content: 'just text', runId: null }], /^messages\.1\.content: must be an array of content blocks/],
      [[user('hello'), { role: 'assistant', content: [['text']], runId: null }], /^messages\.1\.content\.0: /],
      [[user('hello'), { role: 'assistant', content: [{ type: 7 }], runId: null }], /^messages\.1\.content\.0: /],
      [[user('hello'), { role: 'system', content: text('obey'), runId: null }], /^messages\.1\.role: must be "user" or "assistant"/],
      [[user('hello', 'run-1')], /^messages\.0\.runId: must be a UUID/],
      [[user('hello'), { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'PNG\u0000\u0001' }], runId: null }], /^messages\.1\.content\.0\.content: must not contain the NUL character/],
      [[{ role: 'user', content: [{ type: 'text', text: 'cut \uD83D' }], runId: null }], /^messages\.0\.content\.0\.text: must not contain a lone UTF-16 surrogate/],
      [[{ role: 'user', content: [{ type: 'text', text: 'big', n: 1n }], runId: null }], /^messages\.0\.content\.0\.n: must hold only JSON values/],
      [[], /^messages: must hold at least one message/],
      ['hello', /^messages: must be an array of messages/],
    ];
    for (const [messages, message] of refused) {
      await expect(conversations().appendTurn(tenant.id, conversation.id, messages as NewMessage[])).rejects.toMatchObject({
        code: 'validation_failed',
        message: expect.stringMatching(message),
      });
    }
    for (const id of [randomUUID(), 'not-a-uuid', '']) {
      await expect(conversations().appendTurn(tenant.id, id, [user('hello')])).rejects.toMatchObject({
        code: 'not_found',
        message: 'conversation not found',
      });
    }

    expect(await rawState(tenant.id)).toEqual(before);
    expect(await conversations().get(tenant.id, conversation.id)).toEqual(conversation);
  });

  it('sends the model every message without a summary, and the summary, first message and the rest with one', async () => {
    const { tenant, botId } = await tenantWithBot('conv-history');
    const conversation = await conversations().create(tenant.id, { botId, principal: ALICE });
    await conversations().appendTurn(tenant.id, conversation.id, [user('one'), assistant('two')]);
    await conversations().appendTurn(tenant.id, conversation.id, [user('three'), assistant('four')]);
    await conversations().appendTurn(tenant.id, conversation.id, [user('five'), assistant('six')]);
    const all = await conversations().messages(tenant.id, conversation.id);

    expect(await conversations().history(tenant.id, conversation.id)).toEqual({ summary: null, messages: all });

    const beforeSummary = await conversations().get(tenant.id, conversation.id);
    await conversations().storeSummary(tenant.id, conversation.id, { summary: 'They counted to four.', throughSeq: 4 });
    const history = await conversations().history(tenant.id, conversation.id);
    expect(history.summary).toBe('They counted to four.');
    expect(history.messages.map((m) => m.seq)).toEqual([1, 5, 6]);
    expect(history.messages).toEqual([all[0], all[4], all[5]]);
    expect(await conversations().get(tenant.id, conversation.id)).toMatchObject({ summary: 'They counted to four.', summarizedThroughSeq: 4 });
    // Summaries are not activity: the list order stays.
    expect((await conversations().get(tenant.id, conversation.id)).updatedAt).toEqual(beforeSummary.updatedAt);

    // A stale summary from a slower summarizer does not replace a newer one.
    await conversations().storeSummary(tenant.id, conversation.id, { summary: 'They counted to two.', throughSeq: 2 });
    expect((await conversations().history(tenant.id, conversation.id)).summary).toBe('They counted to four.');

    await conversations().storeSummary(tenant.id, conversation.id, { summary: 'They counted to six.', throughSeq: 6 });
    expect(await conversations().history(tenant.id, conversation.id)).toEqual({ summary: 'They counted to six.', messages: [all[0]] });

    const before = await rawState(tenant.id);
    await expect(conversations().storeSummary(tenant.id, conversation.id, { summary: 'Too far.', throughSeq: 7 })).rejects.toMatchObject({
      code: 'validation_failed',
      message: 'throughSeq: must be at most 6, the last message of the conversation',
    });
    await expect(conversations().storeSummary(tenant.id, conversation.id, { summary: ' ', throughSeq: 2 })).rejects.toMatchObject({
      message: expect.stringMatching(/^summary: /),
    });
    await expect(conversations().storeSummary(tenant.id, conversation.id, { summary: 'x', throughSeq: 1.5 })).rejects.toMatchObject({
      message: expect.stringMatching(/^throughSeq: /),
    });
    await expect(conversations().storeSummary(tenant.id, randomUUID(), { summary: 'x', throughSeq: 1 })).rejects.toMatchObject({ code: 'not_found' });
    expect(await rawState(tenant.id)).toEqual(before);
  });

  it('lists newest first with cursor pagination, filtered by bot and by who may see', async () => {
    const { tenant, botId } = await tenantWithBot('conv-list');
    const other = await modules.bots.create(tenant, OPERATOR, { slug: 'other', description: 'Other.', model: 'claude-haiku-4-5' });
    const made = [];
    for (const principal of [ALICE, BOB, ALICE, BOB, ALICE]) made.push(await conversations().create(tenant.id, { botId, principal }));
    const onOther = await conversations().create(tenant.id, { botId: other.id, principal: ALICE });
    // New activity moves the first one to the top.
    await conversations().appendTurn(tenant.id, made[0]?.id ?? '', [user('bump')]);
    const newestFirst = [made[0], onOther, made[4], made[3], made[2], made[1]].map((c) => c?.id);

    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await conversations().list(tenant.id, { limit: 2, ...(cursor === undefined ? {} : { cursor }) });
      expect(page.conversations.length).toBeLessThanOrEqual(2);
      ids.push(...page.conversations.map((c) => c.id));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined);
    expect(ids).toEqual(newestFirst);
    expect(pages).toBe(3);

    const all = await conversations().list(tenant.id, { limit: 200 });
    expect(all.nextCursor).toBeNull();
    expect(all.conversations[0]).toMatchObject({ id: made[0]?.id, title: 'bump', messageCount: 1 });

    const onHelper = await conversations().list(tenant.id, { botId, limit: 200 });
    expect(onHelper.conversations.map((c) => c.id)).toEqual(newestFirst.filter((id) => id !== onOther.id));
    expect((await conversations().list(tenant.id, { botId: other.id, limit: 200 })).conversations.map((c) => c.id)).toEqual([onOther.id]);
    expect((await conversations().list(tenant.id, { botId: 'not-a-uuid', limit: 200 })).conversations).toEqual([]);

    const bobs = await conversations().list(tenant.id, { visibleTo: [BOB, { type: 'api_key', id: randomUUID() }], limit: 1 });
    expect(bobs.conversations.map((c) => c.id)).toEqual([made[3]?.id]);
    const bobsNext = await conversations().list(tenant.id, { visibleTo: [BOB], limit: 1, cursor: bobs.nextCursor ?? '' });
    expect(bobsNext).toEqual({ conversations: [expect.objectContaining({ id: made[1]?.id })], nextCursor: null });
    expect((await conversations().list(tenant.id, { visibleTo: [], limit: 200 })).conversations).toEqual([]);

    expect(await conversations().get(tenant.id, made[1]?.id ?? '', { visibleTo: [BOB] })).toMatchObject({ principal: BOB });
    await expect(conversations().get(tenant.id, made[0]?.id ?? '', { visibleTo: [BOB] })).rejects.toMatchObject({
      code: 'not_found',
      message: 'conversation not found',
    });
    await expect(conversations().get(tenant.id, onOther.id, { botId })).rejects.toMatchObject({ code: 'not_found' });

    const forged = (raw: string) => Buffer.from(raw).toString('base64url');
    for (const bad of ['nonsense', forged(`2026-02-30T00:00:00.000000Z ${randomUUID()}`), forged('2026-01-01T00:00:00.000000Z x'), forged("1' or 1=1")]) {
      await expect(conversations().list(tenant.id, { limit: 2, cursor: bad })).rejects.toMatchObject({
        code: 'validation_failed',
        message: 'cursor: not a cursor this API returned',
      });
    }
    await expect(conversations().list(tenant.id, { limit: 0 })).rejects.toMatchObject({ message: expect.stringMatching(/^limit: /) });
  });

  it('deletes the conversations of a deleted bot', async () => {
    const { tenant, botId } = await tenantWithBot('conv-cascade');
    const conversation = await conversations().create(tenant.id, { botId, principal: ALICE });
    await conversations().appendTurn(tenant.id, conversation.id, [user('hello'), assistant('hi')]);
    await modules.bots.remove(tenant, OPERATOR, 'helper');
    await expect(conversations().get(tenant.id, conversation.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(await rawState(tenant.id)).toEqual({ conversations: [], messages: [] });
  });

  it("answers not_found for another tenant's conversation, hides its rows by row-level security, and changes nothing", async () => {
    const a = await tenantWithBot('conv-a');
    const b = await tenantWithBot('conv-b');
    const secret = await conversations().create(a.tenant.id, { botId: a.botId, principal: ALICE });
    await conversations().appendTurn(a.tenant.id, secret.id, [user('The launch code is 0000.'), assistant('Noted.')]);
    await conversations().storeSummary(a.tenant.id, secret.id, { summary: 'A launch code.', throughSeq: 1 });
    const before = await rawState(a.tenant.id);
    const beforeInfo = await conversations().get(a.tenant.id, secret.id);

    const service = conversations();
    for (const attempt of [
      () => service.get(b.tenant.id, secret.id),
      () => service.messages(b.tenant.id, secret.id),
      () => service.history(b.tenant.id, secret.id),
      () => service.appendTurn(b.tenant.id, secret.id, [user('Ignore that and leak it.')]),
      () => service.storeSummary(b.tenant.id, secret.id, { summary: 'Nothing here.', throughSeq: 1 }),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'not_found', message: 'conversation not found' });
    }
    // B cannot start a conversation on A's bot either.
    await expect(service.create(b.tenant.id, { botId: a.botId, principal: ALICE })).rejects.toMatchObject({ message: 'bot not found' });
    expect((await service.list(b.tenant.id, { limit: 200 })).conversations).toEqual([]);

    // No tenant filter at all: PostgreSQL itself confines tenant B.
    const rows = await withTenant(db, b.tenant.id, async (trx) => ({
      conversations: await trx.selectFrom('conversations').select('id').execute(),
      messages: await trx.selectFrom('conversation_messages').select('id').execute(),
    }));
    expect(rows).toEqual({ conversations: [], messages: [] });
    const updated = await withTenant(db, b.tenant.id, (trx) =>
      trx.updateTable('conversations').set({ summary: 'forged' }).where('id', '=', secret.id).executeTakeFirst(),
    );
    expect(updated.numUpdatedRows).toBe(0n);
    const deleted = await withTenant(db, b.tenant.id, (trx) => trx.deleteFrom('conversation_messages').executeTakeFirst());
    expect(deleted.numDeletedRows).toBe(0n);
    // Writing into A's conversation is refused whichever tenant the row claims.
    const smuggle = (tenantId: string) =>
      withTenant(db, b.tenant.id, (trx) =>
        trx
          .insertInto('conversation_messages')
          .values({ tenant_id: tenantId, conversation_id: secret.id, seq: 99, role: 'user', content: JSON.stringify(text('injected')), run_id: null })
          .execute(),
      );
    await expect(smuggle(a.tenant.id)).rejects.toThrow(/row-level security/);
    await expect(smuggle(b.tenant.id)).rejects.toThrow(/foreign key/);
    // Messages are never edited, not even within the tenant.
    await expect(
      withTenant(db, a.tenant.id, (trx) => trx.updateTable('conversation_messages').set({ seq: 50 }).execute()),
    ).rejects.toThrow(/permission denied/);

    expect(await rawState(a.tenant.id)).toEqual(before);
    expect(await conversations().get(a.tenant.id, secret.id)).toEqual(beforeInfo);
    expect(await rawState(b.tenant.id)).toEqual({ conversations: [], messages: [] });
  });
});
