import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { describe, expect, it } from 'vitest';
import { createMessageAssembler } from '../../src/bots/message-assembler.ts';
import { ModelError, type ModelEvent } from '../../src/bots/model-client.ts';

const start = {
  type: 'message_start',
  message: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-haiku-4-5',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 25, output_tokens: 1, cache_creation_input_tokens: null, cache_read_input_tokens: 7 },
  },
} as unknown as RawMessageStreamEvent;

const events = (list: unknown[]) => list as RawMessageStreamEvent[];

describe('message assembler', () => {
  it('keeps message_start usage where message_delta has nulls, and takes cumulative output tokens', () => {
    const assembler = createMessageAssembler(() => {});
    for (const event of events([
      start,
      { type: 'content_block_start', index: 0, content_block: { type: 'redacted_thinking', data: 'opaque' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'citations_delta', citation: {} } },
      { type: 'content_block_stop', index: 1 },
      { type: 'some_future_event' },
      { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 12, input_tokens: null, cache_creation_input_tokens: null, cache_read_input_tokens: null } },
      { type: 'message_stop' },
    ])) {
      assembler.apply(event);
    }
    expect(assembler.finish()).toEqual({
      id: 'msg_1',
      model: 'claude-haiku-4-5',
      content: [
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'Hi' },
      ],
      stopReason: 'max_tokens',
      usage: { inputTokens: 25, outputTokens: 12, cacheCreationInputTokens: 0, cacheReadInputTokens: 7 },
    });
  });

  it('treats an empty tool input as {} and reports output only once an event reached the caller', () => {
    const seen: ModelEvent[] = [];
    const assembler = createMessageAssembler((e) => seen.push(e));
    assembler.apply(start);
    expect(assembler.outputEmitted()).toBe(false);
    expect(assembler.usage()?.inputTokens).toBe(25);
    for (const event of events([
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'gh__list_issues', input: {} } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 3 } },
      { type: 'message_stop' },
    ])) {
      assembler.apply(event);
    }
    expect(assembler.outputEmitted()).toBe(true);
    expect(assembler.finish().content).toEqual([{ type: 'tool_use', id: 'toolu_1', name: 'gh__list_issues', input: {} }]);
    expect(seen.map((e) => e.type)).toEqual(['tool_use_start', 'content_block_stop']);
  });

  it('refuses a tool input that is JSON but not an object, naming the tool, once the stream has ended with its usage', () => {
    const assembler = createMessageAssembler(() => {});
    for (const event of events([
      start,
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't', name: 'fs__write_file', input: {} } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '[1,2]' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ])) {
      assembler.apply(event);
    }
    expect(() => assembler.finish()).toThrow(/fs__write_file/);
    expect(assembler.usage()?.outputTokens).toBe(9);
  });

  it('refuses to finish a stream that never reached message_stop', () => {
    const assembler = createMessageAssembler(() => {});
    assembler.apply(start);
    expect(assembler.complete()).toBe(false);
    expect(() => assembler.finish()).toThrow(ModelError);
  });
});
