import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicModelClient, type AnthropicModelClientOptions } from '../../src/bots/anthropic-model-client.ts';
import { createCircuitBreakerRegistry } from '../../src/bots/circuit-breaker.ts';
import { ModelError, type ModelEvent, type ModelRequest } from '../../src/bots/model-client.ts';
import {
  cutInToolInput,
  errorEvent,
  httpError,
  messageEvents,
  sseReply,
  startFakeAnthropic,
  textReply,
  thinkingReply,
  toolUseReply,
  type FakeAnthropic,
} from '../fakes/anthropic.ts';

const API_KEY = 'sk-ant-test-key';

const REQUEST: ModelRequest = {
  model: 'claude-sonnet-4-5',
  system: 'You are a careful assistant.',
  messages: [{ role: 'user', content: 'What is in notes.txt?' }],
  tools: [
    { name: 'fs__read_file', description: 'Read a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } },
    { name: 'fs__list_directory', description: 'List a directory', input_schema: { type: 'object', properties: { path: { type: 'string' } } } },
  ],
  maxTokens: 1024,
};

let fake: FakeAnthropic;

beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: API_KEY });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
});

function client(options: Partial<AnthropicModelClientOptions> = {}) {
  return createAnthropicModelClient({ apiKey: API_KEY, baseURL: fake.url, retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...options });
}

async function run(options: Partial<AnthropicModelClientOptions> = {}, request: ModelRequest = REQUEST, signal = new AbortController().signal) {
  const events: ModelEvent[] = [];
  const response = await client(options).stream(request, { signal, onEvent: (e) => events.push(e) });
  return { response, events };
}

async function failure(promise: Promise<unknown>): Promise<ModelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelError);
  return error as ModelError;
}

describe('Anthropic model client against the fake Messages API', () => {
  it('streams text in deltas and assembles it, with usage including cache fields', async () => {
    fake.script(textReply('Hello from the fake model!', { input_tokens: 120, output_tokens: 9, cache_creation_input_tokens: 2048, cache_read_input_tokens: 512 }));
    const { response, events } = await run();

    expect(response.content).toEqual([{ type: 'text', text: 'Hello from the fake model!' }]);
    expect(response.stopReason).toBe('end_turn');
    expect(response.usage).toEqual({ inputTokens: 120, outputTokens: 9, cacheCreationInputTokens: 2048, cacheReadInputTokens: 512 });
    expect(response.id).toMatch(/^msg_/);
    const deltas = events.filter((e) => e.type === 'text_delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((e) => e.text).join('')).toBe('Hello from the fake model!');
    expect(events.at(-1)).toEqual({ type: 'content_block_stop', index: 0 });
  });

  it('sends the API key, the version header, and cache_control on the system prompt and the last tool', async () => {
    fake.script(textReply('ok'));
    await run({}, { ...REQUEST, temperature: 0.2 });

    const [request] = fake.requests;
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers['anthropic-version']).toEqual(expect.any(String));
    const body = request?.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 1024, stream: true, temperature: 0.2 });
    expect(body['system']).toEqual([{ type: 'text', text: 'You are a careful assistant.', cache_control: { type: 'ephemeral' } }]);
    const tools = body['tools'] as Array<Record<string, unknown>>;
    expect(tools[0]).not.toHaveProperty('cache_control');
    expect(tools[1]).toMatchObject({ name: 'fs__list_directory', cache_control: { type: 'ephemeral' } });
  });

  it('sends no system prompt for a bot without one (the API refuses an empty text block), keeping the cache breakpoint on the last tool', async () => {
    fake.script(textReply('Hello without a system prompt.'));
    const { response } = await run({}, { ...REQUEST, system: '' });

    expect(response.content).toEqual([{ type: 'text', text: 'Hello without a system prompt.' }]);
    const body = fake.requests[0]?.body as Record<string, unknown>;
    expect(body).not.toHaveProperty('system');
    expect((body['tools'] as Array<Record<string, unknown>>).map((tool) => tool['cache_control'])).toEqual([undefined, { type: 'ephemeral' }]);
  });

  it('assembles several tool calls in one turn from split input_json_delta', async () => {
    fake.script(
      toolUseReply(
        [
          { name: 'fs__read_file', input: { path: 'notes/a "quoted" file.txt' } },
          { name: 'fs__list_directory', input: { path: '.', options: { depth: 2, hidden: false } } },
        ],
        { input_tokens: 50, output_tokens: 40 },
        'Let me look.',
      ),
    );
    const { response, events } = await run();

    expect(response.stopReason).toBe('tool_use');
    expect(response.content).toEqual([
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'fs__read_file', input: { path: 'notes/a "quoted" file.txt' } },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'fs__list_directory', input: { path: '.', options: { depth: 2, hidden: false } } },
    ]);
    const starts = events.filter((e) => e.type === 'tool_use_start');
    expect(starts.map((e) => e.name)).toEqual(['fs__read_file', 'fs__list_directory']);
    const pieces = events.filter((e) => e.type === 'tool_use_input_delta' && e.index === 2);
    expect(pieces.length).toBeGreaterThan(1);
    expect(JSON.parse(pieces.map((e) => (e.type === 'tool_use_input_delta' ? e.partialJson : '')).join(''))).toEqual({ path: '.', options: { depth: 2, hidden: false } });
  });

  it('assembles a thinking block with its signature and sends the thinking budget', async () => {
    fake.script(thinkingReply('First, consider the file list.', 'The answer is 42.'));
    const { response, events } = await run({}, { ...REQUEST, maxTokens: 4096, thinking: { budgetTokens: 2048 } });

    expect(response.content).toEqual([
      { type: 'thinking', thinking: 'First, consider the file list.', signature: expect.stringMatching(/^sig-/) },
      { type: 'text', text: 'The answer is 42.' },
    ]);
    expect(events.filter((e) => e.type === 'thinking_delta').length).toBeGreaterThan(1);
    expect(fake.requests[0]?.body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048 } });
  });

  it('names the tool when its streamed input is not valid JSON', async () => {
    const steps = messageEvents(toolUseReply([{ name: 'fs__read_file', input: { path: 'x' } }]));
    const broken = steps.map((step) =>
      'event' in step && step.event === 'content_block_delta' ? { ...step, data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"path": ' } } } : step,
    );
    fake.script(sseReply(broken));
    const error = await failure(run());
    expect(error.kind).toBe('invalid_response');
    expect(error.message).toContain('fs__read_file');
    // The stream was read to its end: the error carries the usage of message_delta, as billed.
    expect(error.usage).toEqual({ inputTokens: 10, outputTokens: 20, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
    expect(fake.requests).toHaveLength(1);
  });

  for (const stopReason of ['max_tokens', 'model_context_window_exceeded']) {
    it(`answers with the text of a reply stopped by ${stopReason} inside a tool call, leaving the call out, with the final usage`, async () => {
      const reply = toolUseReply([{ name: 'fs__read_file', input: { path: 'notes/a file with a long name.txt' } }], { input_tokens: 500, output_tokens: 1024 }, 'Let me read the notes.');
      fake.script(sseReply(cutInToolInput({ ...reply, stopReason })));
      const { response, events } = await run();

      expect(response.stopReason).toBe(stopReason);
      expect(response.content).toEqual([{ type: 'text', text: 'Let me read the notes.' }]);
      expect(response.usage).toEqual({ inputTokens: 500, outputTokens: 1024, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
      expect(events.filter((e) => e.type === 'text_delta').map((e) => e.text).join('')).toBe('Let me read the notes.');
      expect(fake.requests).toHaveLength(1);
    });
  }

  it('fails a plain call whose tool input is not an object with the usage of every attempt', async () => {
    const steps = messageEvents(textReply('lost', { input_tokens: 300, output_tokens: 5 }));
    const call = toolUseReply([{ name: 'fs__read_file', input: {} }], { input_tokens: 300, output_tokens: 40 });
    const refused = { ...call, content: call.content.map((block) => ({ ...block, input: 'notes.txt' as unknown as Record<string, unknown> })) };
    fake.script(sseReply([...steps.slice(0, 2), { cut: true }]), refused);
    const events: ModelEvent[] = [];
    const error = await failure(client().stream(REQUEST, { signal: new AbortController().signal, onEvent: (e) => events.push(e) }));

    expect(error).toMatchObject({ kind: 'invalid_response', message: 'The model sent a non-object input for tool "fs__read_file"' });
    // 300 + 1 tokens of the broken stream, 300 + 40 of the plain call.
    expect(error.usage).toEqual({ inputTokens: 600, outputTokens: 41, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
    expect(events).toEqual([]);
    expect(fake.requests.map((r) => (r.body as { stream?: boolean }).stream)).toEqual([true, false]);
  });

  it('retries after a 429, honouring retry-after', async () => {
    fake.script(httpError(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit', { 'retry-after': '0' }), textReply('after the wait'));
    const { response } = await run();
    expect(response.content).toEqual([{ type: 'text', text: 'after the wait' }]);
    expect(fake.requests).toHaveLength(2);
  });

  it('retries a 529 overloaded_error, then succeeds', async () => {
    fake.script(httpError(529, 'overloaded_error', 'Overloaded'), httpError(529, 'overloaded_error', 'Overloaded'), textReply('finally'));
    const { response } = await run();
    expect(response.content).toEqual([{ type: 'text', text: 'finally' }]);
    expect(fake.requests).toHaveLength(3);
  });

  it('gives up after the maximum attempts with the API error type', async () => {
    fake.script(httpError(529, 'overloaded_error', 'Overloaded'), httpError(529, 'overloaded_error', 'Overloaded'));
    const error = await failure(run({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }));
    expect(error).toMatchObject({ kind: 'overloaded', status: 529, apiErrorType: 'overloaded_error', retryable: true });
    expect(fake.requests).toHaveLength(2);
  });

  it('does not retry a bad API key', async () => {
    const error = await failure(createAnthropicModelClient({ apiKey: 'sk-ant-wrong', baseURL: fake.url }).stream(REQUEST, { signal: new AbortController().signal, onEvent: () => {} }));
    expect(error).toMatchObject({ kind: 'authentication', status: 401, retryable: false });
    expect(fake.requests).toHaveLength(1);
  });

  it('fails a mid-stream error after output with the partial usage, without retrying', async () => {
    const steps = messageEvents(textReply('Hello there, this is long', { input_tokens: 300, output_tokens: 50, cache_read_input_tokens: 100 }));
    fake.script(sseReply([...steps.slice(0, 5), errorEvent('overloaded_error', 'Overloaded')]), textReply('never sent'));
    const events: ModelEvent[] = [];
    const error = await failure(client().stream(REQUEST, { signal: new AbortController().signal, onEvent: (e) => events.push(e) }));

    expect(error).toMatchObject({ kind: 'overloaded', apiErrorType: 'overloaded_error', retryable: true, outputEmitted: true });
    expect(error.message).toContain('Overloaded');
    expect(error.usage).toEqual({ inputTokens: 300, outputTokens: 1, cacheCreationInputTokens: 0, cacheReadInputTokens: 100 });
    expect(events.some((e) => e.type === 'text_delta')).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a mid-stream error before any output and reports the discarded usage', async () => {
    const steps = messageEvents(textReply('x', { input_tokens: 300, output_tokens: 5 }));
    fake.script(sseReply([...steps.slice(0, 2), errorEvent('overloaded_error', 'Overloaded')]), textReply('second time'));
    const { response } = await run();
    expect(response.content).toEqual([{ type: 'text', text: 'second time' }]);
    expect(response.discardedUsage).toEqual({ inputTokens: 300, outputTokens: 1, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
    expect(fake.requests).toHaveLength(2);
  });

  it('falls back to one non-streaming call when the connection is cut before any output', async () => {
    const steps = messageEvents(textReply('lost'));
    fake.script(sseReply([...steps.slice(0, 2), { cut: true }]), textReply('from the plain call', { input_tokens: 10, output_tokens: 4 }));
    const { response, events } = await run();

    expect(response.content).toEqual([{ type: 'text', text: 'from the plain call' }]);
    expect(events).toEqual([
      { type: 'text_delta', index: 0, text: 'from the plain call' },
      { type: 'content_block_stop', index: 0 },
    ]);
    expect(fake.requests.map((r) => (r.body as { stream?: boolean }).stream)).toEqual([true, false]);
  });

  it('fails a connection cut after output without retrying', async () => {
    const steps = messageEvents(textReply('partial answer here'));
    fake.script(sseReply([...steps.slice(0, 4), { cut: true }]), textReply('never sent'));
    const error = await failure(run());
    expect(error).toMatchObject({ kind: 'connection', outputEmitted: true });
    expect(error.usage?.inputTokens).toBe(10);
    expect(fake.requests).toHaveLength(1);
  });

  it('aborts a stalled stream after the idle timeout', async () => {
    const steps = messageEvents(textReply('slow answer'));
    fake.script(sseReply([...steps.slice(0, 4), { stallMs: 10_000 }, ...steps.slice(4)]));
    const error = await failure(run({ idleTimeoutMs: 150 }));
    expect(error).toMatchObject({ kind: 'timeout', outputEmitted: true });
    expect(error.message).toContain('150 ms');
    expect(error.usage?.inputTokens).toBe(10);
    expect(fake.requests).toHaveLength(1);
  });

  it('aborts at the overall deadline', async () => {
    const steps = messageEvents(textReply('slow answer'));
    fake.script(sseReply([...steps.slice(0, 4), { stallMs: 10_000 }]));
    const error = await failure(run({ deadlineMs: 200 }));
    expect(error).toMatchObject({ kind: 'timeout', retryable: false });
    expect(error.message).toContain('deadline');
  });

  it('opens the circuit after consecutive failures and then fails fast without a request', async () => {
    const circuitBreakers = createCircuitBreakerRegistry({ failureThreshold: 2, cooldownMs: 60_000 });
    const options = { circuitBreakers, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } };
    fake.script(httpError(529, 'overloaded_error', 'Overloaded'), httpError(500, 'api_error', 'Internal server error'), textReply('unused'));
    expect((await failure(run(options))).kind).toBe('overloaded');
    expect((await failure(run(options))).kind).toBe('server_error');

    const error = await failure(run(options));
    expect(error.kind).toBe('circuit_open');
    expect(error.message).toMatch(/paused for another \d+ s/);
    expect(fake.requests).toHaveLength(2);
  });

  it('aborts the HTTP request when the caller cancels', async () => {
    const steps = messageEvents(textReply('a long answer'));
    fake.script(sseReply([...steps.slice(0, 4), { stallMs: 10_000 }, ...steps.slice(4)]));
    const controller = new AbortController();
    const pending = client().stream(REQUEST, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'text_delta') controller.abort();
      },
    });
    const error = await failure(pending);
    expect(error).toMatchObject({ kind: 'cancelled', retryable: false });
    expect(error.usage?.inputTokens).toBe(10);
    await expect.poll(() => fake.requests[0]?.clientClosed).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });
});
