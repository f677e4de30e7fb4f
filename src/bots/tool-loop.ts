import type { ContentBlockParam, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import {
  addUsage,
  ModelError,
  ZERO_USAGE,
  type ModelClient,
  type ModelContentBlock,
  type ModelEvent,
  type ModelRequest,
  type ModelResponse,
  type ModelTool,
  type ModelUsage,
} from './model-client.ts';
import { modelToolNames } from './model-tool-names.ts';

/** What a tool call gave back, in the form the model reads it. */
export interface ToolOutcome {
  /** Text for the model's `tool_result` block. */
  text: string;
  isError: boolean;
  /**
   * Model usage the tool itself incurred (a nested bot), answer or failure: the
   * runner adds it to the run's totals as the call returns, so an ask reports
   * the cost of everything it caused, also when it fails later. `costUsd` is
   * what its priced calls cost (null: unknown, counted as one unpriced call),
   * `unpricedCalls` how many of its calls had no price.
   */
  nested?: { usage: ModelUsage; costUsd: string | null; unpricedCalls: number } | undefined;
}

/** The tools of one run, reached through MCP; the gateway supplies the adapter. */
export interface ToolClient {
  /** The tools the bot may use, named as in the aggregate endpoint (`{server}__{tool}`, `bot__{slug}`). */
  listTools(signal: AbortSignal): Promise<ModelTool[]>;
  /** Runs one tool. Failures the model can act on come back as `isError` outcomes, never as throws. */
  callTool(name: string, input: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutcome>;
}

/** What happens during a run, in order, for progress notifications and the chat stream. */
export type RunEvent =
  | { type: 'text_delta'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; id: string; name: string; isError: boolean; text: string };

/** One finished (or failed) model call, reported before the loop goes on so metering loses nothing. */
export interface ModelCallReport {
  model: string;
  usage: ModelUsage;
  stopReason: string | null;
  /** Set when the call failed; usage is then what the API billed before the failure. */
  error: string | null;
}

/** Everything one run needs; the loop itself does no I/O but through `model` and `tools`. */
export interface ToolLoopInput {
  model: ModelClient;
  tools: ToolClient;
  request: { model: string; system: string; maxTokens: number; temperature?: number | undefined; thinking?: { budgetTokens: number } | undefined };
  /** The conversation so far, ending with the new user message. */
  messages: MessageParam[];
  /** Most model calls in one run; the run stops with stopReason `max_rounds` past it. */
  maxRounds: number;
  signal: AbortSignal;
  onEvent: (event: RunEvent) => void;
  /** Awaited after every model call, successful or not. */
  onModelCall: (report: ModelCallReport) => Promise<void>;
}

/** What a finished run gives back for the caller to persist, meter and answer with. */
export interface ToolLoopResult {
  /** The messages this run added after the input (assistant turns and tool results), to persist as one turn. */
  added: MessageParam[];
  /** The final answer: the text blocks of the last assistant message. */
  text: string;
  /** The last model call's stop reason, or `max_rounds`. */
  stopReason: string;
  /** Usage of this run's own model calls. */
  usage: ModelUsage;
  rounds: number;
  /** The last model response, for its id and model. */
  last: ModelResponse | undefined;
}

/**
 * Runs the Claude tool loop: lists the tools once, then calls the model and
 * runs the tools it asks for until it stops asking or `maxRounds` calls were
 * made. Pure: all I/O goes through `input.model` and `input.tools`.
 *
 * What the caller must know:
 * - Every model call is reported through `onModelCall` (awaited) before the
 *   loop goes on, also a failed one; the error is then rethrown unchanged.
 *   The report names the requested model (`input.request.model`), the pricing
 *   key of the bot, also when the call failed before any response.
 * - All tool calls of one turn run concurrently; their results go back to the
 *   model in the order of the tool_use blocks. A tool name that was not
 *   listed is answered with an `Unknown tool` error result without calling
 *   the client; a throw from `callTool` becomes an error result unless the
 *   signal is aborted, in which case it propagates and no further events are
 *   emitted.
 * - An assistant message with tool_use blocks that will get no results (the
 *   `max_rounds` stop, or a stop reason other than `tool_use` that still
 *   carries tool_use blocks) is left out of `added`, because the API rejects a
 *   history with unanswered tool_use blocks; its text is still the answer
 *   `text`. An assistant message with no content is left out for the same
 *   reason.
 */
export async function runToolLoop(input: ToolLoopInput): Promise<ToolLoopResult> {
  const { signal } = input;
  if (!Number.isInteger(input.maxRounds) || input.maxRounds < 1) {
    throw new RangeError(`maxRounds must be a positive integer, got ${input.maxRounds}`);
  }
  signal.throwIfAborted();
  const listed = await input.tools.listTools(signal);
  const names = modelToolNames(listed.map((tool) => tool.name));
  const tools = listed.map((tool) => ({ ...tool, name: names.toModel(tool.name) }));
  const added: MessageParam[] = [];
  let usage: ModelUsage = { ...ZERO_USAGE };

  for (let rounds = 1; ; rounds += 1) {
    // Checked here rather than only in the client, so a cancelled run makes no further call.
    signal.throwIfAborted();
    const response = await callModel(input, [...input.messages, ...added], tools);
    usage = addUsage(usage, callUsage(response));

    const calls = response.content.filter((block) => block.type === 'tool_use');
    const assistant = toAssistantMessage(response.content);
    const wantsTools = response.stopReason === 'tool_use' && calls.length > 0;
    const finish = (stopReason: string): ToolLoopResult => {
      // Unanswered tool_use blocks would make the stored history invalid for the next call.
      if (assistant && calls.length === 0) added.push(assistant);
      return { added, text: answerText(response.content), stopReason, usage, rounds, last: response };
    };
    if (!wantsTools) return finish(response.stopReason);
    if (rounds >= input.maxRounds) return finish('max_rounds');

    // `wantsTools` implies a tool_use block, so the message is never empty here.
    if (assistant) added.push(assistant);
    for (const call of calls) input.onEvent({ type: 'tool_use', id: call.id, name: names.fromModel(call.name) ?? call.name, input: call.input });
    const results = await Promise.all(calls.map(async (call) => ({ call, outcome: await runTool(input, names.fromModel(call.name), call) })));
    added.push({
      role: 'user',
      content: results.map(({ call, outcome }) => ({
        type: 'tool_result' as const,
        tool_use_id: call.id,
        content: outcome.text,
        ...(outcome.isError && { is_error: true }),
      })),
    });
  }
}

type ToolUseBlock = Extract<ModelContentBlock, { type: 'tool_use' }>;

/** One model call, reported to `onModelCall` whether it succeeded or failed. */
async function callModel(input: ToolLoopInput, messages: MessageParam[], tools: ModelTool[]): Promise<ModelResponse> {
  const { request, signal } = input;
  const modelRequest: ModelRequest = {
    model: request.model,
    system: request.system,
    maxTokens: request.maxTokens,
    messages,
    tools,
    ...(request.temperature !== undefined && { temperature: request.temperature }),
    ...(request.thinking && { thinking: request.thinking }),
  };
  const onEvent = (event: ModelEvent) => {
    // tool_use is announced once its input is complete; thinking stays private.
    if (event.type === 'text_delta') input.onEvent({ type: 'text_delta', text: event.text });
  };
  let response: ModelResponse;
  try {
    response = await input.model.stream(modelRequest, { signal, onEvent });
  } catch (error) {
    // Whatever the API billed before the failure is still metered.
    const billed = error instanceof ModelError ? (error.usage ?? ZERO_USAGE) : ZERO_USAGE;
    const message = error instanceof Error ? error.message : String(error);
    await input.onModelCall({ model: request.model, usage: { ...billed }, stopReason: null, error: message });
    throw error;
  }
  await input.onModelCall({ model: request.model, usage: callUsage(response), stopReason: response.stopReason, error: null });
  return response;
}

/** A call's usage including retried attempts the API billed but discarded. */
function callUsage(response: ModelResponse): ModelUsage {
  return response.discardedUsage ? addUsage(response.usage, response.discardedUsage) : response.usage;
}

/**
 * Runs one tool call, `name` being the listed tool's name for the one the
 * model called (undefined: it was not offered); only a cancellation escapes
 * as a throw.
 */
async function runTool(input: ToolLoopInput, name: string | undefined, call: ToolUseBlock): Promise<ToolOutcome> {
  const { signal } = input;
  let outcome: ToolOutcome;
  if (name === undefined) {
    // The model named a tool it was not offered: it must not reach the client.
    outcome = { text: `Unknown tool: ${call.name}`, isError: true };
  } else {
    try {
      outcome = await input.tools.callTool(name, call.input, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      outcome = { text: `The tool ${name} failed: ${message}`, isError: true };
    }
  }
  // After a cancellation the run has already failed: its listeners hear nothing more.
  if (!signal.aborted) input.onEvent({ type: 'tool_result', id: call.id, name: name ?? call.name, isError: outcome.isError, text: outcome.text });
  return outcome;
}

/** The response as an assistant message param, or undefined when nothing is left to send back. */
function toAssistantMessage(content: ModelContentBlock[]): MessageParam | undefined {
  const blocks: ContentBlockParam[] = [];
  for (const block of content) {
    if (block.type === 'text') {
      // The API rejects empty text blocks in a request.
      if (block.text !== '') blocks.push({ type: 'text', text: block.text });
    } else if (block.type === 'tool_use') {
      blocks.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input });
    } else if (block.type === 'thinking') {
      blocks.push({ type: 'thinking', thinking: block.thinking, signature: block.signature });
    } else {
      blocks.push({ type: 'redacted_thinking', data: block.data });
    }
  }
  return blocks.length > 0 ? { role: 'assistant', content: blocks } : undefined;
}

function answerText(content: ModelContentBlock[]): string {
  return content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}
