import { randomUUID } from 'node:crypto';
import type { StopReason } from '@anthropic-ai/sdk/resources/messages';
import type { ToolClientFactory } from '../../src/bots/bot-runner.ts';
import { ZERO_USAGE, type ModelClient, type ModelContentBlock, type ModelRequest, type ModelResponse, type ModelStreamOptions, type ModelUsage } from '../../src/bots/model-client.ts';
import type { ToolOutcome } from '../../src/bots/tool-loop.ts';
import { AppError } from '../../src/shared/errors.ts';

/** In-process fakes for testing the bot runner: a scripted model client and a one-tool client. */

export const READ_FILE = 'files__read_file';

/** One scripted model call: what the fake answers to the request it gets. */
export type Step = (request: ModelRequest, options: ModelStreamOptions) => Promise<ModelResponse>;

export const usageOf = (usage: Partial<ModelUsage>): ModelUsage => ({ ...ZERO_USAGE, ...usage });

/** An answer with these blocks, streaming its text first; stops for tools when it asks for any. */
export function reply(content: ModelContentBlock[], usage: Partial<ModelUsage>, stopReason?: StopReason): Step {
  return async (request, options) => {
    content.forEach((block, index) => {
      if (block.type === 'text') options.onEvent({ type: 'text_delta', index, text: block.text });
    });
    const asksTools = content.some((block) => block.type === 'tool_use');
    return { id: `msg_${randomUUID()}`, model: request.model, content, stopReason: stopReason ?? (asksTools ? 'tool_use' : 'end_turn'), usage: usageOf(usage) };
  };
}

export const answer = (text: string, usage: Partial<ModelUsage> = { inputTokens: 10, outputTokens: 5 }) => reply([{ type: 'text', text }], usage);
export const toolUse = (id: string, input: Record<string, unknown>, text = ''): ModelContentBlock[] => [
  ...(text ? [{ type: 'text' as const, text }] : []),
  { type: 'tool_use', id, name: READ_FILE, input },
];
export const failWith =
  (error: Error): Step =>
  async () => {
    throw error;
  };

/** A model client that plays `steps` in order and keeps a copy of every request. */
export function scriptedModel(steps: Step[]) {
  const requests: ModelRequest[] = [];
  const client: ModelClient = {
    stream(request, options) {
      requests.push(structuredClone(request));
      const step = steps[requests.length - 1];
      return step ? step(request, options) : Promise.reject(new Error(`unexpected model call #${requests.length}`));
    },
  };
  return { client, requests };
}

/** A tool client offering `files__read_file`, answered by `handler`; counts what the runner does with it. */
export function fakeTools(handler: (input: Record<string, unknown>, signal: AbortSignal) => Promise<ToolOutcome> = () => Promise.resolve({ text: 'file contents', isError: false })) {
  const state = { built: 0, closed: 0, calls: [] as Array<Record<string, unknown>> };
  const factory: ToolClientFactory = () => {
    state.built += 1;
    return {
      listTools: () => Promise.resolve([{ name: READ_FILE, description: 'Reads a file.', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }]),
      callTool: (_name, input, signal) => {
        state.calls.push(input);
        return handler(input, signal);
      },
      close: () => {
        state.closed += 1;
        return Promise.resolve();
      },
    };
  };
  return { factory, state };
}

/** The text blocks of a message, in order. */
export function texts(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  return (content as Array<{ type: string; text?: string }>).flatMap((block) => (block.type === 'text' && block.text !== undefined ? [block.text] : []));
}

/** The tool_use ids no tool_result answers in the very next (user) message: the API rejects a history with any. */
export function unansweredToolUses(messages: ReadonlyArray<{ role: string; content: unknown }>): string[] {
  return messages.flatMap((message, i) => {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) return [];
    const next = messages[i + 1];
    const answered = new Set(
      next?.role === 'user' && Array.isArray(next.content)
        ? (next.content as Array<{ type: string; tool_use_id?: string }>).flatMap((b) => (b.type === 'tool_result' ? [b.tool_use_id] : []))
        : [],
    );
    return (message.content as Array<{ type: string; id?: string }>).flatMap((b) => (b.type === 'tool_use' && !answered.has(b.id) ? [`${i}:${b.id}`] : []));
  });
}

/** What a refused ask ended with, for comparing several at once. */
export async function outcomeOf(run: Promise<unknown>) {
  const error = await run.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof AppError) return { error: 'AppError', code: error.code, message: error.message };
  if (error instanceof Error) return { error: error.name, message: error.message };
  return { error };
}

