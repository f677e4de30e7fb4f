import type { Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { definitionChangeAudit } from '../../src/servers/pinning/definition-audit.ts';
import { checkListedTools, MAX_DEFINITION_BYTES } from '../../src/servers/pinning/tool-check.ts';
import { canonicalJson, cutText, definitionOf } from '../../src/servers/pinning/tool-definition.ts';

const tool = (name: string, extra: Partial<Tool> = {}): Tool => ({ name, inputSchema: { type: 'object' }, ...extra });

/** A tool whose definition's canonical JSON is exactly `bytes` long. */
function toolOfSize(name: string, bytes: number): Tool {
  const overhead = Buffer.byteLength(canonicalJson(definitionOf(tool(name, { description: '' }))));
  return tool(name, { description: 'd'.repeat(bytes - overhead) });
}

describe('checkListedTools', () => {
  it('takes a definition of exactly the limit and refuses one byte more, with its size and hash', () => {
    const { pinnable, refused } = checkListedTools([toolOfSize('at', MAX_DEFINITION_BYTES), toolOfSize('over', MAX_DEFINITION_BYTES + 1)]);
    expect(pinnable.map((p) => p.tool.name)).toEqual(['at']);
    expect(refused).toEqual([
      {
        name: 'over',
        reason: 'its definition is 262,145 bytes of JSON, over the 262,144 (256 KiB) a tool definition may have',
        bytes: MAX_DEFINITION_BYTES + 1,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
  });

  it('names each refused tool once, in the order listed, with the first reason that applies', () => {
    const { pinnable, refused } = checkListedTools([
      tool('dup'),
      tool('bad name'),
      tool('ok'),
      tool('dup', { description: 'other' }),
      tool('bad name'),
      tool('nul', { title: 'a\u0000' }),
    ]);
    expect(pinnable.map((p) => p.tool.name)).toEqual(['ok']);
    expect(refused).toEqual([
      { name: 'dup', reason: 'it is listed more than once by the upstream' },
      { name: 'bad name', reason: 'its name is not 1 to 128 of the characters A-Z a-z 0-9 _ - . that MCP allows' },
      { name: 'nul', reason: 'the field "title" of its definition must not contain the NUL character (\\u0000), which cannot be stored' },
    ]);
  });
});

describe('definitionChangeAudit', () => {
  it('keeps the diff under 16 KiB however many large values change, and says what it left out', () => {
    const schema = (fill: string) => ({
      type: 'object' as const,
      properties: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, { type: 'string', description: fill.repeat(5_000) }])),
    });
    const before = definitionOf(tool('wide', { inputSchema: schema('a') }));
    const after = definitionOf(tool('wide', { inputSchema: schema('b') }));
    const audit = definitionChangeAudit('up', 'wide', { sha256: 'x', definition: before }, { sha256: 'y', definition: after });

    expect(Buffer.byteLength(JSON.stringify(audit))).toBeLessThan(17 * 1024);
    expect(audit.before).toEqual({ server: 'up', tool: 'wide', sha256: 'x', bytes: Buffer.byteLength(canonicalJson(before)) });
    const changes = audit.after['changes'] as Array<{ path: string; after: string }>;
    expect(changes.length).toBeGreaterThan(1);
    expect(changes.length).toBeLessThan(40);
    expect(changes[0]?.after).toBe(`${'b'.repeat(1024)}…`);
    expect(audit.after['cut']).toBe(
      `values longer than 1,024 characters are cut to their start; ${40 - changes.length} more changes are left out, ` +
        'to keep the diff under 16 KiB. GET /api/v1/servers/up/tools shows the whole definitions.',
    );
  });
});

describe('cutText', () => {
  it('never cuts between the halves of a surrogate pair', () => {
    expect(cutText('ab🙂cd', 3)).toBe('ab…');
    expect(cutText('ab🙂cd', 4)).toBe('ab🙂…');
    expect(cutText('abc', 3)).toBe('abc');
  });
});
