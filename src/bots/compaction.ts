/** A stored message as compaction sees it: its position, its role and its opaque content. */
export interface CompactableMessage {
  seq: number;
  role: 'user' | 'assistant';
  content: unknown;
}

/** Which messages to summarise: `summarize` in order, the last of them at `throughSeq`. */
export interface CompactionPlan<T extends CompactableMessage> {
  summarize: T[];
  throughSeq: number;
}

/**
 * A rough token count of some message content: its JSON length / 4, rounded
 * up. Cheap and deterministic; good enough to decide when to summarise, not
 * to bill anything.
 */
export function estimateTokens(content: unknown): number {
  // JSON.stringify gives undefined for undefined and functions: they cost nothing.
  const json = JSON.stringify(content) as string | undefined;
  return json === undefined ? 0 : Math.ceil(json.length / 4);
}

/**
 * Decides whether a history is long enough to summarise, and what to summarise.
 *
 * Undefined when the estimated tokens of all messages are at most
 * `thresholdTokens`, or when nothing could be summarised. Otherwise the first
 * user message is kept (it states what the conversation is about), and so are
 * the last `keepRecent` messages; those in between are summarised. The kept
 * tail must start with a user message that carries no `tool_result` block, so
 * the boundary moves earlier until it does: a tool_use and its tool_result
 * are never split, and the tail never opens with results whose tool_use was
 * summarised away. `keepRecent: 0` may summarise everything after the first
 * user message.
 */
export function planCompaction<T extends CompactableMessage>(
  messages: T[],
  options: { thresholdTokens: number; keepRecent: number },
): CompactionPlan<T> | undefined {
  if (!Number.isInteger(options.keepRecent) || options.keepRecent < 0) {
    throw new RangeError(`keepRecent must be a whole number of at least 0, got ${options.keepRecent}`);
  }
  const total = messages.reduce((sum, message) => sum + estimateTokens(message.content), 0);
  if (total <= options.thresholdTokens) return undefined;

  // Anything before the first user message (there should be nothing) is kept as is.
  const start = messages.findIndex((message) => message.role === 'user') + 1;
  let end = messages.length - options.keepRecent;
  while (end > start && end < messages.length && !startsTurn(messages[end])) end -= 1;
  if (end <= start) return undefined;

  const summarize = messages.slice(start, end);
  const last = summarize.at(-1) as T;
  return { summarize, throughSeq: last.seq };
}

/** Whether a kept tail may begin at this message: a user message answering no tool call. */
function startsTurn(message: CompactableMessage | undefined): boolean {
  if (message?.role !== 'user') return false;
  if (!Array.isArray(message.content)) return true;
  return !message.content.some((block: unknown) => typeof block === 'object' && block !== null && 'type' in block && block.type === 'tool_result');
}
