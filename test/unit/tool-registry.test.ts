import type { CallToolResult } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createToolRegistry } from '../../src/servers/index.ts';

const context = { signal: new AbortController().signal, progress: () => Promise.resolve() };

/** A registry with one tool, `answer`, declaring `{ content: string, count: integer }` and giving back `result` as it is. */
function answering(result: CallToolResult) {
  const registry = createToolRegistry();
  registry.registerTool(
    {
      name: 'answer',
      description: 'Answers.',
      inputSchema: z.object({}),
      outputSchema: z.object({ content: z.string(), count: z.number().int() }),
      annotations: { readOnlyHint: true },
    },
    () => Promise.resolve(result),
  );
  return registry;
}

const text = (result: CallToolResult) => result.content.map((block) => (block.type === 'text' ? block.text : '')).join('\n');

describe('tool registry output schemas', () => {
  it('lists the outputSchema as JSON Schema of the output, without $schema', async () => {
    const [tool] = await answering({ content: [] }).listTools(context.signal);
    expect(tool?.outputSchema).toEqual({
      type: 'object',
      properties: { content: { type: 'string' }, count: { type: 'integer', minimum: expect.any(Number), maximum: expect.any(Number) } },
      required: ['content', 'count'],
      additionalProperties: false,
    });
  });

  it('lists no outputSchema for a tool that declares none', async () => {
    const registry = createToolRegistry();
    registry.registerTool({ name: 'echo', description: 'Echoes.', inputSchema: z.object({}), annotations: {} }, () =>
      Promise.resolve({ content: [{ type: 'text', text: 'hi' }], structuredContent: { anything: true } }),
    );
    const [tool] = await registry.listTools(context.signal);
    expect(tool).not.toHaveProperty('outputSchema');
    expect((await registry.callTool('echo', {}, context)).structuredContent).toEqual({ anything: true });
  });

  it('passes on a result whose structuredContent matches', async () => {
    const result: CallToolResult = { content: [{ type: 'text', text: 'two' }], structuredContent: { content: 'two', count: 2 } };
    expect(await answering(result).callTool('answer', {}, context)).toEqual(result);
  });

  it.each([
    ['a field of the wrong type', { content: 'two', count: 'two' }, /count: /],
    ['a field missing', { content: 'two' }, /count: /],
    ['a field the schema does not declare', { content: 'two', count: 2, extra: true }, /fields the schema does not declare/],
    ['no structuredContent', undefined, /no structuredContent/],
  ])('turns a result with %s into an error naming the tool, sending nothing a client would reject', async (_, structuredContent, why) => {
    const result = await answering({ content: [{ type: 'text', text: 'two' }], ...(structuredContent && { structuredContent }) }).callTool('answer', {}, context);
    expect(result.isError).toBe(true);
    expect(result).not.toHaveProperty('structuredContent');
    expect(text(result)).toMatch(/^answer returned a result that does not match its outputSchema: /);
    expect(text(result)).toMatch(why);
  });

  it('drops structuredContent from an error result, which clients would check against the schema too', async () => {
    const result = await answering({ content: [{ type: 'text', text: 'no' }], isError: true, structuredContent: { oops: 1 } }).callTool('answer', {}, context);
    expect(result).toEqual({ content: [{ type: 'text', text: 'no' }], isError: true });
  });
});
