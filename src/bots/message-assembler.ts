import type { Message, RawMessageStreamEvent, StopReason, Usage } from '@anthropic-ai/sdk/resources/messages';
import { ModelError, type ModelContentBlock, type ModelEvent, type ModelResponse, type ModelUsage } from './model-client.ts';

type PartialBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; json: string; input: Record<string, unknown> | undefined }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string };

/** Assembles raw Messages API stream events into a response, forwarding caller events. */
export interface MessageAssembler {
  apply(event: RawMessageStreamEvent): void;
  /** Usage known so far; undefined before `message_start`. */
  usage(): ModelUsage | undefined;
  /** Whether any event reached the caller. */
  outputEmitted(): boolean;
  /** Whether `message_stop` arrived. */
  complete(): boolean;
  /** The assembled response; throws unless the stream completed. */
  finish(): ModelResponse;
}

/** Maps the API's usage (nullable cache fields) to ours. */
export function toModelUsage(usage: Pick<Usage, 'input_tokens' | 'output_tokens' | 'cache_creation_input_tokens' | 'cache_read_input_tokens'>): ModelUsage {
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cacheCreationInputTokens: usage.cache_creation_input_tokens ?? 0,
    cacheReadInputTokens: usage.cache_read_input_tokens ?? 0,
  };
}

function parseToolInput(name: string, json: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = json === '' ? {} : JSON.parse(json);
  } catch (error) {
    throw new ModelError('invalid_response', `The model sent invalid JSON input for tool "${name}"`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelError('invalid_response', `The model sent a non-object input for tool "${name}"`);
  }
  return value as Record<string, unknown>;
}

/** A fresh assembler for one streamed response. */
export function createMessageAssembler(onEvent: (event: ModelEvent) => void): MessageAssembler {
  let id = '';
  let model = '';
  let usage: ModelUsage | undefined;
  let stopReason: StopReason | null = null;
  let stopped = false;
  let emitted = false;
  const blocks = new Map<number, PartialBlock>();

  const emit = (event: ModelEvent) => {
    emitted = true;
    onEvent(event);
  };
  const blockAt = (index: number): PartialBlock => {
    const block = blocks.get(index);
    if (!block) throw new ModelError('invalid_response', `Stream event for unknown content block ${index}`);
    return block;
  };

  const apply = (event: RawMessageStreamEvent): void => {
    switch (event.type) {
      case 'message_start':
        id = event.message.id;
        model = event.message.model;
        usage = toModelUsage(event.message.usage);
        return;
      case 'content_block_start': {
        const block = event.content_block;
        if (block.type === 'text') {
          blocks.set(event.index, { type: 'text', text: block.text });
          if (block.text !== '') emit({ type: 'text_delta', index: event.index, text: block.text });
        } else if (block.type === 'tool_use') {
          blocks.set(event.index, { type: 'tool_use', id: block.id, name: block.name, json: '', input: undefined });
          emit({ type: 'tool_use_start', index: event.index, id: block.id, name: block.name });
        } else if (block.type === 'thinking') {
          blocks.set(event.index, { type: 'thinking', thinking: block.thinking, signature: block.signature });
        } else if (block.type === 'redacted_thinking') {
          blocks.set(event.index, { type: 'redacted_thinking', data: block.data });
        }
        // Other block types (server tools) are not requested by this gateway: skip them.
        return;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        if (!blocks.has(event.index)) return; // a skipped block type
        const block = blockAt(event.index);
        if (delta.type === 'text_delta' && block.type === 'text') {
          block.text += delta.text;
          emit({ type: 'text_delta', index: event.index, text: delta.text });
        } else if (delta.type === 'input_json_delta' && block.type === 'tool_use') {
          block.json += delta.partial_json;
          if (delta.partial_json !== '') emit({ type: 'tool_use_input_delta', index: event.index, partialJson: delta.partial_json });
        } else if (delta.type === 'thinking_delta' && block.type === 'thinking') {
          block.thinking += delta.thinking;
          emit({ type: 'thinking_delta', index: event.index, thinking: delta.thinking });
        } else if (delta.type === 'signature_delta' && block.type === 'thinking') {
          block.signature += delta.signature;
        }
        // citations_delta and future delta types carry nothing the loop uses.
        return;
      }
      case 'content_block_stop': {
        if (!blocks.has(event.index)) return;
        const block = blockAt(event.index);
        if (block.type === 'tool_use') block.input = parseToolInput(block.name, block.json);
        emit({ type: 'content_block_stop', index: event.index });
        return;
      }
      case 'message_delta': {
        stopReason = event.delta.stop_reason ?? stopReason;
        // message_delta usage is cumulative; input and cache counts may be null there.
        const base = usage ?? { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
        usage = {
          inputTokens: event.usage.input_tokens ?? base.inputTokens,
          outputTokens: event.usage.output_tokens,
          cacheCreationInputTokens: event.usage.cache_creation_input_tokens ?? base.cacheCreationInputTokens,
          cacheReadInputTokens: event.usage.cache_read_input_tokens ?? base.cacheReadInputTokens,
        };
        return;
      }
      case 'message_stop':
        stopped = true;
        return;
      default:
        // Versioning policy: new event types may appear; ignore them.
        return;
    }
  };

  const finish = (): ModelResponse => {
    if (!stopped || !usage || stopReason === null) {
      throw new ModelError('connection', 'The model stream ended before message_stop', { retryable: true });
    }
    const content: ModelContentBlock[] = [...blocks.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, block]) => {
        if (block.type !== 'tool_use') return block;
        return { type: 'tool_use', id: block.id, name: block.name, input: block.input ?? parseToolInput(block.name, block.json) };
      });
    return { id, model, content, stopReason, usage };
  };

  return { apply, usage: () => usage, outputEmitted: () => emitted, complete: () => stopped, finish };
}

/**
 * A non-streamed message as a response, replaying it to the caller as events
 * so a fallback call looks the same to the tool loop as a streamed one.
 */
export function responseFromMessage(message: Message, onEvent: (event: ModelEvent) => void): ModelResponse {
  const content: ModelContentBlock[] = [];
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      onEvent({ type: 'text_delta', index, text: block.text });
      content.push({ type: 'text', text: block.text });
    } else if (block.type === 'tool_use') {
      const input = block.input;
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new ModelError('invalid_response', `The model sent a non-object input for tool "${block.name}"`);
      }
      onEvent({ type: 'tool_use_start', index, id: block.id, name: block.name });
      onEvent({ type: 'tool_use_input_delta', index, partialJson: JSON.stringify(input) });
      content.push({ type: 'tool_use', id: block.id, name: block.name, input: input as Record<string, unknown> });
    } else if (block.type === 'thinking') {
      onEvent({ type: 'thinking_delta', index, thinking: block.thinking });
      content.push({ type: 'thinking', thinking: block.thinking, signature: block.signature });
    } else if (block.type === 'redacted_thinking') {
      content.push({ type: 'redacted_thinking', data: block.data });
    } else {
      return;
    }
    onEvent({ type: 'content_block_stop', index });
  });
  return { id: message.id, model: message.model, content, stopReason: message.stop_reason ?? 'end_turn', usage: toModelUsage(message.usage) };
}
