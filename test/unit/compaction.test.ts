import { describe, expect, it } from 'vitest';
import { estimateTokens, planCompaction, type CompactableMessage } from '../../src/bots/compaction.ts';

// Each text block of 400 characters is a little over 100 estimated tokens.
const words = (label: string) => label.padEnd(400, '.');
const user = (seq: number, label = `question ${seq}`): CompactableMessage => ({ seq, role: 'user', content: [{ type: 'text', text: words(label) }] });
const assistant = (seq: number, label = `answer ${seq}`): CompactableMessage => ({ seq, role: 'assistant', content: [{ type: 'text', text: words(label) }] });
const toolCall = (seq: number): CompactableMessage => ({ seq, role: 'assistant', content: [{ type: 'tool_use', id: `tu_${seq}`, name: 'gh__list_issues', input: {} }] });
const toolResult = (seq: number): CompactableMessage => ({ seq, role: 'user', content: [{ type: 'tool_result', tool_use_id: `tu_${seq - 1}`, content: words('issues') }] });

/** user 1, then alternating answers and questions up to `count` messages. */
const conversation = (count: number) => Array.from({ length: count }, (_, i) => (i % 2 === 0 ? user(i + 1) : assistant(i + 1)));
const seqs = (messages: CompactableMessage[] | undefined) => messages?.map((m) => m.seq);

describe('estimateTokens', () => {
  it('is the JSON length over four, rounded up', () => {
    expect(estimateTokens('abcdef')).toBe(2); // "abcdef" with its quotes is 8 characters
    expect(estimateTokens([{ type: 'text', text: 'hi' }])).toBe(Math.ceil(JSON.stringify([{ type: 'text', text: 'hi' }]).length / 4));
    expect(estimateTokens(undefined)).toBe(0);
  });
});

describe('planCompaction', () => {
  it('leaves a history at or under the threshold alone', () => {
    const messages = conversation(10);
    const total = messages.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    expect(planCompaction(messages, { thresholdTokens: total, keepRecent: 2 })).toBeUndefined();
  });

  it('summarises between the first user message and the last keepRecent messages', () => {
    const messages = conversation(10);
    const plan = planCompaction(messages, { thresholdTokens: 100, keepRecent: 4 });
    expect(seqs(plan?.summarize)).toEqual([2, 3, 4, 5, 6]);
    expect(plan?.throughSeq).toBe(6);
  });

  it('hands back the caller’s own message objects', () => {
    const messages = conversation(10).map((m) => ({ ...m, id: `m${m.seq}` }));
    const plan = planCompaction(messages, { thresholdTokens: 100, keepRecent: 4 });
    expect(plan?.summarize[0]).toBe(messages[1]);
    expect(plan?.summarize[0]?.id).toBe('m2');
  });

  it('moves the boundary earlier so the kept part starts with a user question', () => {
    // keepRecent 3 would start the kept part at the assistant answer 8.
    const plan = planCompaction(conversation(10), { thresholdTokens: 100, keepRecent: 3 });
    expect(seqs(plan?.summarize)).toEqual([2, 3, 4, 5, 6]);
  });

  it('never splits a tool_use from its tool_result', () => {
    const messages = [user(1), assistant(2), user(3), toolCall(4), toolResult(5), toolCall(6), toolResult(7), assistant(8), user(9), assistant(10)];
    // keepRecent 4 would start at the tool_result 7, answering the tool_use 6.
    const plan = planCompaction(messages, { thresholdTokens: 100, keepRecent: 4 });
    expect(seqs(plan?.summarize)).toEqual([2]);
    expect(plan?.throughSeq).toBe(2);

    // keepRecent 2 starts at the question 9: the whole tool exchange is summarised.
    expect(seqs(planCompaction(messages, { thresholdTokens: 100, keepRecent: 2 })?.summarize)).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });

  it('does not start the kept part at a user message that mixes text and tool results', () => {
    const mixed: CompactableMessage = { seq: 5, role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_4', content: 'ok' }, { type: 'text', text: 'also this' }] };
    const messages = [user(1), assistant(2), user(3), toolCall(4), mixed, assistant(6)];
    expect(seqs(planCompaction(messages, { thresholdTokens: 100, keepRecent: 2 })?.summarize)).toEqual([2]);
  });

  it('keeps a first user message that is long on its own and only summarises after it', () => {
    const messages = [user(1, 'x'.repeat(4000)), assistant(2), user(3), assistant(4)];
    expect(seqs(planCompaction(messages, { thresholdTokens: 100, keepRecent: 2 })?.summarize)).toEqual([2]);
  });

  it('gives up when nothing would be summarised', () => {
    expect(planCompaction(conversation(4), { thresholdTokens: 100, keepRecent: 3 })).toBeUndefined();
    expect(planCompaction(conversation(4), { thresholdTokens: 100, keepRecent: 10 })).toBeUndefined();
    // Only tool exchanges after the first question: no user question to start the kept part.
    expect(planCompaction([user(1), toolCall(2), toolResult(3), assistant(4)], { thresholdTokens: 100, keepRecent: 2 })).toBeUndefined();
  });

  it('with keepRecent 0 summarises everything after the first user message', () => {
    const plan = planCompaction(conversation(5), { thresholdTokens: 100, keepRecent: 0 });
    expect(seqs(plan?.summarize)).toEqual([2, 3, 4, 5]);
    expect(plan?.throughSeq).toBe(5);
  });

  it('refuses a negative keepRecent', () => {
    expect(() => planCompaction(conversation(4), { thresholdTokens: 0, keepRecent: -1 })).toThrow(/keepRecent/);
  });
});
