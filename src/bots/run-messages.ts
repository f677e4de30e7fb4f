import type { ContentBlockParam, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { storable } from '../shared/storable-json.ts';
import type { StoredMessage } from './conversation.service.ts';
import type { ToolClient } from './tool-loop.ts';

/** How a run's messages travel between the conversation store and the Messages API. */

export type Turn = { role: 'user' | 'assistant'; content: ContentBlockParam[] };

/** Messages as the API wants them: roles alternate, so neighbours of one role are merged. */
export function toModelMessages(stored: readonly StoredMessage[], extra: Turn): MessageParam[] {
  const merged: Turn[] = [];
  for (const message of [...stored.map((m): Turn => ({ role: m.role, content: m.content as unknown as ContentBlockParam[] })), extra]) {
    const last = merged.at(-1);
    if (last && last.role === message.role) last.content = [...last.content, ...message.content];
    else merged.push({ role: message.role, content: [...message.content] });
  }
  return merged;
}

/** A message of the loop as stored: content always as blocks. */
export function toStored(message: MessageParam, runId: string) {
  const content = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
  return { role: message.role === 'assistant' ? ('assistant' as const) : ('user' as const), content: storable(content) as Array<Record<string, unknown>>, runId };
}

/** A tool client whose tool list is requested at once; the loop later gets that same answer. */
export function listingEarly(client: ToolClient & { close(): Promise<void> }, signal: AbortSignal): ToolClient & { close(): Promise<void> } {
  const listing = client.listTools(signal);
  // Seen by the loop when it runs; a run that fails before then must not leave it unhandled.
  listing.catch(() => undefined);
  return { listTools: () => listing, callTool: (name, input, callSignal) => client.callTool(name, input, callSignal), close: () => client.close() };
}

/** The answer of a run stopped with tool calls unanswered: the loop leaves it out of `added`, the conversation keeps it. */
export function unsavedAnswer(result: { stopReason: string; text: string; added: MessageParam[] }): MessageParam[] {
  const last = result.added.at(-1);
  const saved = last?.role === 'assistant';
  return !saved && result.text !== '' ? [{ role: 'assistant', content: [{ type: 'text', text: result.text }] }] : [];
}

