import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { beforeAll, expect, it } from 'vitest';
import { BotRunRefused, createBotRunner, type AskInput, type BotRunEvent, type BotRunnerLimits, type ToolClientFactory } from '../../src/bots/bot-runner.ts';
import { createBotService, type BotService } from '../../src/bots/bot.service.ts';
import { createConversationService, type ConversationService, type NewMessage } from '../../src/bots/conversation.service.ts';
import { ModelError, type ModelClient } from '../../src/bots/model-client.ts';
import { loadPriceTable } from '../../src/bots/pricing/index.ts';
import type { Db } from '../../src/shared/db.ts';
import { createTenancyModule, type Actor, type TenancyModule, type Tenant, type UsageService } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { READ_FILE, answer, failWith, fakeTools, outcomeOf, reply, scriptedModel, texts, toolUse, unansweredToolUses, usageOf } from '../support/scripted-bots.ts';

const OPERATOR = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const ALICE: Actor = { type: 'api_key', id: randomUUID() };
const BOB: Actor = { type: 'user', id: randomUUID() };
const SYSTEM_PROMPT = 'You are a careful helper.';

describeEachDatabase('bot runner', (use) => {
  let db: Db;
  let tenancy: TenancyModule;
  let bots: BotService;
  let conversations: ConversationService;

  beforeAll(() => {
    db = use().db;
    tenancy = createTenancyModule({ db });
    bots = createBotService({ db, secretKey: randomBytes(32), prices: () => loadPriceTable() });
    conversations = createConversationService({ db });
  });

  /** A fresh tenant with the bots `helper` (claude-sonnet-4-5) and `other` (claude-haiku-4-5). */
  async function newTenant(prefix: string): Promise<Tenant> {
    const tenant = await tenancy.tenants.create(OPERATOR, { slug: `${prefix}-${randomUUID().slice(0, 8)}` });
    await bots.create(tenant, OPERATOR, { slug: 'helper', description: 'Helps with files.', model: 'claude-sonnet-4-5', systemPrompt: SYSTEM_PROMPT, maxTokens: 1000 });
    await bots.create(tenant, OPERATOR, { slug: 'other', description: 'Another bot.', model: 'claude-haiku-4-5' });
    return tenant;
  }

  /** A runner over the real services whose every model client is `model`; the keys it was asked for are kept. */
  function runnerWith(model: ModelClient, options: { limits?: Partial<BotRunnerLimits>; operatorApiKey?: string | undefined; usage?: UsageService } = {}) {
    const keys: string[] = [];
    const runner = createBotRunner({
      bots,
      conversations,
      usage: options.usage ?? tenancy.usage,
      prices: () => loadPriceTable(),
      modelClientFor: (apiKey) => {
        keys.push(apiKey);
        return model;
      },
      operatorApiKey: 'operatorApiKey' in options ? options.operatorApiKey : 'sk-test',
      limits: { maxRounds: 5, maxDepth: 3, ...options.limits },
      logger: pino({ level: 'silent' }),
    });
    return { runner, keys };
  }

  function askOf(tenant: Tenant, input: Partial<AskInput> = {}): AskInput {
    return {
      bot: 'helper',
      message: 'What is in README.md?',
      caller: { tenant, principal: ALICE, visibleTo: undefined },
      parentRunId: null,
      chain: [],
      signal: new AbortController().signal,
      onEvent: () => undefined,
      toolClient: fakeTools().factory,
      ...input,
    };
  }

  /** The tenant's usage records, oldest first, read as the owning role. */
  function usageRows(tenantId: string) {
    return db.selectFrom('usage_records').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute();
  }

  /** Everything a refused or failed run must leave as it was. */
  async function tenantState(tenantId: string) {
    const conversationRows = await db.selectFrom('conversations').selectAll().where('tenant_id', '=', tenantId).orderBy('id').execute();
    const messages = await db.selectFrom('conversation_messages').selectAll().where('tenant_id', '=', tenantId).orderBy('conversation_id').orderBy('seq').execute();
    return { conversations: conversationRows, messages, usage: await usageRows(tenantId) };
  }

  /** A conversation of `helper` with `turns` question/answer pairs already stored. */
  async function conversationWithTurns(tenant: Tenant, turns: number) {
    const { info } = await bots.forRun(tenant, 'helper');
    const conversation = await conversations.create(tenant.id, { botId: info.id, principal: ALICE });
    for (let n = 1; n <= turns; n += 1) {
      const turn: NewMessage[] = [
        { role: 'user', content: [{ type: 'text', text: `question ${n}` }], runId: null },
        { role: 'assistant', content: [{ type: 'text', text: `answer ${n}` }], runId: null },
      ];
      await conversations.appendTurn(tenant.id, conversation.id, turn);
    }
    return conversation;
  }

  it('answers a plain ask, meters the call at its exact price, and stores the turn', async () => {
    const tenant = await newTenant('run-plain');
    const model = scriptedModel([answer('It holds the setup guide.', { inputTokens: 1000, outputTokens: 200, cacheCreationInputTokens: 2000, cacheReadInputTokens: 10_000 })]);
    const tools = fakeTools();
    const events: BotRunEvent[] = [];
    const { runner, keys } = runnerWith(model.client);

    const result = await runner.ask(askOf(tenant, { toolClient: tools.factory, onEvent: (event) => events.push(event) }));

    // claude-sonnet-4-5: (1000 × 3 + 200 × 15 + 2000 × 3.75 + 10000 × 0.30) / 1e6 = 16500 / 1e6.
    expect(result).toEqual({
      runId: expect.any(String),
      conversationId: expect.any(String),
      text: 'It holds the setup guide.',
      stopReason: 'end_turn',
      model: 'claude-sonnet-4-5',
      usage: { inputTokens: 1000, outputTokens: 200, cacheCreationInputTokens: 2000, cacheReadInputTokens: 10_000 },
      costUsd: '0.0165',
      unpricedCalls: 0,
    });
    expect(events).toEqual([
      { type: 'run_start', runId: result.runId, conversationId: result.conversationId, bot: 'helper' },
      { type: 'text_delta', text: 'It holds the setup guide.' },
    ]);
    expect(keys).toEqual(['sk-test']);
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]).toMatchObject({
      model: 'claude-sonnet-4-5',
      system: SYSTEM_PROMPT,
      maxTokens: 1000,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in README.md?' }] }],
      tools: [{ name: READ_FILE }],
    });
    expect(tools.state).toEqual({ built: 1, closed: 1, calls: [] });

    const { info: helper } = await bots.forRun(tenant, 'helper');
    const rows = await usageRows(tenant.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      bot_id: helper.id,
      conversation_id: result.conversationId,
      run_id: result.runId,
      parent_run_id: null,
      principal_type: ALICE.type,
      principal_id: ALICE.id,
      model: 'claude-sonnet-4-5',
      input_tokens: 1000,
      output_tokens: 200,
      cache_write_tokens: 2000,
      cache_read_tokens: 10_000,
      priced: true,
      stop_reason: 'end_turn',
      error: null,
    });
    expect(String(rows[0]?.cost_usd)).toBe('0.0165000000');
    expect((await tenancy.usage.summarize(tenant.id, { groupBy: 'bot' })).groups).toEqual([
      { key: helper.id, calls: 1, inputTokens: 1000, outputTokens: 200, cacheWriteTokens: 2000, cacheReadTokens: 10_000, costUsd: '0.0165', unpricedCalls: 0 },
    ]);
    expect(await tenancy.usage.forConversation(tenant.id, result.conversationId)).toMatchObject({ calls: 1, costUsd: '0.0165' });

    const conversation = await conversations.get(tenant.id, result.conversationId);
    expect(conversation).toMatchObject({ botId: helper.id, principal: ALICE, title: 'What is in README.md?', messageCount: 2, summary: null });
    expect((await conversations.messages(tenant.id, result.conversationId)).map((m) => ({ seq: m.seq, role: m.role, content: m.content, runId: m.runId }))).toEqual([
      { seq: 1, role: 'user', content: [{ type: 'text', text: 'What is in README.md?' }], runId: result.runId },
      { seq: 2, role: 'assistant', content: [{ type: 'text', text: 'It holds the setup guide.' }], runId: result.runId },
    ]);
  });

  it('continues a conversation with its history, and refuses another bot’s, another principal’s or another tenant’s as not found, writing nothing', async () => {
    const tenant = await newTenant('run-continue');
    const model = scriptedModel([answer('The setup guide.'), answer('Run npm install first.'), answer('Hello from other.')]);
    const { runner } = runnerWith(model.client);

    const first = await runner.ask(askOf(tenant));
    const second = await runner.ask(askOf(tenant, { message: 'And how do I start?', conversationId: first.conversationId }));

    expect(second.conversationId).toBe(first.conversationId);
    expect(second.runId).not.toBe(first.runId);
    expect(model.requests[1]?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is in README.md?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'The setup guide.' }] },
      { role: 'user', content: [{ type: 'text', text: 'And how do I start?' }] },
    ]);
    const stored = await conversations.messages(tenant.id, first.conversationId);
    expect(stored.map((m) => [m.seq, m.role, texts(m.content).join(''), m.runId])).toEqual([
      [1, 'user', 'What is in README.md?', first.runId],
      [2, 'assistant', 'The setup guide.', first.runId],
      [3, 'user', 'And how do I start?', second.runId],
      [4, 'assistant', 'Run npm install first.', second.runId],
    ]);

    const others = await runner.ask(askOf(tenant, { bot: 'other', message: 'Hi other' }));
    const elsewhere = await newTenant('run-continue-elsewhere');
    const before = { here: await tenantState(tenant.id), there: await tenantState(elsewhere.id) };
    const callsBefore = model.requests.length;

    const attempts: Array<[string, AskInput]> = [
      ['another bot’s conversation', askOf(tenant, { conversationId: others.conversationId })],
      ['a conversation another principal started', askOf(tenant, { conversationId: first.conversationId, caller: { tenant, principal: BOB, visibleTo: [BOB] } })],
      ['another tenant’s conversation', askOf(elsewhere, { conversationId: first.conversationId })],
      ['a conversation that does not exist', askOf(tenant, { conversationId: randomUUID() })],
      ['an id that is not a UUID', askOf(tenant, { conversationId: '../conversations' })],
    ];
    const outcomes = [];
    for (const [what, input] of attempts) {
      const tools = fakeTools();
      const events: BotRunEvent[] = [];
      const outcome = await outcomeOf(runner.ask({ ...input, toolClient: tools.factory, onEvent: (event) => events.push(event) }));
      outcomes.push({ what, ...outcome, events, toolClients: tools.state.built });
    }
    expect(outcomes).toEqual(
      attempts.map(([what]) => ({ what, error: 'AppError', code: 'not_found', message: 'conversation not found', events: [], toolClients: 0 })),
    );

    expect(model.requests).toHaveLength(callsBefore);
    expect({ here: await tenantState(tenant.id), there: await tenantState(elsewhere.id) }).toEqual(before);
  });

  it('keeps the conversation as it was when the model fails after a tool round, and meters both calls', async () => {
    const tenant = await newTenant('run-fail');
    const conversation = await conversationWithTurns(tenant, 1);
    const before = await conversations.messages(tenant.id, conversation.id);
    const partial = usageOf({ inputTokens: 700, outputTokens: 12 });
    const model = scriptedModel([
      reply(toolUse('tu_1', { path: 'README.md' }, 'Let me read it.'), { inputTokens: 500, outputTokens: 50 }),
      failWith(new ModelError('overloaded', 'Overloaded', { retryable: true, status: 529, usage: partial, outputEmitted: true })),
    ]);
    const tools = fakeTools();
    const { runner } = runnerWith(model.client);
    let runId: string | undefined;

    const run = runner.ask(
      askOf(tenant, {
        conversationId: conversation.id,
        toolClient: tools.factory,
        onEvent: (event) => {
          if (event.type === 'run_start') runId = event.runId;
        },
      }),
    );

    await expect(run).rejects.toBeInstanceOf(ModelError);
    await expect(run).rejects.toMatchObject({ kind: 'overloaded', message: 'Overloaded' });
    expect(tools.state).toEqual({ built: 1, closed: 1, calls: [{ path: 'README.md' }] });
    // The failed call was made with the tool result: the failure really came after a tool round.
    expect(model.requests[1]?.messages.at(-1)).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: 'file contents' }] });

    expect(await conversations.messages(tenant.id, conversation.id)).toEqual(before);
    expect((await conversations.get(tenant.id, conversation.id)).messageCount).toBe(2);
    const rows = await usageRows(tenant.id);
    expect(rows.map((r) => ({ run: r.run_id, conversation: r.conversation_id, input: r.input_tokens, output: r.output_tokens, stop: r.stop_reason, error: r.error, cost: String(r.cost_usd) }))).toEqual([
      // (500 × 3 + 50 × 15) / 1e6 and (700 × 3 + 12 × 15) / 1e6 at claude-sonnet-4-5 rates.
      { run: runId, conversation: conversation.id, input: 500, output: 50, stop: 'tool_use', error: null, cost: '0.0022500000' },
      { run: runId, conversation: conversation.id, input: 700, output: 12, stop: null, error: 'Overloaded', cost: '0.0022800000' },
    ]);
  });

  it('stops a cancelled run during a tool call, leaving the conversation as it was and the finished call metered', async () => {
    const tenant = await newTenant('run-cancel');
    const conversation = await conversationWithTurns(tenant, 1);
    const before = await conversations.messages(tenant.id, conversation.id);
    const model = scriptedModel([reply(toolUse('tu_1', { path: 'big.log' }), { inputTokens: 400, outputTokens: 30 }), answer('never sent')]);
    let toolStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      toolStarted = resolve;
    });
    // The tool runs until the run is cancelled, as a slow upstream would.
    const tools = fakeTools(
      (_input, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
          toolStarted();
        }),
    );
    const controller = new AbortController();
    const events: BotRunEvent[] = [];
    const { runner } = runnerWith(model.client);

    const run = runner.ask(askOf(tenant, { conversationId: conversation.id, signal: controller.signal, toolClient: tools.factory, onEvent: (event) => events.push(event) }));
    await started;
    controller.abort();

    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(model.requests).toHaveLength(1);
    expect(tools.state.closed).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['run_start', 'tool_use']);
    expect(await conversations.messages(tenant.id, conversation.id)).toEqual(before);
    const rows = await usageRows(tenant.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ conversation_id: conversation.id, input_tokens: 400, output_tokens: 30, stop_reason: 'tool_use', error: null, priced: true });
  });

  it("stops a tenant's runs when told, ending their tools' signal and saving no turn, while another tenant's run goes on", async () => {
    const [stopped, going] = [await newTenant('run-stopped'), await newTenant('run-going')];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const model = scriptedModel([
      reply(toolUse('tu_1', { path: 'big.log' }), { inputTokens: 400, outputTokens: 30 }),
      async (request, options) => {
        await gate;
        return answer('Still here.')(request, options);
      },
    ]);
    let toolStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      toolStarted = resolve;
    });
    const tools = fakeTools(
      (_input, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
          toolStarted();
        }),
    );
    let toolSignal: AbortSignal | undefined;
    const factory: ToolClientFactory = (context) => {
      toolSignal = context.signal;
      return tools.factory(context);
    };
    const { runner } = runnerWith(model.client);

    const run = runner.ask(askOf(stopped, { toolClient: factory }));
    await started;
    const other = runner.ask(askOf(going, { bot: 'other' }));
    runner.stopTenant(stopped.id, 'The tenant was deleted.');
    release();

    expect(await outcomeOf(run)).toEqual({ error: 'BotRunStopped', message: 'The tenant was deleted.' });
    expect(toolSignal?.aborted).toBe(true);
    expect(tools.state.closed).toBe(1);
    const [conversation] = (await conversations.list(stopped.id, { limit: 10 })).conversations;
    expect(conversation?.messageCount).toBe(0);
    expect((await other).text).toBe('Still here.');
    expect((await conversations.list(going.id, { limit: 10 })).conversations.map((c) => c.messageCount)).toEqual([2]);
  });

  it('stops every run as the gateway shuts down, resolving once their billed calls are metered, naming a run that does not end, and refusing new runs', async () => {
    const [closing, stuck] = [await newTenant('run-closing'), await newTenant('run-stuck')];
    let modelCalled: () => void = () => undefined;
    const nextModelCall = () => new Promise<void>((resolve) => (modelCalled = resolve));
    let release: (error: Error) => void = () => undefined;
    const model = scriptedModel([
      // The model call ends when aborted, as the real adapter's does: with the usage billed so far.
      (_request, options) =>
        new Promise((_resolve, reject) => {
          options.signal.addEventListener('abort', () => reject(new ModelError('cancelled', 'The model call was cancelled', { usage: usageOf({ inputTokens: 33 }) })), {
            once: true,
          });
          modelCalled();
        }),
      // One that does not heed the abort, as a call stuck in the network might not.
      () =>
        new Promise((_resolve, reject) => {
          release = reject;
          modelCalled();
        }),
    ]);
    // Metering takes a while, as a busy database would.
    const usage: UsageService = {
      ...tenancy.usage,
      async record(tenantId, record) {
        await delay(50);
        return tenancy.usage.record(tenantId, record);
      },
    };
    const { runner } = runnerWith(model.client, { usage });

    let called = nextModelCall();
    const closed = outcomeOf(runner.ask(askOf(closing)));
    await called;
    called = nextModelCall();
    const hung = outcomeOf(runner.ask(askOf(stuck, { bot: 'other' })));
    await called;
    const left = await runner.stopAll('The gateway is shutting down.', 500);

    expect(left).toEqual([{ tenantId: stuck.id, bot: 'other', runId: expect.any(String) as unknown }]);
    expect((await usageRows(closing.id)).map((row) => [row.input_tokens, row.error])).toEqual([[33, 'The model call was cancelled']]);
    expect(await closed).toEqual({ error: 'BotRunStopped', message: 'The gateway is shutting down.' });
    expect(await outcomeOf(runner.ask(askOf(closing)))).toEqual({ error: 'BotRunStopped', message: 'The gateway is shutting down.' });
    expect(model.requests).toHaveLength(2);
    release(new ModelError('cancelled', 'The model call was cancelled'));
    expect(await hung).toEqual({ error: 'BotRunStopped', message: 'The gateway is shutting down.' });
  });

  it('records the calls of a model without a price as unpriced, never guessing a cost', async () => {
    const tenant = await newTenant('run-unpriced');
    const future = await bots.create(tenant, OPERATOR, { slug: 'future', description: 'Runs on a model not in the price table.', model: 'claude-future-9' });
    expect(future.priced).toBe(false);
    const model = scriptedModel([answer('Hello from the future.', { inputTokens: 120, outputTokens: 30 })]);
    const { runner } = runnerWith(model.client);

    const result = await runner.ask(askOf(tenant, { bot: 'future' }));

    expect(result).toMatchObject({ text: 'Hello from the future.', model: 'claude-future-9', costUsd: '0', unpricedCalls: 1, usage: { inputTokens: 120, outputTokens: 30 } });
    const rows = await usageRows(tenant.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ bot_id: future.id, model: 'claude-future-9', input_tokens: 120, output_tokens: 30, cost_usd: null, priced: false });
    expect((await tenancy.usage.summarize(tenant.id, { groupBy: 'model' })).total).toMatchObject({ calls: 1, costUsd: '0', unpricedCalls: 1 });
  });

  it('summarises a long history with the summary model first, metered apart, and sends the summary with the recent turns', async () => {
    const tenant = await newTenant('run-compact');
    const conversation = await conversationWithTurns(tenant, 3);
    const limits = { compactionThresholdTokens: 10, compactionKeepRecent: 2, summaryModel: 'claude-haiku-4-5' };
    const model = scriptedModel([
      answer('The user asked two questions about setup; answers 1 and 2 covered it.', { inputTokens: 300, outputTokens: 40 }),
      answer('Here is answer 4.', { inputTokens: 100, outputTokens: 10 }),
    ]);
    const events: BotRunEvent[] = [];
    const { runner } = runnerWith(model.client, { limits });

    const result = await runner.ask(askOf(tenant, { conversationId: conversation.id, message: 'question 4', onEvent: (event) => events.push(event) }));

    const [summaryCall, mainCall] = model.requests;
    expect(summaryCall).toMatchObject({ model: 'claude-haiku-4-5', tools: [] });
    expect(summaryCall?.messages).toHaveLength(1);
    const transcript = texts(summaryCall?.messages[0]?.content).join('');
    // Kept: the first question (it says what the conversation is about) and the last two messages.
    for (const summarised of ['answer 1', 'question 2', 'answer 2']) expect(transcript).toContain(summarised);
    for (const kept of ['question 1', 'question 3', 'answer 3']) expect(transcript).not.toContain(kept);

    expect(mainCall?.model).toBe('claude-sonnet-4-5');
    expect(mainCall?.system.startsWith(SYSTEM_PROMPT)).toBe(true);
    expect(mainCall?.system).toContain('The user asked two questions about setup; answers 1 and 2 covered it.');
    // Roles must alternate, so the first question and the first kept one travel in one user message.
    expect(mainCall?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'question 1' }, { type: 'text', text: 'question 3' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'answer 3' }] },
      { role: 'user', content: [{ type: 'text', text: 'question 4' }] },
    ]);
    // The summary is private: the caller streams only the answer.
    expect(events.filter((e) => e.type === 'text_delta')).toEqual([{ type: 'text_delta', text: 'Here is answer 4.' }]);

    expect(await conversations.get(tenant.id, conversation.id)).toMatchObject({
      summary: 'The user asked two questions about setup; answers 1 and 2 covered it.',
      summarizedThroughSeq: 4,
      messageCount: 8,
    });
    const rows = await usageRows(tenant.id);
    expect(rows.map((r) => [r.run_id, r.conversation_id, r.model, r.input_tokens, r.output_tokens, String(r.cost_usd), r.error])).toEqual([
      // (300 × 1 + 40 × 5) / 1e6 at claude-haiku-4-5; (100 × 3 + 10 × 15) / 1e6 at claude-sonnet-4-5.
      [result.runId, conversation.id, 'claude-haiku-4-5', 300, 40, '0.0005000000', null],
      [result.runId, conversation.id, 'claude-sonnet-4-5', 100, 10, '0.0004500000', null],
    ]);
    expect(result).toMatchObject({ costUsd: '0.00095', unpricedCalls: 0, usage: { inputTokens: 400, outputTokens: 50 } });

    // The next summary folds the earlier one in and moves the boundary on.
    const again = scriptedModel([answer('Summary of everything up to question 3.'), answer('Here is answer 5.')]);
    await runnerWith(again.client, { limits }).runner.ask(askOf(tenant, { conversationId: conversation.id, message: 'question 5' }));
    const secondTranscript = texts(again.requests[0]?.messages[0]?.content).join('');
    expect(secondTranscript).toContain('The user asked two questions about setup');
    expect(secondTranscript).toContain('question 3');
    expect(secondTranscript).not.toContain('question 4');
    expect(await conversations.get(tenant.id, conversation.id)).toMatchObject({ summary: 'Summary of everything up to question 3.', summarizedThroughSeq: 6 });
    expect(again.requests[1]?.messages.map((m) => texts(m.content))).toEqual([['question 1', 'question 4'], ['Here is answer 4.'], ['question 5']]);
  });

  it('goes on with the whole history when the summary call fails, and still meters it', async () => {
    const tenant = await newTenant('run-compact-fail');
    const conversation = await conversationWithTurns(tenant, 3);
    const model = scriptedModel([
      failWith(new ModelError('overloaded', 'Overloaded', { usage: usageOf({ inputTokens: 250 }) })),
      answer('Here is answer 4.', { inputTokens: 100, outputTokens: 10 }),
    ]);
    const { runner } = runnerWith(model.client, { limits: { compactionThresholdTokens: 10, compactionKeepRecent: 2, summaryModel: 'claude-haiku-4-5' } });

    const result = await runner.ask(askOf(tenant, { conversationId: conversation.id, message: 'question 4' }));

    expect(result.text).toBe('Here is answer 4.');
    expect(model.requests[1]?.system).toBe(SYSTEM_PROMPT);
    expect(model.requests[1]?.messages.map((m) => [m.role, texts(m.content).join('')])).toEqual([
      ['user', 'question 1'],
      ['assistant', 'answer 1'],
      ['user', 'question 2'],
      ['assistant', 'answer 2'],
      ['user', 'question 3'],
      ['assistant', 'answer 3'],
      ['user', 'question 4'],
    ]);
    expect(await conversations.get(tenant.id, conversation.id)).toMatchObject({ summary: null, summarizedThroughSeq: null, messageCount: 8 });
    const rows = await usageRows(tenant.id);
    expect(rows.map((r) => [r.run_id, r.model, r.input_tokens, r.stop_reason, r.error, String(r.cost_usd)])).toEqual([
      [result.runId, 'claude-haiku-4-5', 250, null, 'Overloaded', '0.0002500000'],
      [result.runId, 'claude-sonnet-4-5', 100, 'end_turn', null, '0.0004500000'],
    ]);
  });

  it('refuses a cycle, a chain too deep, a bot without an API key and a blank message before any model call, writing nothing', async () => {
    const tenant = await newTenant('run-refuse');
    const model = scriptedModel([]);
    const before = await tenantState(tenant.id);
    const { runner } = runnerWith(model.client, { limits: { maxDepth: 2 } });
    const { runner: keyless } = runnerWith(model.client, { operatorApiKey: undefined });

    const refusals: Array<[string, typeof runner, Partial<AskInput>, RegExp]> = [
      ['a cycle', runner, { chain: ['other', 'helper'] }, /cycle \(other → helper → helper\)/],
      ['a chain at the depth limit', runner, { chain: ['lead', 'other'] }, /at most 2 deep \(lead → other → helper\)/],
      ['no API key', keyless, {}, /Bot "helper" has no Anthropic API key/],
    ];
    const outcomes = [];
    for (const [what, refusing, input] of refusals) {
      const tools = fakeTools();
      const events: BotRunEvent[] = [];
      const run = refusing.ask(askOf(tenant, { ...input, toolClient: tools.factory, onEvent: (event) => events.push(event) }));
      const refused = await run.then(
        () => false,
        (error: unknown) => error instanceof BotRunRefused,
      );
      outcomes.push({ what, refused, ...(await outcomeOf(run)), events, toolClients: tools.state.built });
    }
    expect(outcomes).toEqual(
      refusals.map(([what, , , message]) => ({ what, refused: true, error: 'BotRunRefused', message: expect.stringMatching(message), events: [], toolClients: 0 })),
    );

    await expect(runner.ask(askOf(tenant, { message: ' \n ' }))).rejects.toMatchObject({ code: 'validation_failed', message: 'message: must not be empty' });

    expect(model.requests).toEqual([]);
    expect(await tenantState(tenant.id)).toEqual(before);
    expect(before).toEqual({ conversations: [], messages: [], usage: [] });

    // A bot's own key is enough without the operator's.
    await bots.update(tenant, OPERATOR, 'helper', { anthropicApiKey: 'sk-ant-bot-own-key' });
    const owned = scriptedModel([answer('Answered with the bot’s own key.')]);
    const withOwnKey = runnerWith(owned.client, { operatorApiKey: undefined });
    await expect(withOwnKey.runner.ask(askOf(tenant))).resolves.toMatchObject({ text: 'Answered with the bot’s own key.' });
    expect(withOwnKey.keys).toEqual(['sk-ant-bot-own-key']);
  });

  it('stores a valid conversation and keeps the answer when a bot stops at maxRounds still asking for tools', async () => {
    const tenant = await newTenant('run-rounds');
    const model = scriptedModel([
      reply(toolUse('tu_1', { path: 'a.md' }, 'Let me look.'), { inputTokens: 10, outputTokens: 5 }),
      reply(toolUse('tu_2', { path: 'b.md' }, 'So far: a.md is the guide.'), { inputTokens: 20, outputTokens: 5 }),
      answer('b.md is the changelog.'),
    ]);
    const tools = fakeTools();
    const { runner } = runnerWith(model.client, { limits: { maxRounds: 2 } });

    const result = await runner.ask(askOf(tenant, { toolClient: tools.factory }));

    expect(result).toMatchObject({ stopReason: 'max_rounds', text: 'So far: a.md is the guide.', usage: { inputTokens: 30, outputTokens: 10 } });
    expect(tools.state.calls).toEqual([{ path: 'a.md' }]);
    const stored = await conversations.messages(tenant.id, result.conversationId);
    expect(unansweredToolUses(stored)).toEqual([]);
    expect(stored.map((m) => [m.role, m.content.map((b) => b['type'])])).toEqual([
      ['user', ['text']],
      ['assistant', ['text', 'tool_use']],
      ['user', ['tool_result']],
      ['assistant', ['text']],
    ]);
    expect(texts(stored.at(-1)?.content)).toEqual(['So far: a.md is the guide.']);
    expect(stored.flatMap((m) => m.content).some((b) => b['id'] === 'tu_2')).toBe(false);
    expect(await usageRows(tenant.id)).toHaveLength(2);

    // The stored history is one the API accepts: the next ask sends it as is.
    await runner.ask(askOf(tenant, { conversationId: result.conversationId, message: 'And b.md?' }));
    const sent = model.requests[2]?.messages ?? [];
    expect(unansweredToolUses(sent)).toEqual([]);
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);

    // With a single round nothing but the answer is added.
    const once = scriptedModel([reply(toolUse('tu_9', { path: 'c.md' }, 'I would need to read c.md.'), { inputTokens: 1, outputTokens: 1 })]);
    const single = await runnerWith(once.client, { limits: { maxRounds: 1 } }).runner.ask(askOf(tenant));
    expect(single).toMatchObject({ stopReason: 'max_rounds', text: 'I would need to read c.md.' });
    expect((await conversations.messages(tenant.id, single.conversationId)).map((m) => [m.role, texts(m.content)])).toEqual([
      ['user', ['What is in README.md?']],
      ['assistant', ['I would need to read c.md.']],
    ]);
  });

  it('stops a run at its overall deadline with a message, saving no turn but metering what was billed', async () => {
    const tenant = await newTenant('deadline');
    // The model answers only when aborted, as the real adapter does: with the usage billed so far.
    const hanging: ModelClient = {
      stream: (_request, options) =>
        new Promise((_resolve, reject) => {
          options.signal.addEventListener('abort', () => reject(new ModelError('cancelled', 'The model call was cancelled', { usage: usageOf({ inputTokens: 40 }) })), {
            once: true,
          });
        }),
    };
    const { runner } = runnerWith(hanging, { limits: { runDeadlineMs: 50 } });
    const failure = await outcomeOf(runner.ask(askOf(tenant)));
    expect(failure).toEqual({ error: 'BotRunTimeout', message: 'The bot did not finish within 50 ms; nothing of this turn was saved.' });
    const [conversation] = (await conversations.list(tenant.id, { limit: 10 })).conversations;
    expect(conversation?.messageCount).toBe(0);
    expect((await usageRows(tenant.id)).map((row) => [row.input_tokens, row.error])).toEqual([[40, 'The model call was cancelled']]);
  });
});
