import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { calledTools, createReadOnlyView } from '../../src/gateway/oauth/read-only.ts';
import type { ToolCatalog } from '../../src/gateway/mcp/tool-catalog.ts';

const tool = (name: string, readOnlyHint?: boolean): Tool => ({
  name,
  inputSchema: { type: 'object' },
  ...(readOnlyHint !== undefined && { annotations: { readOnlyHint } }),
});

function catalogOf(tools: Tool[]): ToolCatalog & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    list: () => Promise.resolve(tools),
    route: (name) => (tools.some((t) => t.name === name) ? { entry: { slug: 's', serverId: 'id', source: {} as never }, tool: name } : undefined),
    call: (routed) => {
      calls.push(routed.tool);
      return Promise.resolve({ content: [] } as CallToolResult);
    },
  };
}

const signal = new AbortController().signal;
const call = (name: unknown, id = 1) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

describe('read-only access (mcp:read)', () => {
  it('finds the tools a JSON-RPC message or batch calls', () => {
    expect(calledTools(call('a'))).toEqual(['a']);
    expect(calledTools([call('a'), { jsonrpc: '2.0', id: 2, method: 'tools/list' }, call('b', 3)])).toEqual(['a', 'b']);
    expect(calledTools([call(5), null, 'x', { method: 'tools/call' }])).toEqual([]);
    expect(calledTools(undefined)).toEqual([]);
  });

  it('lists only read-only tools and refuses a call of any other, even inside a batch', async () => {
    const catalog = catalogOf([tool('read', true), tool('write', false), tool('unmarked')]);
    const view = createReadOnlyView(catalog);
    expect((await view.catalog.list(signal)).map((t) => t.name)).toEqual(['read']);
    expect(await view.deniedCall(call('read'), signal)).toBeUndefined();
    expect(await view.deniedCall([call('read'), call('write', 2)], signal)).toBe('write');
    expect(await view.deniedCall(call('unmarked'), signal)).toBe('unmarked');
    // Unknown names are the server's to answer ("Unknown tool"), as for any caller.
    expect(await view.deniedCall(call('missing'), signal)).toBeUndefined();
  });

  it('routes only names it has seen to be read-only', async () => {
    const catalog = catalogOf([tool('read', true), tool('write', false)]);
    const view = createReadOnlyView(catalog);
    expect(view.catalog.route('read')).toBeUndefined();
    await view.deniedCall(call('read'), signal);
    expect(view.catalog.route('read')?.tool).toBe('read');
    expect(view.catalog.route('write')).toBeUndefined();
  });
});
