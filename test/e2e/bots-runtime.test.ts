import fs from 'node:fs/promises';
import { Decimal } from 'decimal.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport, type CallToolResult } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cutInToolInput, errorEvent, messageEvents, sseReply, startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic, type FakeUsage } from '../fakes/anthropic.ts';
import { connectFullV1, connectFullV2, type McpFullClient } from '../support/mcp-full-clients.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, seedTenant, type AuditEventJson } from '../support/http.ts';

const API_KEY = 'sk-ant-e2e-operator-key';

interface AskStructured {
  answer: string;
  conversation_id: string;
  run_id: string;
  stop_reason: string;
  usage: { input_tokens: number; output_tokens: number; cache_write_tokens: number; cache_read_tokens: number };
  cost_usd: string;
  unpriced_calls: number;
}

interface UsageJson {
  groups: Array<{ key: string | null; calls: number; input_tokens: number; output_tokens: number; cost_usd: string }>;
  total: { calls: number; cost_usd: string; unpriced_calls: number; input_tokens: number; output_tokens: number; cache_write_tokens: number; cache_read_tokens: number };
}

/** claude-sonnet-4-5 at $3 input, $15 output, $3.75 cache write, $0.30 cache read per million tokens (prices.json). */
function sonnetCost(calls: FakeUsage[]): string {
  return calls
    .reduce(
      (sum, u) =>
        sum
          .plus(new Decimal(u.input_tokens).times(3))
          .plus(new Decimal(u.output_tokens).times(15))
          .plus(new Decimal(u.cache_creation_input_tokens ?? 0).times('3.75'))
          .plus(new Decimal(u.cache_read_input_tokens ?? 0).times('0.30')),
      new Decimal(0),
    )
    .dividedBy(1_000_000)
    .toFixed();
}

/** Setup steps must succeed; a failure stops the suite with the response. */
function must(response: { status: number; body: unknown }, status: number): void {
  if (response.status !== status) throw new Error(`setup: expected ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
}

const structuredOf = (result: CallToolResult): AskStructured => {
  const structured: unknown = result.structuredContent;
  return structured as AskStructured;
};

/** The first text block: a bot's answer (its second block notes the conversation id), or a tool's text. */
const textOf = (result: CallToolResult) => {
  const [first] = result.content;
  return first?.type === 'text' ? first.text : '';
};

/** The tool_result blocks the model was sent in one recorded request. */
function toolResultsSent(fake: FakeAnthropic, index: number): Array<{ content: string; is_error?: boolean }> {
  const body = fake.requests[index]?.body as { messages: Array<{ role: string; content: Array<{ type: string; content?: string; is_error?: boolean }> }> };
  const last = body.messages.at(-1);
  return (last?.content ?? []).filter((b) => b.type === 'tool_result').map((b) => ({ content: String(b.content), ...(b.is_error && { is_error: true }) }));
}

describe('bots answer over MCP and the chat API, with tools, nested bots and metering', () => {
  let gateway: GatewayProcess;
  let fake: FakeAnthropic;
  let dataDir: string;
  let key: string;
  const tenant = 'botrun';
  const admin = () => apiClient(gateway.url, key);
  const botUrl = (slug: string) => `${gateway.url}/t/${tenant}/mcp/bots/${slug}`;

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: API_KEY });
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fake.url } });
    key = (await seedTenant(dataDir, tenant)).key.secret;
    must(await admin().post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } }), 201);
    const files = await connectFullV2(`${gateway.url}/t/${tenant}/mcp/servers/files`, key);
    const written = await files.callTool('write_file', { path: 'notes.txt', content: 'The launch is on Friday.' });
    await files.close();
    if (written.isError) throw new Error(`setup: write_file failed: ${textOf(written)}`);
    const bot = (slug: string, extra: Record<string, unknown>) =>
      admin().post('/api/v1/bots', { json: { slug, model: 'claude-sonnet-4-5', description: `Bot ${slug}: answers questions.`, system_prompt: `You are ${slug}.`, ...extra } });
    must(await bot('helper', { servers: [{ slug: 'files', tools: ['list_directory', 'read_file'] }] }), 201);
    must(await bot('boss', { bots: ['helper'] }), 201);
    must(await bot('ping', {}), 201);
    must(await bot('pong', { bots: ['ping'] }), 201);
    must(await admin().patch('/api/v1/bots/ping', { json: { bots: ['pong'] } }), 200);
    must(await bot('thinker', { servers: [{ slug: 'files', tools: ['read_file'] }], max_tokens: 4096, thinking_budget: 2048 }), 201);
    // A model the price table does not know: its calls are unpriced.
    must(await bot('future', { model: 'claude-future-9' }), 201);
    must(await bot('planner', { bots: ['future'] }), 201);
    must(await bot('failer', {}), 201);
    must(await bot('delegator', { bots: ['failer'] }), 201);
  });

  afterAll(async () => {
    await gateway?.stop();
    await fake?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => fake.reset());

  const TWO_ROUNDS: FakeUsage[] = [
    { input_tokens: 120, output_tokens: 30, cache_creation_input_tokens: 100 },
    { input_tokens: 180, output_tokens: 25, cache_read_input_tokens: 100 },
    { input_tokens: 240, output_tokens: 12 },
  ];

  function scriptTwoRounds() {
    fake.script(
      toolUseReply([{ name: 'files__list_directory', input: { path: '.' } }], TWO_ROUNDS[0]),
      toolUseReply([{ name: 'files__read_file', input: { path: 'notes.txt' } }], TWO_ROUNDS[1]),
      textReply('The notes say the launch is on Friday.', TWO_ROUNDS[2]),
    );
  }

  for (const [era, connect] of [
    ['v1', connectFullV1],
    ['v2', connectFullV2],
  ] as const) {
    it(`answers a question that needs two tool rounds for the ${era} client, streaming progress, and meters it`, async () => {
      scriptTwoRounds();
      const client: McpFullClient = await connect(botUrl('helper'), key);
      const progress: unknown[] = [];
      const tools = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['ask']);
      expect(tools[0]?.description).toBe('Bot helper: answers questions.');

      const result = await client.callTool('ask', { message: 'When is the launch?' }, (event) => progress.push(event));
      await client.close();

      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toBe('The notes say the launch is on Friday.');
      const structured = structuredOf(result);
      // A client that shows its model only the content, or only the structured content (Claude Code does),
      // passes on both the answer and the conversation id to continue with.
      expect(result.content[1]).toEqual({ type: 'text', text: `[conversation_id ${structured.conversation_id}: pass it as conversation_id to continue this conversation]` });
      expect(structured.answer).toBe('The notes say the launch is on Friday.');
      expect(structured.stop_reason).toBe('end_turn');
      expect(structured.usage).toEqual({ input_tokens: 540, output_tokens: 67, cache_write_tokens: 100, cache_read_tokens: 100 });
      expect(structured.cost_usd).toBe(sonnetCost(TWO_ROUNDS));
      expect(structured.unpriced_calls).toBe(0);

      // The model saw the real directory and file, fetched through the gateway's own MCP path.
      expect(fake.requests).toHaveLength(3);
      expect(toolResultsSent(fake, 1)[0]?.content).toContain('notes.txt');
      expect(toolResultsSent(fake, 2)).toEqual([{ content: expect.stringContaining('The launch is on Friday.') as unknown as string }]);
      const firstRequest = fake.requests[0]?.body as { system: unknown; tools: Array<{ name: string }> };
      expect(firstRequest.tools.map((t) => t.name).sort()).toEqual(['files__list_directory', 'files__read_file']);

      const messages = progress.map((p) => (p as { message?: string }).message ?? '').join('');
      expect(messages).toContain('[calling files__list_directory]');
      expect(messages).toContain('[calling files__read_file]');
      expect(messages).toContain('The notes say the launch is on Friday.');

      // The bot's tool calls were audited as the key's calls of the files server.
      const audited = await pollUntil('tool calls audited', async () => {
        const events = (await admin().get<{ events: AuditEventJson[] }>(`/api/v1/audit?action=tool.call&limit=200`)).body.events;
        const called = events.map((e) => (e.after as { tool: string }).tool);
        return called.includes('read_file') && called.includes('list_directory') ? events : undefined;
      });
      expect(audited.find((e) => (e.after as { tool: string }).tool === 'read_file')).toMatchObject({ resource_type: 'server', after: { server: 'files', outcome: 'ok' } });

      // The conversation holds the whole turn, and can be continued.
      const conversation = await admin().get<{ conversation: { messages: Array<{ role: string }> } }>(`/api/v1/conversations/${structured.conversation_id}`);
      expect(conversation.status).toBe(200);
      expect(conversation.body.conversation.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);

      const usage = await pollUntil('usage records', async () => {
        const body = (await admin().get<UsageJson>('/api/v1/usage?group_by=model')).body;
        return body.total.calls >= 3 ? body : undefined;
      });
      expect(usage.total.calls).toBeGreaterThanOrEqual(3);
    });
  }

  it('rolls a nested bot’s cost up into the asking bot’s answer', async () => {
    const before = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body.total;
    const bossCalls: FakeUsage[] = [
      { input_tokens: 50, output_tokens: 10 },
      { input_tokens: 90, output_tokens: 8 },
    ];
    const helperCalls: FakeUsage[] = [{ input_tokens: 70, output_tokens: 20 }];
    fake.script(
      toolUseReply([{ name: 'bot__helper', input: { message: 'What do the notes say?' } }], bossCalls[0]),
      textReply('Friday, say the notes.', helperCalls[0]),
      textReply('The helper says: Friday.', bossCalls[1]),
    );
    const client = await connectFullV2(botUrl('boss'), key);
    const result = await client.callTool('ask', { message: 'Ask the helper about the notes.' });
    await client.close();

    expect(textOf(result)).toBe('The helper says: Friday.');
    // The asking bot's model reads the helper's answer, and the helper's conversation id to continue with.
    expect(toolResultsSent(fake, 2)).toEqual([
      { content: expect.stringMatching(/^Friday, say the notes\.\n\[conversation_id [0-9a-f-]{36}: pass it as conversation_id to continue this conversation\]$/) as unknown as string },
    ]);
    const structured = structuredOf(result);
    expect(structured.usage.input_tokens).toBe(210);
    expect(structured.usage.output_tokens).toBe(38);
    expect(structured.cost_usd).toBe(sonnetCost([...bossCalls, ...helperCalls]));

    // The conversation's cost includes the nested bot's call, found through the parent run.
    const conversation = await admin().get<{ conversation: { usage: { calls: number; cost_usd: string } } }>(`/api/v1/conversations/${structured.conversation_id}`);
    expect(conversation.body.conversation.usage).toMatchObject({ calls: 3, cost_usd: structured.cost_usd });

    const after = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body.total;
    expect(after.calls - before.calls).toBe(3);
    expect(new Decimal(after.cost_usd).minus(before.cost_usd).toFixed()).toBe(structured.cost_usd);
  });

  it('counts a nested bot’s unpriced calls in the asking bot’s unpriced_calls, as the usage API does', async () => {
    const before = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body.total;
    const plannerCalls: FakeUsage[] = [
      { input_tokens: 50, output_tokens: 10 },
      { input_tokens: 90, output_tokens: 8 },
    ];
    fake.script(
      toolUseReply([{ name: 'bot__future', input: { message: 'Plan the launch.' } }], plannerCalls[0]),
      textReply('Launch on Friday.', { input_tokens: 70, output_tokens: 20 }),
      textReply('The plan: launch on Friday.', plannerCalls[1]),
    );
    const client = await connectFullV2(botUrl('planner'), key);
    const result = await client.callTool('ask', { message: 'Have the future bot plan the launch.' });
    await client.close();

    const after = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body.total;
    const structured = structuredOf(result);
    expect({ calls: after.calls - before.calls, unpriced_calls: after.unpriced_calls - before.unpriced_calls }).toEqual({ calls: 3, unpriced_calls: 1 });
    expect({ unpriced_calls: structured.unpriced_calls, cost_usd: structured.cost_usd, input_tokens: structured.usage.input_tokens }).toEqual({
      unpriced_calls: 1,
      cost_usd: sonnetCost(plannerCalls),
      input_tokens: 210,
    });
    expect(new Decimal(after.cost_usd).minus(before.cost_usd).toFixed()).toBe(structured.cost_usd);
  });

  it('counts the calls of a nested bot whose run failed in the asking bot’s totals, as the usage API does', async () => {
    const before = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body.total;
    // The nested bot's answer breaks off after it was billed: the API reports an overload mid-stream.
    const broken = messageEvents(textReply('A partial answer from the failer', { input_tokens: 400, output_tokens: 50 }));
    fake.script(
      toolUseReply([{ name: 'bot__failer', input: { message: 'Help me.' } }], { input_tokens: 50, output_tokens: 10 }),
      sseReply([...broken.slice(0, 5), errorEvent('overloaded_error', 'Overloaded')]),
      textReply('The failer could not help.', { input_tokens: 90, output_tokens: 8 }),
    );
    const client = await connectFullV2(botUrl('delegator'), key);
    const result = await client.callTool('ask', { message: 'Ask the failer for help.' });
    await client.close();

    expect(textOf(result)).toBe('The failer could not help.');
    expect(toolResultsSent(fake, 2)).toEqual([{ content: expect.stringMatching(/^The bot could not answer: .*Overloaded/) as unknown as string, is_error: true }]);
    const after = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body.total;
    const structured = structuredOf(result);
    expect(after.calls - before.calls).toBe(3);
    expect(after.input_tokens - before.input_tokens).toBe(540);
    expect({ input_tokens: structured.usage.input_tokens, output_tokens: structured.usage.output_tokens, cost_usd: structured.cost_usd }).toEqual({
      input_tokens: after.input_tokens - before.input_tokens,
      output_tokens: after.output_tokens - before.output_tokens,
      cost_usd: new Decimal(after.cost_usd).minus(before.cost_usd).toFixed(),
    });
  });

  it('says what a failed ask cost beside its error, as the usage API records it', async () => {
    const before = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body.total;
    const broken = messageEvents(textReply('A partial answer', { input_tokens: 400, output_tokens: 50 }));
    fake.script(sseReply([...broken.slice(0, 5), errorEvent('overloaded_error', 'Overloaded')]));
    const client = await connectFullV2(botUrl('failer'), key);
    const result = await client.callTool('ask', { message: 'Help me.' });
    await client.close();

    const after = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body.total;
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toEqual({
      error: textOf(result),
      usage: {
        input_tokens: 400,
        output_tokens: after.output_tokens - before.output_tokens,
        cache_write_tokens: 0,
        cache_read_tokens: 0,
      },
      cost_usd: new Decimal(after.cost_usd).minus(before.cost_usd).toFixed(),
      unpriced_calls: 0,
    });
    expect(after.calls - before.calls).toBe(1);
  });

  it('refuses a cycle of bots calling each other, and the model is told why', async () => {
    fake.script(
      toolUseReply([{ name: 'bot__pong', input: { message: 'over to you' } }]),
      toolUseReply([{ name: 'bot__ping', input: { message: 'and back' } }]),
      textReply('pong gave up'),
      textReply('ping done'),
    );
    const client = await connectFullV1(botUrl('ping'), key);
    const result = await client.callTool('ask', { message: 'start the rally' });
    await client.close();
    expect(textOf(result)).toBe('ping done');
    expect(fake.requests).toHaveLength(4);
    const refused = toolResultsSent(fake, 2);
    expect(refused).toEqual([{ content: expect.stringContaining('cycle') as unknown as string, is_error: true }]);
    expect(refused[0]?.content).toContain('ping → pong → ping');
  });

  it('lists bots in the aggregate endpoint as bot__{slug} and answers through it', async () => {
    fake.script(textReply('pong!'));
    const client = await connectFullV2(`${gateway.url}/t/${tenant}/mcp`, key);
    const names = (await client.listTools()).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['bot__helper', 'bot__boss', 'bot__ping', 'bot__pong', 'files__read_file']));
    const result = await client.callTool('bot__pong', { message: 'ping?' });
    await client.close();
    expect(textOf(result)).toBe('pong!');
  });

  /** Posts a chat turn and reads the whole event stream. */
  async function chat(slug: string, body: Record<string, unknown>): Promise<{ status: number; type: string | null; events: Array<{ event: string; data: unknown }> }> {
    const response = await fetch(`${gateway.url}/api/v1/bots/${slug}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const events = text
      .split('\n\n')
      .filter((frame) => frame.trim() !== '')
      .map((frame) => {
        const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(frame)?.[1] ?? '';
        return { event, data: data === '[DONE]' ? data : (JSON.parse(data) as unknown) };
      });
    return { status: response.status, type: response.headers.get('content-type'), events };
  }

  it('streams a chat turn as server-sent events and continues the conversation', async () => {
    scriptTwoRounds();
    const first = await chat('helper', { message: 'When is the launch?' });
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^text\/event-stream/);
    const kinds = first.events.map((e) => e.event);
    expect(kinds[0]).toBe('message_start');
    expect(kinds.filter((k) => k === 'tool_use')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'tool_result')).toHaveLength(2);
    expect(kinds.slice(-4)).toEqual(['content', 'content_end', 'usage', 'message']);
    expect(first.events.at(-1)?.data).toBe('[DONE]');
    const text = first.events.filter((e) => e.event === 'content').map((e) => (e.data as { text: string }).text).join('');
    expect(text).toBe('The notes say the launch is on Friday.');
    const toolUse = first.events.find((e) => e.event === 'tool_use')?.data;
    expect(toolUse).toMatchObject({ name: 'files__list_directory', input: { path: '.' } });
    const usage = first.events.find((e) => e.event === 'usage')?.data as AskStructured;
    expect(usage.cost_usd).toBe(sonnetCost(TWO_ROUNDS));
    const started = first.events[0]?.data as { conversation_id: string; run_id: string };
    expect(usage.conversation_id).toBe(started.conversation_id);

    fake.reset();
    fake.script(textReply('Yes, Friday.'));
    const second = await chat('helper', { message: 'Friday, really?', conversation_id: started.conversation_id });
    expect(second.events.find((e) => e.event === 'usage')?.data).toMatchObject({ conversation_id: started.conversation_id });
    // The model was sent the whole first turn before the new question.
    const sent = (fake.requests[0]?.body as { messages: Array<{ role: string }> } | undefined)?.messages ?? [];
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user']);

    // The conversation is a resource of the bot's MCP server.
    const client = await connectFullV1(botUrl('helper'), key);
    const listed = await client.listResources();
    expect(listed.map((r) => r.uri)).toContain(`conversation://${started.conversation_id}`);
    const read = await client.readResource(`conversation://${started.conversation_id}`);
    await client.close();
    const stored = JSON.parse((read.contents[0] as { text: string }).text) as { messages: Array<{ role: string }> };
    expect(stored.messages).toHaveLength(8);
  });

  it('keeps a narrower key to its own conversations: it cannot list, read or continue another principal’s', async () => {
    // A conversation of the admin key: its history holds what the bot's tools returned.
    fake.script(textReply('The launch is on Friday.'));
    const full = await connectFullV2(botUrl('helper'), key);
    const theirs = structuredOf(await full.callTool('ask', { message: 'When is the launch?' })).conversation_id;
    await full.close();
    const created = await admin().post<{ key: { secret: string } }>('/api/v1/keys', { json: { name: 'helper only', scopes: ['mcp'], tools: ['bot__helper'] } });
    must(created, 201);
    const narrow = created.body.key.secret;

    fake.script(textReply('Hello.'));
    const client = await connectFullV2(botUrl('helper'), narrow);
    const own = structuredOf(await client.callTool('ask', { message: 'Hello?' })).conversation_id;
    try {
      expect((await client.listResources()).map((r) => r.uri)).toEqual([`conversation://${own}`]);
      await expect(client.readResource(`conversation://${theirs}`)).rejects.toThrow(/not found/i);
    } finally {
      await client.close();
    }
    const messagesOf = async () => (await admin().get<{ conversation: { messages: unknown[] } }>(`/api/v1/conversations/${theirs}`)).body.conversation.messages;
    const before = await messagesOf();
    expect(before.length).toBeGreaterThan(0);
    const continued = await fetch(`${gateway.url}/api/v1/bots/helper/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${narrow}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Tell me more.', conversation_id: theirs }),
    });
    const answer = await continued.text();
    expect(answer).toMatch(/conversation not found/);
    expect(await messagesOf()).toEqual(before);
  });

  it('refuses a forged run credential on the MCP and REST paths, and a claimed call chain that makes a cycle, changing nothing', async () => {
    const conversationsBefore = (await admin().get<{ conversations: unknown[] }>('/api/v1/conversations?limit=200')).body.conversations.length;
    const forged = `bgr_${'A'.repeat(43)}`;
    const mcp = await fetch(`${gateway.url}/t/${tenant}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${forged}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(mcp.status).toBe(401);
    expect((await apiClient(gateway.url, forged).get('/api/v1/me')).status).toBe(401);

    // An agent may pass the chain it is part of; one that already holds the bot is a cycle, refused before any model call.
    const client = new V2Client({ name: 'chained-agent', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new V2Transport(new URL(botUrl('helper')), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    const refused = await client.callTool({ name: 'ask', arguments: { message: 'again?' }, _meta: { 'io.botgate/chain': ['boss', 'helper'] } });
    await client.close();
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('boss → helper → helper');
    expect(fake.requests).toHaveLength(0);
    expect((await admin().get<{ conversations: unknown[] }>('/api/v1/conversations?limit=200')).body.conversations.length).toBe(conversationsBefore);
  });

  it('keeps a bot to its attached tools: a tool it was not given is neither offered nor run', async () => {
    fake.script(toolUseReply([{ name: 'files__write_file', input: { path: 'pwned.txt', content: 'x' } }]), textReply('I cannot write files.'));
    const client = await connectFullV2(botUrl('helper'), key);
    const result = await client.callTool('ask', { message: 'Write a file.' });
    await client.close();
    expect(textOf(result)).toBe('I cannot write files.');
    const offered = ((fake.requests[0]?.body as { tools?: Array<{ name: string }> } | undefined)?.tools ?? []).map((t) => t.name);
    expect(offered).toContain('files__read_file');
    expect(offered).not.toContain('files__write_file');
    expect(toolResultsSent(fake, 1)).toEqual([{ content: 'Unknown tool: files__write_file', is_error: true }]);
    const files = await connectFullV2(`${gateway.url}/t/${tenant}/mcp/servers/files`, key);
    const listed = await files.callTool('list_directory', { path: '.' });
    await files.close();
    expect(textOf(listed)).not.toContain('pwned.txt');
  });

  it('offers tools whose names are too long for the Messages API under names it takes, and runs them', async () => {
    const slug = 'engineering-team-shared-notes-archive-2026';
    must(await admin().post('/api/v1/servers', { json: { slug, kind: 'filesystem', config: { roots: ['files'] } } }), 201);
    must(await admin().post('/api/v1/bots', { json: { slug: 'archivist', model: 'claude-sonnet-4-5', description: 'Reads the archive.', system_prompt: 'You read.', servers: [{ slug, tools: ['list_allowed_directories', 'read_file'] }] } }), 201);
    const client = await connectFullV2(botUrl('archivist'), key);
    fake.script(textReply('Looking.'));
    expect(textOf(await client.callTool('ask', { message: 'What can you read?' }))).toBe('Looking.');
    const offered = ((fake.requests[0]?.body as { tools?: Array<{ name: string }> } | undefined)?.tools ?? []).map((t) => t.name);
    expect(`${slug}__list_allowed_directories`.length).toBeGreaterThan(64);
    expect(offered).toHaveLength(2);
    for (const name of offered) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    const listName = offered.find((name) => name.startsWith(`${slug}__list`));
    expect(listName).toBeDefined();

    fake.reset();
    fake.script(toolUseReply([{ name: listName!, input: {} }]), textReply('I can read /files.'));
    const result = await client.callTool('ask', { message: 'Which directories?' });
    await client.close();
    expect(textOf(result)).toBe('I can read /files.');
    expect(toolResultsSent(fake, 1)).toEqual([{ content: expect.stringContaining('/files') }]);
  });

  it('keeps a narrower key to its tools although a broader caller’s run of the same bot kept its tool list', async () => {
    const created = await admin().post<{ key: { secret: string } }>('/api/v1/keys', {
      json: { name: 'read only', scopes: ['mcp'], tools: ['files__read_file', 'bot__helper'] },
    });
    must(created, 201);
    const narrow = created.body.key.secret;
    const offeredIn = (index: number) => ((fake.requests[index]?.body as { tools?: Array<{ name: string }> } | undefined)?.tools ?? []).map((t) => t.name);
    const ask = async (secret: string, message: string) => {
      const client = await connectFullV2(botUrl('helper'), secret);
      try {
        return textOf(await client.callTool('ask', { message }));
      } finally {
        await client.close();
      }
    };

    // The owner's run lists both attached tools, and the gateway keeps that list.
    fake.script(textReply('Listed.'));
    expect(await ask(key, 'What can you do?')).toBe('Listed.');
    expect(offeredIn(0).sort()).toEqual(['files__list_directory', 'files__read_file']);

    // The narrower key's run is offered only what it may use, and a call beyond it is not run.
    fake.script(toolUseReply([{ name: 'files__list_directory', input: { path: '.' } }]), textReply('I can only read files.'));
    expect(await ask(narrow, 'List the files.')).toBe('I can only read files.');
    expect(offeredIn(1)).toEqual(['files__read_file']);
    expect(toolResultsSent(fake, 2)).toEqual([{ content: 'Unknown tool: files__list_directory', is_error: true }]);

    // And the owner's next run still sees its own list, not the narrower one.
    fake.script(textReply('Listed again.'));
    expect(await ask(key, 'What can you do now?')).toBe('Listed again.');
    expect(offeredIn(3).sort()).toEqual(['files__list_directory', 'files__read_file']);
  });

  it('refuses bad chat input and another tenant’s conversation, changing nothing', async () => {
    const other = (await seedTenant(dataDir, 'botrun-other')).key.secret;
    const before = (await admin().get<{ conversations: unknown[] }>('/api/v1/conversations?limit=200')).body.conversations.length;
    const missing = await admin().post('/api/v1/bots/helper/chat', { json: {} });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('message');
    expect((await admin().post('/api/v1/bots/nobody/chat', { json: { message: 'hi' } })).status).toBe(404);
    expect((await apiClient(gateway.url, other).post('/api/v1/bots/helper/chat', { json: { message: 'hi' } })).status).toBe(404);
    const foreign = await connectFullV2(`${gateway.url}/t/${tenant}/mcp/bots/helper`, other).catch((error: unknown) => error);
    expect(String(foreign)).toMatch(/404|not found/i);
    expect(fake.requests).toHaveLength(0);
    expect((await admin().get<{ conversations: unknown[] }>('/api/v1/conversations?limit=200')).body.conversations.length).toBe(before);
  });

  it('keeps the conversation consistent and the usage recorded when the client leaves mid-answer', async () => {
    const before = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body.total.calls;
    const stalled = messageEvents(textReply('This answer never finishes because the client leaves.', { input_tokens: 33, output_tokens: 9 }));
    const cut = stalled.findIndex((step) => 'event' in step && step.event === 'content_block_delta');
    fake.script(sseReply([...stalled.slice(0, cut + 1), { stallMs: 30_000 }, ...stalled.slice(cut + 1)]));
    const leaving = new AbortController();
    const response = await fetch(`${gateway.url}/api/v1/bots/helper/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Tell me a long story.' }),
      signal: leaving.signal,
    });
    const reader = response.body!.getReader();
    let seen = '';
    while (!seen.includes('event: content\n')) seen += new TextDecoder().decode((await reader.read()).value);
    const conversationId = /"conversation_id":"([^"]+)"/.exec(seen)?.[1];
    leaving.abort();

    const usage = await pollUntil('the cancelled call to be metered', async () => {
      const body = (await admin().get<UsageJson>('/api/v1/usage?group_by=bot')).body;
      return body.total.calls > before ? body : undefined;
    });
    expect(usage.total.calls).toBe(before + 1);
    const conversation = await admin().get<{ conversation: { messages: unknown[] } }>(`/api/v1/conversations/${conversationId}`);
    expect(conversation.body.conversation.messages).toEqual([]);
    expect(fake.requests[0]?.clientClosed).toBe(true);
  });

  it('lets a bot think before it answers, sending its signed thinking back with the tool results and keeping it private', async () => {
    fake.script(
      {
        kind: 'message',
        content: [
          { type: 'thinking', thinking: 'The notes file should say when the launch is.', signature: 'sig-thinker-1' },
          { type: 'tool_use', id: 'toolu_think_1', name: 'files__read_file', input: { path: 'notes.txt' } },
        ],
        usage: { input_tokens: 60, output_tokens: 40 },
        stopReason: 'tool_use',
      },
      textReply('Friday.'),
    );
    const client = await connectFullV2(botUrl('thinker'), key);
    const progress: unknown[] = [];
    const result = await client.callTool('ask', { message: 'When is the launch?' }, (event) => progress.push(event));
    await client.close();
    expect(textOf(result)).toBe('Friday.');
    const first = fake.requests[0]?.body as { thinking?: unknown; temperature?: unknown; max_tokens: number };
    expect(first).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048 }, max_tokens: 4096 });
    expect(first.temperature).toBeUndefined();
    const second = fake.requests[1]?.body as { messages: Array<{ role: string; content: Array<{ type: string; signature?: string }> }> };
    expect(second.messages[1]?.content.map((b) => b.type)).toEqual(['thinking', 'tool_use']);
    expect(second.messages[1]?.content[0]?.signature).toBe('sig-thinker-1');
    expect(JSON.stringify(progress)).not.toContain('should say when');
  });

  it('answers for a bot created without a system prompt, sending the API none', async () => {
    must(await admin().post('/api/v1/bots', { json: { slug: 'plain', model: 'claude-sonnet-4-5', description: 'Bot plain: no system prompt.' } }), 201);
    fake.script(textReply('Hello from a bot without a system prompt.'));
    const client = await connectFullV2(botUrl('plain'), key);
    const result = await client.callTool('ask', { message: 'Hello?' });
    await client.close();

    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe('Hello from a bot without a system prompt.');
    expect(fake.requests[0]?.body).not.toHaveProperty('system');
  });

  /** A reply with some text, then a call of files__read_file whose input `stopReason` cut short. */
  function cutReply(stopReason: string, usage: FakeUsage) {
    const reply = toolUseReply([{ name: 'files__read_file', input: { path: 'notes.txt', offset: 0, length: 4096 } }], usage, 'I will read the notes first.');
    return sseReply(cutInToolInput({ ...reply, stopReason }));
  }

  interface ConversationJson {
    conversation: { messages: Array<{ role: string; content: Array<{ type: string; text?: string }> }>; usage: { calls: number; input_tokens: number; output_tokens: number } };
  }

  it('answers with the text of a reply that max_tokens cut off inside a tool call, saying it stopped there, and meters every output token', async () => {
    fake.script(cutReply('max_tokens', { input_tokens: 400, output_tokens: 1000 }));
    const client = await connectFullV2(botUrl('helper'), key);
    const result = await client.callTool('ask', { message: 'Read the notes and tell me everything.' });
    await client.close();

    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe('I will read the notes first.');
    const structured = structuredOf(result);
    expect(structured).toMatchObject({ answer: 'I will read the notes first.', stop_reason: 'max_tokens' });
    expect(structured.usage).toEqual({ input_tokens: 400, output_tokens: 1000, cache_write_tokens: 0, cache_read_tokens: 0 });
    // No tool ran for the unfinished call, and the turn is stored without it.
    expect(fake.requests).toHaveLength(1);
    const conversation = (await admin().get<ConversationJson>(`/api/v1/conversations/${structured.conversation_id}`)).body.conversation;
    expect(conversation.messages.map((m) => [m.role, m.content.map((b) => b.text ?? b.type)])).toEqual([
      ['user', ['Read the notes and tell me everything.']],
      ['assistant', ['I will read the notes first.']],
    ]);
    expect(conversation.usage).toMatchObject({ calls: 1, input_tokens: 400, output_tokens: 1000 });
  });

  it('fails a reply that stopped for tool_use with a tool input that does not parse, saying so, and meters every output token', async () => {
    fake.script(cutReply('tool_use', { input_tokens: 300, output_tokens: 80 }));
    const turn = await chat('helper', { message: 'Read the notes.' });

    const started = turn.events[0]?.data as { conversation_id: string };
    expect(turn.events.find((e) => e.event === 'error')?.data).toEqual({
      code: 'run_failed',
      message: 'The bot could not answer: The model sent invalid JSON input for tool "files__read_file". Nothing of this turn was saved; try again later.',
    });
    // What the failed turn cost comes before the error, as a finished turn's does.
    const usage = turn.events.findIndex((e) => e.event === 'usage');
    expect(usage).toBeGreaterThan(-1);
    expect(usage).toBeLessThan(turn.events.findIndex((e) => e.event === 'error'));
    expect(turn.events[usage]?.data).toMatchObject({ usage: { input_tokens: 300, output_tokens: 80 } });
    expect(fake.requests).toHaveLength(1);
    const conversation = await pollUntil('the failed call to be metered', async () => {
      const body = (await admin().get<ConversationJson>(`/api/v1/conversations/${started.conversation_id}`)).body.conversation;
      return body.usage.calls > 0 ? body : undefined;
    });
    expect(conversation.messages).toEqual([]);
    expect(conversation.usage).toMatchObject({ calls: 1, input_tokens: 300, output_tokens: 80 });
  });
});
