import type { Message, RawMessageStreamEvent, StopReason, Usage } from '@anthropic-ai/sdk/resources/messages';
import { ModelError, type ModelContentBlock, type ModelEvent, type ModelResponse, type ModelUsage } from './model-client.ts';

type PartialBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; json: string; input: ToolInput | undefined }
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
  /**
   * The assembled response; throws unless the stream completed, or when it stopped for
   * `tool_use` with a tool input that is not a JSON object (`usage()` is then the final usage).
   */
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

/** A tool call's input, or why it is not one. */
type ToolInput = { ok: true; input: Record<string, unknown> } | { ok: false; error: ModelError };

function toToolInput(name: string, value: unknown): ToolInput {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new ModelError('invalid_response', `The model sent a non-object input for tool "${name}"`) };
  }
  return { ok: true, input: value as Record<string, unknown> };
}

function parseToolInput(name: string, json: string): ToolInput {
  let value: unknown;
  try {
    value = json === '' ? {} : JSON.parse(json);
  } catch (error) {
    return { ok: false, error: new ModelError('invalid_response', `The model sent invalid JSON input for tool "${name}"`, { cause: error }) };
  }
  return toToolInput(name, value);
}

/**
 * A tool call of a reply, judged by the reply's stop reason. An input that is not
 * a JSON object fails a reply that stopped for `tool_use`. A reply that stopped
 * for another reason (`max_tokens`, the context window) may end inside a tool
 * call whose input was never finished: that call is left out (undefined) and the
 * rest of the reply stands, as no tool is run for such a reply.
 */
function toolUseBlock(block: { id: string; name: string; input: ToolInput }, stopReason: StopReason): ModelContentBlock | undefined {
  if (block.input.ok) return { type: 'tool_use', id: block.id, name: block.name, input: block.input.input };
  if (stopReason === 'tool_use') throw block.input.error;
  return undefined;
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
        // An input that does not parse is judged in finish(), by the stop reason: the stream is read to its end
        // either way, for the final usage in message_delta.
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
    const content: ModelContentBlock[] = [];
    for (const [, block] of [...blocks.entries()].sort(([a], [b]) => a - b)) {
      const kept = block.type === 'tool_use' ? toolUseBlock({ ...block, input: block.input ?? parseToolInput(block.name, block.json) }, stopReason) : block;
      if (kept) content.push(kept);
    }
    return { id, model, content, stopReason, usage };
  };

  return { apply, usage: () => usage, outputEmitted: () => emitted, complete: () => stopped, finish };
}

/**
 * A non-streamed message as a response, replaying it to the caller as events
 * so a fallback call looks the same to the tool loop as a streamed one.
 */
export function responseFromMessage(message: Message, onEvent: (event: ModelEvent) => void): ModelResponse {
  const stopReason = message.stop_reason ?? 'end_turn';
  // Judged before any event, so that a refused message replays nothing.
  const calls = message.content.map((block) =>
    block.type === 'tool_use' ? toolUseBlock({ id: block.id, name: block.name, input: toToolInput(block.name, block.input) }, stopReason) : undefined,
  );
  const content: ModelContentBlock[] = [];
  message.content.forEach((block, index) => {
    const call = calls[index];
    if (block.type === 'text') {
      onEvent({ type: 'text_delta', index, text: block.text });
      content.push({ type: 'text', text: block.text });
    } else if (call?.type === 'tool_use') {
      onEvent({ type: 'tool_use_start', index, id: call.id, name: call.name });
      onEvent({ type: 'tool_use_input_delta', index, partialJson: JSON.stringify(call.input) });
      content.push(call);
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
  return { id: message.id, model: message.model, content, stopReason, usage: toModelUsage(message.usage) };
}
