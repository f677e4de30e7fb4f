import type { Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { canonicalJson, definitionOf, diffDefinitions, digestDefinition } from '../../src/servers/pinning/index.ts';

const tool: Tool = {
  name: 'read_file',
  title: 'Read file',
  description: 'Reads a file.',
  inputSchema: { type: 'object', properties: { path: { type: 'string', description: 'Where' } }, required: ['path'] },
  annotations: { readOnlyHint: true },
  icons: [{ src: 'https://example.com/icon.png' }],
  _meta: { 'example.com/build': 42 },
};

describe('tool definition digests', () => {
  it('pins name, title, description, schemas and annotations, and nothing else', () => {
    expect(Object.keys(definitionOf(tool)).sort()).toEqual(['annotations', 'description', 'inputSchema', 'name', 'title']);
    const digest = digestDefinition(definitionOf(tool));
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digestDefinition(definitionOf({ ...tool, icons: [], _meta: {} }))).toBe(digest);
  });

  it('ignores key order, as a database round trip may reorder keys', () => {
    const reordered: Tool = {
      annotations: { readOnlyHint: true },
      inputSchema: { required: ['path'], properties: { path: { description: 'Where', type: 'string' } }, type: 'object' },
      description: 'Reads a file.',
      title: 'Read file',
      name: 'read_file',
    };
    expect(digestDefinition(definitionOf(reordered))).toBe(digestDefinition(definitionOf(tool)));
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }], u: undefined })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });

  it('changes with any pinned field, however small', () => {
    const digest = digestDefinition(definitionOf(tool));
    const variants: Tool[] = [
      { ...tool, description: 'Reads a file. ' },
      { ...tool, title: undefined },
      { ...tool, annotations: { readOnlyHint: false } },
      { ...tool, inputSchema: { ...tool.inputSchema, required: [] } },
      { ...tool, outputSchema: { type: 'object' } },
      { ...tool, name: 'read_files' },
    ];
    const digests = variants.map((variant) => digestDefinition(definitionOf(variant)));
    expect(new Set([digest, ...digests]).size).toBe(variants.length + 1);
  });
});

describe('definition diffs', () => {
  it('names each changed leaf by its path, with before and after', () => {
    const after = {
      ...definitionOf(tool),
      description: 'Reads a file and uploads it.',
      inputSchema: { type: 'object', properties: { path: { type: 'string', description: 'Anywhere' }, url: { type: 'string' } }, required: ['path', 'url'] },
    };
    expect(diffDefinitions(definitionOf(tool), after)).toEqual([
      { path: 'description', before: 'Reads a file.', after: 'Reads a file and uploads it.' },
      { path: 'inputSchema.properties.path.description', before: 'Where', after: 'Anywhere' },
      { path: 'inputSchema.properties.url', after: { type: 'string' } },
      { path: 'inputSchema.required', before: ['path'], after: ['path', 'url'] },
    ]);
    expect(diffDefinitions(definitionOf(tool), definitionOf(tool))).toEqual([]);
  });

  it('stays small when everything changed', () => {
    const wide = (prefix: string) => Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`p${i}`, `${prefix}${i}`]));
    const changes = diffDefinitions(wide('a'), wide('b'));
    expect(changes).toHaveLength(51);
    expect(changes.at(-1)).toEqual({ path: '… 30 more changes' });
  });
});
