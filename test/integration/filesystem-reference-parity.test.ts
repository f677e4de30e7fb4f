import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesystemSource } from '../../src/servers/filesystem/index.ts';
import type { ToolSource } from '../../src/servers/tool-source.ts';

const context = { signal: new AbortController().signal, progress: async () => {} };
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

let root: string;
let source: ToolSource;

const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const structured = (result: CallToolResult) => result.structuredContent as Record<string, unknown>;
const call = (name: string, args: Record<string, unknown>, on: ToolSource = source) => on.callTool(name, args, context);

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'botgate-fs-parity-')));
  await writeFile(path.join(root, 'lines.txt'), Array.from({ length: 5 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
  await writeFile(path.join(root, 'image.png'), PNG);
  source = await createFilesystemSource({ roots: [root], readOnly: false });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('directory_tree past its 1000-entry budget', () => {
  it('still shows every top-level entry when the first directory alone holds more, marking what it cut', async () => {
    const top = path.join(root, 'project');
    await mkdir(path.join(top, 'aaa-big'), { recursive: true });
    await mkdir(path.join(top, 'docs'));
    await Promise.all(Array.from({ length: 1100 }, (_, i) => writeFile(path.join(top, 'aaa-big', `f${String(i).padStart(4, '0')}`), '')));
    await writeFile(path.join(top, 'docs', 'guide.md'), '');
    await writeFile(path.join(top, 'zzz.txt'), '');
    try {
      const result = await call('directory_tree', { path: 'project' });
      expect(result.isError).toBeUndefined();
      const tree = structured(result)['tree'] as Array<{ name: string; children?: unknown[]; entryLimitReached?: true }>;
      expect(tree.map((node) => node.name)).toEqual(['aaa-big', 'docs', 'zzz.txt']);
      expect(tree[0]).toMatchObject({ type: 'directory', entryLimitReached: true });
      expect(tree[0]?.children).toHaveLength(997);
      expect(tree[1]).toEqual({ name: 'docs', type: 'directory', entryLimitReached: true });
      expect(tree[2]).toEqual({ name: 'zzz.txt', type: 'file' });
      expect(structured(result)['truncated']).toBe(true);
      expect(text(result)).toBe(
        `${JSON.stringify(tree, null, 2)}\n(truncated after 1000 entries, the most one tree shows, taken level by level: ` +
          'every depth before the next. 2 directories were not listed in full (marked "entryLimitReached"). To see the ' +
          'rest, call directory_tree on a subdirectory or with a lower maxDepth, or leave out large directories with ' +
          'excludePatterns, e.g. ["node_modules", ".git"].)',
      );

      const narrowed = await call('directory_tree', { path: 'project', excludePatterns: ['aaa-big'] });
      expect(structured(narrowed)).toMatchObject({ truncated: false });
      expect(JSON.parse(text(narrowed))).toEqual([
        { name: 'docs', type: 'directory', children: [{ name: 'guide.md', type: 'file' }] },
        { name: 'zzz.txt', type: 'file' },
      ]);
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });
});

// /proc/<pid>/mem fails every read at offset 0 with EIO (no mapping there): a real error the tools have no words for.
describe.skipIf(!existsSync('/proc/self/mem'))('read_multiple_files and an error it has no words for', () => {
  it('reports it in the file’s place by code, under the shown path, and reads the other files', async () => {
    const processDirectory = await realpath('/proc/self');
    const proc = await createFilesystemSource({ roots: [processDirectory], shownAs: ['/process'], readOnly: true });
    const result = await call('read_multiple_files', { paths: ['mem', 'task', 'comm'] }, proc);
    expect(result.isError).toBeUndefined();
    expect(structured(result)['files']).toEqual([
      { path: 'mem', error: 'Cannot read /process/mem: i/o error (EIO).' },
      { path: 'task', error: '/process/task is a directory; use list_directory or directory_tree to see its contents.' },
      { path: 'comm', content: expect.stringMatching(/^.+\n$/) },
    ]);
    expect(text(result)).toMatch(/^mem: Error - Cannot read \/process\/mem: i\/o error \(EIO\)\.\n---\ntask: Error - .*\n---\ncomm:\n.+\n\n$/);
    expect(text(result)).not.toContain(processDirectory);
  });
});

describe('read_text_file, the reference server’s name for reading text', () => {
  it('reads a text file whole or in part, as read_file does', async () => {
    expect(text(await call('read_text_file', { path: 'lines.txt' }))).toBe(text(await call('read_file', { path: 'lines.txt' })));
    expect(text(await call('read_text_file', { path: 'lines.txt', head: 2 }))).toBe('line 1\nline 2');
    expect(text(await call('read_text_file', { path: 'lines.txt', tail: 1 }))).toBe('line 5');
    expect(text(await call('read_text_file', { path: 'lines.txt', start_line: 2, end_line: 3 }))).toBe('line 2\nline 3');
  });

  it('refuses a binary file, two ranges at once and bad arguments, naming what to do', async () => {
    const binary = await call('read_text_file', { path: 'image.png' });
    expect(binary.isError).toBe(true);
    expect(text(binary)).toBe(`${path.join(root, 'image.png')} is a binary file (image/png, 33 B); read it with read_media_file.`);
    expect(text(await call('read_text_file', { path: 'lines.txt', head: 1, tail: 1 }))).toBe('Give only one of head, tail, or start_line/end_line.');
    const bad = await call('read_text_file', { path: 'lines.txt', head: 0 });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/^Invalid arguments for read_text_file: head: /);
  });
});

describe('read_media_file, the reference server’s media reader', () => {
  it('returns an image as one image block, and any other file as one embedded resource', async () => {
    expect((await call('read_media_file', { path: 'image.png' })).content).toEqual([
      { type: 'image', data: PNG.toString('base64'), mimeType: 'image/png' },
    ]);
    const plain = path.join(root, 'lines.txt');
    expect((await call('read_media_file', { path: 'lines.txt' })).content).toEqual([
      { type: 'resource', resource: { uri: pathToFileURL(plain).href, mimeType: 'text/plain', blob: Buffer.from('line 1\nline 2\nline 3\nline 4\nline 5\n').toString('base64') } },
    ]);
  });

  it('refuses a file over the read limit and a directory', async () => {
    const small = await createFilesystemSource({ roots: [root], readOnly: true, maxReadBytes: 16 });
    const big = await call('read_media_file', { path: 'image.png' }, small);
    expect(big.isError).toBe(true);
    expect(text(big)).toMatch(/image\.png is 33 B, over the 16 B limit for one read/);
    await mkdir(path.join(root, 'folder'), { recursive: true });
    expect(text(await call('read_media_file', { path: 'folder' }))).toMatch(/folder is a directory; use list_directory/);
  });
});
