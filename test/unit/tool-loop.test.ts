import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { describe, expect, it } from 'vitest';
import { ModelError, type ModelClient, type ModelContentBlock, type ModelRequest, type ModelResponse, type ModelUsage } from '../../src/bots/model-client.ts';
import { runToolLoop, type ModelCallReport, type RunEvent, type ToolClient, type ToolLoopInput, type ToolOutcome } from '../../src/bots/tool-loop.ts';

const usage = (inputTokens: number, outputTokens: number): ModelUsage => ({ inputTokens, outputTokens, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
const text = (t: string): ModelContentBlock => ({ type: 'text', text: t });
const toolUse = (id: string, name: string, input: Record<string, unknown> = {}): ModelContentBlock => ({ type: 'tool_use', id, name, input });
const question: MessageParam = { role: 'user', content: [{ type: 'text', text: 'What is open?' }] };

type Step = { content: ModelContentBlock[]; stopReason?: ModelResponse['stopReason']; usage?: ModelUsage; discardedUsage?: ModelUsage } | { error: unknown };

/** A model that answers each call with the next scripted step, streaming its blocks as the adapter would. */
function scriptedModel(steps: Step[]): ModelClient & { requests: ModelRequest[] } {
  const requests: ModelRequest[] = [];
  return {
    requests,
    async stream(request, { onEvent }) {
      requests.push(structuredClone(request));
      const step = steps[requests.length - 1];
      if (!step) throw new Error(`unexpected model call ${requests.length}`);
      if ('error' in step) throw step.error;
      step.content.forEach((block, index) => {
        if (block.type === 'text' && block.text !== '') onEvent({ type: 'text_delta', index, text: block.text });
        if (block.type === 'thinking') onEvent({ type: 'thinking_delta', index, thinking: block.thinking });
        if (block.type === 'tool_use') onEvent({ type: 'tool_use_start', index, id: block.id, name: block.name });
        onEvent({ type: 'content_block_stop', index });
      });
      const { content, stopReason = 'end_turn', usage: used = usage(10, 5), discardedUsage } = step;
      return { id: `msg_${requests.length}`, model: request.model, content, stopReason, usage: used, ...(discardedUsage && { discardedUsage }) };
    },
  };
}

/** Tools offered by name; a handler not given here is still listed but answers "ok". */
function fakeTools(handlers: Record<string, (input: Record<string, unknown>) => Promise<ToolOutcome>> = {}, names = ['gh__list_issues', 'gh__get_issue']) {
  const calls: Array<{ name: string; input: Record<string, unknown> }> = [];
  let listed = 0;
  const client: ToolClient = {
    async listTools() {
      listed += 1;
      return names.map((name) => ({ name, description: `Tool ${name}`, input_schema: { type: 'object' } }));
    },
    async callTool(name, input) {
      calls.push({ name, input });
      return handlers[name]?.(input) ?? { text: `${name} ok`, isError: false };
    },
  };
  return { client, calls, listed: () => listed };
}

function setup(model: ModelClient, tools: ToolClient, overrides: Partial<ToolLoopInput> = {}) {
  const events: RunEvent[] = [];
  const reports: ModelCallReport[] = [];
  const input: ToolLoopInput = {
    model,
    tools,
    request: { model: 'claude-haiku-4-5', system: 'You help.', maxTokens: 1024 },
    messages: [question],
    maxRounds: 5,
    signal: new AbortController().signal,
    onEvent: (event) => events.push(event),
    onModelCall: async (report) => {
      reports.push(report);
    },
    ...overrides,
  };
  return { input, events, reports };
}

describe('runToolLoop', () => {
  it('returns a plain answer in one call, offering the listed tools', async () => {
    const model = scriptedModel([{ content: [text('Nothing '), text('is open.')] }]);
    const request = { model: 'claude-haiku-4-5', system: 'You help.', maxTokens: 1024, temperature: 0.2 };
    const { input, events, reports } = setup(model, fakeTools().client, { request });
    const result = await runToolLoop(input);

    expect(result).toMatchObject({ text: 'Nothing is open.', stopReason: 'end_turn', rounds: 1, usage: usage(10, 5), last: { id: 'msg_1' } });
    expect(result.added).toEqual([{ role: 'assistant', content: [{ type: 'text', text: 'Nothing ' }, { type: 'text', text: 'is open.' }] }]);
    expect(events).toEqual([{ type: 'text_delta', text: 'Nothing ' }, { type: 'text_delta', text: 'is open.' }]);
    expect(reports).toEqual([{ model: 'claude-haiku-4-5', usage: usage(10, 5), stopReason: 'end_turn', error: null }]);
    expect(model.requests[0]).toMatchObject({ model: 'claude-haiku-4-5', system: 'You help.', maxTokens: 1024, temperature: 0.2, messages: [question] });
    expect(model.requests[0]?.tools.map((t) => t.name)).toEqual(['gh__list_issues', 'gh__get_issue']);
  });

  it('runs two tool rounds, sending each result back, and keeps thinking but not empty text', async () => {
    const thinking: ModelContentBlock = { type: 'thinking', thinking: 'List first.', signature: 'sig' };
    const model = scriptedModel([
      { content: [thinking, text(''), toolUse('tu_1', 'gh__list_issues', { state: 'open' })], stopReason: 'tool_use' },
      { content: [{ type: 'redacted_thinking', data: 'opaque' }, toolUse('tu_2', 'gh__get_issue', { number: 7 })], stopReason: 'tool_use' },
      { content: [text('Issue 7 is open.')], usage: usage(30, 8) },
    ]);
    const tools = fakeTools({ gh__list_issues: async () => ({ text: '#7 Crash', isError: false }) });
    const { input, events } = setup(model, tools.client);
    const result = await runToolLoop(input);

    const firstTurn: MessageParam[] = [
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'List first.', signature: 'sig' }, { type: 'tool_use', id: 'tu_1', name: 'gh__list_issues', input: { state: 'open' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: '#7 Crash' }] },
    ];
    expect(result.added).toEqual([
      ...firstTurn,
      { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'opaque' }, { type: 'tool_use', id: 'tu_2', name: 'gh__get_issue', input: { number: 7 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_2', content: 'gh__get_issue ok' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Issue 7 is open.' }] },
    ]);
    expect(model.requests.map((r) => r.messages.length)).toEqual([1, 3, 5]);
    expect(model.requests[1]?.messages).toEqual([question, ...firstTurn]);
    expect(tools.calls).toEqual([{ name: 'gh__list_issues', input: { state: 'open' } }, { name: 'gh__get_issue', input: { number: 7 } }]);
    expect(tools.listed()).toBe(1);
    expect(result).toMatchObject({ text: 'Issue 7 is open.', stopReason: 'end_turn', rounds: 3, usage: usage(50, 18) });
    expect(events.filter((e) => e.type === 'text_delta')).toEqual([{ type: 'text_delta', text: 'Issue 7 is open.' }]);
  });

  it('runs the tool calls of one turn concurrently and returns results in tool_use order', async () => {
    const started: string[] = [];
    const release = new Map<string, (outcome: ToolOutcome) => void>();
    const tools = fakeTools();
    tools.client.callTool = (name) =>
      new Promise((resolve) => {
        started.push(name);
        release.set(name, resolve);
      });
    const model = scriptedModel([
      { content: [toolUse('tu_1', 'gh__list_issues'), toolUse('tu_2', 'gh__get_issue')], stopReason: 'tool_use' },
      { content: [text('Done.')] },
    ]);
    const { input, events } = setup(model, tools.client);
    const running = runToolLoop(input);

    // One turn of the event loop runs every pending step; a sequential loop would have started one call only.
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['gh__list_issues', 'gh__get_issue']);
    release.get('gh__get_issue')?.({ text: 'second', isError: false });
    release.get('gh__list_issues')?.({ text: 'first', isError: false });
    const result = await running;

    expect(events.filter((e) => e.type === 'tool_result').map((e) => e.id)).toEqual(['tu_2', 'tu_1']);
    expect(result.added[1]).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'tu_1', content: 'first' },
        { type: 'tool_result', tool_use_id: 'tu_2', content: 'second' },
      ],
    });
  });

  it('sends failed tools back as is_error results, including a tool client that throws', async () => {
    const model = scriptedModel([
      { content: [toolUse('tu_1', 'gh__list_issues'), toolUse('tu_2', 'gh__get_issue')], stopReason: 'tool_use' },
      { content: [text('GitHub is failing.')] },
    ]);
    const tools = fakeTools({
      gh__list_issues: async () => ({ text: 'GitHub said 403: token lacks repo scope', isError: true }),
      gh__get_issue: async () => {
        throw new Error('socket hang up');
      },
    });
    const { input, events } = setup(model, tools.client);
    const result = await runToolLoop(input);

    expect(result.added[1]).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'tu_1', content: 'GitHub said 403: token lacks repo scope', is_error: true },
        { type: 'tool_result', tool_use_id: 'tu_2', content: 'The tool gh__get_issue failed: socket hang up', is_error: true },
      ],
    });
    expect(events.filter((e) => e.type === 'tool_result').every((e) => e.isError)).toBe(true);
    expect(result.text).toBe('GitHub is failing.');
  });

  it('answers a tool that was not listed without calling the tool client', async () => {
    const model = scriptedModel([{ content: [toolUse('tu_1', 'fs__delete_everything')], stopReason: 'tool_use' }, { content: [text('Sorry.')] }]);
    const tools = fakeTools();
    const { input, events } = setup(model, tools.client);
    const result = await runToolLoop(input);

    expect(tools.calls).toEqual([]);
    expect(result.added[1]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: 'Unknown tool: fs__delete_everything', is_error: true }] });
    expect(events).toContainEqual({ type: 'tool_result', id: 'tu_1', name: 'fs__delete_everything', isError: true, text: 'Unknown tool: fs__delete_everything' });
  });

  it('gives the model names the Messages API takes, and calls the tool by its own name', async () => {
    const long = 'a-forty-three-character-long-server-slug-x__trigger-long-running-operation';
    const dotted = 'docs__search.v2';
    const tools = fakeTools({}, [long, dotted, 'gh__get_issue']);
    const offered = (request: ModelRequest) => request.tools.map((tool) => tool.name);
    const first = scriptedModel([{ content: [text('ok')] }]);
    await runToolLoop(setup(first, tools.client).input);
    const [longName, dottedName, plain] = offered(first.requests[0]!);
    expect([longName, dottedName]).toEqual([expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), expect.stringMatching(/^docs__search_v2_[0-9a-f]{8}$/)]);
    expect(longName!.startsWith('a-forty-three-character-long-server-slug-x__tri')).toBe(true);
    expect(plain).toBe('gh__get_issue');

    const model = scriptedModel([{ content: [toolUse('tu_1', longName!, { n: 1 }), toolUse('tu_2', dottedName!)], stopReason: 'tool_use' }, { content: [text('Done.')] }]);
    const { input, events } = setup(model, tools.client);
    const result = await runToolLoop(input);

    expect(tools.calls).toEqual([{ name: long, input: { n: 1 } }, { name: dotted, input: {} }]);
    expect(offered(model.requests[1]!)).toEqual([longName, dottedName, 'gh__get_issue']);
    expect(result.added[0]).toMatchObject({ role: 'assistant', content: [{ type: 'tool_use', name: longName }, { type: 'tool_use', name: dottedName }] });
    expect(events).toContainEqual({ type: 'tool_result', id: 'tu_1', name: long, isError: false, text: `${long} ok` });
  });

  it('keeps two long names that start alike apart', async () => {
    const prefix = `${'s'.repeat(40)}__${'t'.repeat(30)}`;
    const tools = fakeTools({}, [`${prefix}_one`, `${prefix}_two`]);
    const model = scriptedModel([{ content: [text('ok')] }]);
    await runToolLoop(setup(model, tools.client).input);
    const names = model.requests[0]!.tools.map((tool) => tool.name);
    expect(new Set(names).size).toBe(2);
  });

  it('stops at maxRounds without running the last tools, dropping the unanswered tool_use message but keeping its text', async () => {
    const model = scriptedModel([
      { content: [text('Checking.'), toolUse('tu_1', 'gh__list_issues')], stopReason: 'tool_use' },
      { content: [text('Checking again.'), toolUse('tu_2', 'gh__list_issues')], stopReason: 'tool_use' },
    ]);
    const tools = fakeTools();
    const { input, events, reports } = setup(model, tools.client, { maxRounds: 2 });
    const result = await runToolLoop(input);

    expect(result).toMatchObject({ stopReason: 'max_rounds', rounds: 2, text: 'Checking again.', usage: usage(20, 10), last: { id: 'msg_2' } });
    expect(result.added).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'tu_1', name: 'gh__list_issues', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: 'gh__list_issues ok' }] },
    ]);
    expect(tools.calls).toHaveLength(1);
    expect(events.filter((e) => e.type === 'tool_use').map((e) => e.id)).toEqual(['tu_1']);
    expect(reports).toHaveLength(2);
  });

  it('reports a failed call with the usage billed so far, then rethrows the error', async () => {
    const failure = new ModelError('overloaded', 'Anthropic API error (529 overloaded_error): Overloaded', { usage: usage(40, 3), outputEmitted: true });
    const model = scriptedModel([{ content: [toolUse('tu_1', 'gh__list_issues')], stopReason: 'tool_use' }, { error: failure }]);
    const { input, reports } = setup(model, fakeTools().client);

    await expect(runToolLoop(input)).rejects.toBe(failure);
    expect(reports).toEqual([
      { model: 'claude-haiku-4-5', usage: usage(10, 5), stopReason: 'tool_use', error: null },
      { model: 'claude-haiku-4-5', usage: usage(40, 3), stopReason: null, error: 'Anthropic API error (529 overloaded_error): Overloaded' },
    ]);
  });

  it('reports zero usage for a failure that is not a ModelError', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    const { input, reports } = setup(scriptedModel([{ error: bug }]), fakeTools().client);

    await expect(runToolLoop(input)).rejects.toBe(bug);
    expect(reports).toEqual([{ model: 'claude-haiku-4-5', usage: usage(0, 0), stopReason: null, error: 'cannot read properties of undefined' }]);
  });

  it('counts usage of discarded attempts in the report and the total', async () => {
    const model = scriptedModel([{ content: [text('Hi.')], usage: usage(10, 5), discardedUsage: usage(10, 2) }]);
    const { input, reports } = setup(model, fakeTools().client);
    const result = await runToolLoop(input);

    expect(reports[0]?.usage).toEqual(usage(20, 7));
    expect(result.usage).toEqual(usage(20, 7));
  });

  it('counts in the run’s usage its own model calls only, not what nested bots report (the runner adds those)', async () => {
    const model = scriptedModel([
      { content: [toolUse('tu_1', 'bot__triage'), toolUse('tu_2', 'bot__writer'), toolUse('tu_3', 'gh__list_issues')], stopReason: 'tool_use' },
      { content: [text('Triaged.')] },
    ]);
    const handlers = {
      bot__triage: async () => ({ text: 'triaged', isError: false, nested: { usage: usage(100, 20), costUsd: '0.0012', unpricedCalls: 2 } }),
      bot__writer: async () => ({ text: 'written', isError: false, nested: { usage: usage(50, 10), costUsd: null, unpricedCalls: 0 } }),
    };
    const { input } = setup(model, fakeTools(handlers, ['bot__triage', 'bot__writer', 'gh__list_issues']).client);
    const result = await runToolLoop(input);

    expect(result.usage).toEqual(usage(20, 10));
  });

  it('makes no model call once the signal is aborted', async () => {
    const aborted = setup(scriptedModel([]), fakeTools().client, { signal: AbortSignal.abort() });
    await expect(runToolLoop(aborted.input)).rejects.toMatchObject({ name: 'AbortError' });
    expect(aborted.reports).toEqual([]);

    const controller = new AbortController();
    const reason = new Error('client went away');
    const model = scriptedModel([{ content: [toolUse('tu_1', 'gh__list_issues')], stopReason: 'tool_use' }, { content: [text('never')] }]);
    const tools = fakeTools({
      gh__list_issues: async () => {
        controller.abort(reason);
        return { text: 'late', isError: false };
      },
    });
    const { input, reports } = setup(model, tools.client, { signal: controller.signal });

    await expect(runToolLoop(input)).rejects.toBe(reason);
    expect(model.requests).toHaveLength(1);
    expect(reports).toHaveLength(1);
  });

  it('propagates a tool client throw after cancellation instead of turning it into a result', async () => {
    const controller = new AbortController();
    const model = scriptedModel([{ content: [toolUse('tu_1', 'gh__list_issues')], stopReason: 'tool_use' }]);
    const tools = fakeTools({
      gh__list_issues: async () => {
        controller.abort();
        throw new DOMException('This operation was aborted', 'AbortError');
      },
    });
    const { input, events } = setup(model, tools.client, { signal: controller.signal });

    await expect(runToolLoop(input)).rejects.toMatchObject({ name: 'AbortError' });
    expect(events.some((e) => e.type === 'tool_result')).toBe(false);
  });

  it('emits text deltas, then tool_use once the response is complete, then tool_result, in order', async () => {
    const model = scriptedModel([
      { content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }, text('Let me look.'), toolUse('tu_1', 'gh__get_issue', { number: 7 })], stopReason: 'tool_use' },
      { content: [text('It is open.')] },
    ]);
    const { input, events } = setup(model, fakeTools({ gh__get_issue: async () => ({ text: '#7 open', isError: false }) }).client);
    await runToolLoop(input);

    expect(events).toEqual([
      { type: 'text_delta', text: 'Let me look.' },
      { type: 'tool_use', id: 'tu_1', name: 'gh__get_issue', input: { number: 7 } },
      { type: 'tool_result', id: 'tu_1', name: 'gh__get_issue', isError: false, text: '#7 open' },
      { type: 'text_delta', text: 'It is open.' },
    ]);
  });
});
