import { describe, expect, it } from 'vitest';
import { createToolRegistry, type ToolSource } from '../../src/servers/index.ts';
import { AGGREGATE_LIST_WAIT_MS, createListWaits, createToolCatalog, FAILED_LIST_MEMORY_MS, type CatalogEntry } from '../../src/gateway/mcp/tool-catalog.ts';
import { summarizeArguments } from '../../src/gateway/mcp/tool-audit.ts';
import * as z from 'zod';

const context = { signal: new AbortController().signal, progress: () => Promise.resolve() };

function echoSource(): ToolSource {
  const registry = createToolRegistry();
  registry.registerTool(
    { name: 'echo', description: 'Echoes text.', inputSchema: z.object({ text: z.string() }), annotations: { readOnlyHint: true } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return registry;
}

const failing: ToolSource = {
  listTools: () => Promise.reject(new Error('upstream down')),
  callTool: () => Promise.reject(new Error('upstream down')),
  close: () => Promise.resolve(),
};

describe('tool catalog', () => {
  it('namespaces tools by server and routes calls back', async () => {
    const entries: CatalogEntry[] = [
      { slug: 'files', serverId: '1', source: echoSource() },
      { slug: 'docs', serverId: '2', source: echoSource() },
    ];
    const catalog = createToolCatalog(entries, { namespaced: true, onListError: () => {} });

    const names = (await catalog.list(context.signal)).map((t) => t.name);

    expect(names).toEqual(['files__echo', 'docs__echo']);
    expect(catalog.route('docs__echo')).toEqual({ entry: entries[1], tool: 'echo' });
    expect(catalog.route('nope__echo')).toBeUndefined();
    expect(catalog.route('echo')).toBeUndefined();
    expect(catalog.route('files__')).toBeUndefined();
  });

  it('leaves out a failing source without harming the others', async () => {
    const errors: string[] = [];
    const catalog = createToolCatalog(
      [
        { slug: 'down', serverId: '1', source: failing },
        { slug: 'up', serverId: '2', source: echoSource() },
      ],
      { namespaced: true, onListError: (entry) => errors.push(entry.slug) },
    );

    expect((await catalog.list(context.signal)).map((t) => t.name)).toEqual(['up__echo']);
    expect(errors).toEqual(['down']);
  });

  it('answers the aggregate without a source that does not list in time', async () => {
    const hanging: ToolSource = { ...failing, listTools: () => new Promise(() => undefined) };
    const errors: string[] = [];
    const catalog = createToolCatalog(
      [
        { slug: 'slow', serverId: '1', source: hanging },
        { slug: 'up', serverId: '2', source: echoSource() },
      ],
      { namespaced: true, listWaitMs: () => 20, onListError: (entry, error) => errors.push(`${entry.slug}: ${(error as Error).message}`) },
    );

    expect((await catalog.list(context.signal)).map((t) => t.name)).toEqual(['up__echo']);
    expect(errors).toEqual(['slow: its tools did not come within 20 ms; left out of this answer']);
  });

  it('stops waiting for a server whose list failed, for a while', () => {
    let clock = 1_000;
    const waits = createListWaits(() => clock);
    const slow: CatalogEntry = { slug: 'slow', serverId: 's1', source: failing };
    const fine: CatalogEntry = { slug: 'fine', serverId: 's2', source: echoSource() };
    expect(waits.waitMs(slow)).toBe(AGGREGATE_LIST_WAIT_MS);
    waits.failed(slow);
    expect([waits.waitMs(slow), waits.waitMs(fine)]).toEqual([0, AGGREGATE_LIST_WAIT_MS]);
    // Listings meanwhile, which do not wait for it and so miss it, do not make the pause longer.
    clock += FAILED_LIST_MEMORY_MS - 1;
    waits.failed(slow);
    clock += 1;
    expect(waits.waitMs(slow)).toBe(AGGREGATE_LIST_WAIT_MS);
  });

  it('answers a single server’s endpoint with its failure, not an empty list', async () => {
    const catalog = createToolCatalog([{ slug: 'down', serverId: '1', source: failing }], { namespaced: false, onListError: () => {} });
    await expect(catalog.list(context.signal)).rejects.toThrow('upstream down');
  });

  it('validates arguments before a built-in tool runs', async () => {
    const source = echoSource();
    const result = await source.callTool('echo', { text: 42 }, context);
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain('text');
    await expect(source.callTool('missing', {}, context)).rejects.toThrow(/unknown tool/);
  });
});

describe('tool call audit summary', () => {
  it('redacts secrets and cuts large values', () => {
    const summary = summarizeArguments({
      path: 'notes.md',
      token: 'ghp_123',
      content: 'x'.repeat(1000),
      list: Array.from({ length: 40 }, (_, i) => i),
    }) as Record<string, unknown>;
    expect(summary['path']).toBe('notes.md');
    expect(summary['token']).toBe('[redacted]');
    expect(String(summary['content'])).toMatch(/… \(1000 chars\)$/);
    expect((summary['list'] as unknown[]).length).toBe(33);
  });
});
