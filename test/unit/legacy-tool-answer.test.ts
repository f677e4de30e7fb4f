import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ToolCallContext, ToolCallOutcome } from '../../src/servers/index.ts';
import { createLogger } from '../../src/shared/logger.ts';
import type { DirectToolCall } from '../../src/gateway/mcp/direct-tool-call.ts';
import { answerLegacyToolCall } from '../../src/gateway/mcp/legacy-tool-call.ts';
import type { ToolCallRecord, ToolCallRunner } from '../../src/gateway/mcp/tool-call.ts';
import type { CatalogEntry, RoutedTool } from '../../src/gateway/mcp/tool-catalog.ts';
import { RecordingResponse } from '../support/recording-response.ts';

/** Answers a call of `tool` whose source gives `results` in turn; what each round was given and recorded. */
async function answer(results: unknown[], res = new RecordingResponse()) {
  const contexts: ToolCallContext[] = [];
  const records: ToolCallRecord[] = [];
  const runner: ToolCallRunner = {
    logger: createLogger({ level: 'silent' }),
    onToolCall: (record) => records.push(record),
    catalog: {
      list: async () => [],
      route: () => undefined,
      call: async (_routed, _args, context) => {
        contexts.push(context);
        return results[contexts.length - 1] as ToolCallOutcome;
      },
    },
  };
  const routed: RoutedTool = { entry: { slug: 'src', serverId: 'server-1' } as CatalogEntry, tool: 'tool' };
  const call: DirectToolCall = { id: 3, name: 'tool', args: {}, meta: undefined };
  await answerLegacyToolCall(res as unknown as ServerResponse, runner, call, routed);
  return { res, contexts, outcomes: records.map((record) => record.outcome) };
}

describe('answering a 2025-era tool call directly', () => {
  it('answers a result in one JSON body, giving one without content an empty one', async () => {
    const { res } = await answer([{ structuredContent: { n: 1 } }]);
    expect(res.head?.[1]['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ jsonrpc: '2.0', id: 3, result: { structuredContent: { n: 1 }, content: [] } });
  });

  it('refuses, as the SDK does, a result the 2025 revision cannot carry', async () => {
    const task = await answer([{ task: { taskId: 't' } }]);
    expect(task.res.json()).toMatchObject({ id: 3, error: { code: -32602, message: expect.stringContaining('content is required') } });
    const numbers = await answer([{ content: [], structuredContent: [1, 2] }]);
    expect(numbers.res.json()).toMatchObject({ id: 3, error: { code: -32602, message: expect.stringContaining('structuredContent must be an object') } });
  });

  it('calls again with the tool’s state when it only asks for that, recording each round', async () => {
    const { res, contexts, outcomes } = await answer([
      { resultType: 'input_required', requestState: 's1' },
      { content: [{ type: 'text', text: 'done' }] },
    ]);
    expect(contexts.map((context) => context.input)).toEqual([undefined, { state: 's1' }]);
    expect(outcomes).toEqual(['input_required', 'ok']);
    expect(res.json()).toEqual({ jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'done' }] } });
  });

  it('gives a tool that asks the client something a tool error, even a question it cannot name', async () => {
    for (const inputRequests of [{ a: { method: 'elicitation/create', params: {} } }, { a: null }]) {
      const { res, contexts } = await answer([{ resultType: 'input_required', inputRequests }]);
      expect(contexts).toHaveLength(1);
      expect(res.json()).toMatchObject({ id: 3, result: { isError: true, content: [{ text: expect.stringContaining('a 2025-era client cannot be asked') }] } });
    }
  });

  it('runs nothing for a client already gone', async () => {
    const res = new RecordingResponse();
    res.destroyed = true;
    const { contexts } = await answer([{ content: [] }], res);
    expect(contexts[0]?.signal.aborted).toBe(true);
  });
});
