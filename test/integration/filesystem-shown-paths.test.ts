import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesystemSource } from '../../src/servers/filesystem/index.ts';
import { createSandbox } from '../../src/servers/filesystem/sandbox.ts';
import type { ToolSource } from '../../src/servers/tool-source.ts';

const context = { signal: new AbortController().signal, progress: async () => {} };

// A tenant's area on the host, with two roots in it, and an operator directory beside it.
let host: string;
let area: string;
let source: ToolSource;

const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const call = (name: string, args: Record<string, unknown>) => source.callTool(name, args, context);

/** Fails when any part of a result (text, structured content, resource URIs) names the tenant area's host path. */
function expectNoHostPath(result: CallToolResult): void {
  expect(JSON.stringify(result)).not.toContain(area);
}

beforeAll(async () => {
  host = await realpath(await mkdtemp(path.join(tmpdir(), 'botgate-fs-shown-')));
  area = path.join(host, 'data', 'files', 'acme');
  await mkdir(path.join(area, 'files'), { recursive: true });
  await mkdir(path.join(area, 'docs'), { recursive: true });
  await mkdir(path.join(area, 'files-evil'), { recursive: true });
  await mkdir(path.join(host, 'shared'), { recursive: true });
  await writeFile(path.join(area, 'docs', 'readme.md'), 'hello\n');
  await writeFile(path.join(area, 'files-evil', 'secret.txt'), 'not yours\n');
  await writeFile(path.join(area, 'files', 'blob.bin'), Buffer.from('abc\0def'));
  source = await createFilesystemSource({
    roots: [path.join(area, 'files'), path.join(area, 'docs'), path.join(host, 'shared')],
    shownAs: ['/files', '/docs', path.join(host, 'shared')],
    readOnly: false,
  });
});

afterAll(async () => {
  await rm(host, { recursive: true, force: true });
});

describe('filesystem paths as the tenant sees them', () => {
  it('lists the roots as shown', async () => {
    const result = await call('list_allowed_directories', {});
    expect(result.structuredContent).toEqual({
      content: text(result),
      directories: ['/files', '/docs', path.join(host, 'shared')],
      readOnly: false,
    });
    expectNoHostPath(result);
  });

  it('names written, created, moved, edited and found files by their shown paths', async () => {
    const results = [
      await call('write_file', { path: 'notes/a.txt', content: 'one\n' }),
      await call('create_directory', { path: '/files/archive' }),
      await call('move_file', { source: '/files/notes/a.txt', destination: 'archive/a.txt' }),
      await call('edit_file', { path: '/files/archive/a.txt', edits: [{ oldText: 'one', newText: 'two' }] }),
      await call('get_file_info', { path: 'archive/a.txt' }),
      await call('search_files', { path: '/files', pattern: '**/*.txt' }),
      await call('list_directory', { path: '/files/archive' }),
      await call('directory_tree', { path: '/files' }),
    ];
    for (const result of results) {
      expect(result.isError ?? false).toBe(false);
      expectNoHostPath(result);
    }
    const [written, created, moved, edited, info, found, listed, tree] = results.map((r) => r.structuredContent as Record<string, unknown>);
    expect(written).toMatchObject({ path: '/files/notes/a.txt', created: true, bytes: 4 });
    expect(created).toMatchObject({ path: '/files/archive' });
    expect(moved).toEqual({
      content: 'Moved /files/notes/a.txt to /files/archive/a.txt.',
      source: '/files/notes/a.txt',
      destination: '/files/archive/a.txt',
    });
    expect(edited?.['diff']).toContain('/files/archive/a.txt');
    expect(info).toMatchObject({ path: '/files/archive/a.txt', type: 'file' });
    expect(found).toMatchObject({ matches: ['/files/archive/a.txt'] });
    expect(listed).toMatchObject({ path: '/files/archive' });
    expect(tree).toMatchObject({ path: '/files' });
  });

  it('reads through a shown path or the host path alike, and shows a binary file’s URI under the shown path', async () => {
    expect(text(await call('read_file', { path: '/docs/readme.md' }))).toBe('hello\n');
    expect(text(await call('read_file', { path: path.join(area, 'docs', 'readme.md') }))).toBe('hello\n');
    const binary = await call('read_file', { path: 'blob.bin' });
    expectNoHostPath(binary);
    expect(binary.content[1]).toMatchObject({ type: 'resource', resource: { uri: 'file:///files/blob.bin' } });
  });

  it('names only shown paths in errors, per file too', async () => {
    const missing = await call('read_file', { path: 'missing.txt' });
    expect(text(missing)).toBe('No such file or directory: /files/missing.txt');
    const outside = await call('read_file', { path: '/etc/hostname' });
    expect(text(outside)).toContain(`outside the allowed directories (/files, /docs, ${path.join(host, 'shared')})`);
    const several = await call('read_multiple_files', { paths: ['/docs/readme.md', '/docs/gone.md'] });
    expect(text(several)).toContain('/docs/gone.md: Error - No such file or directory: /docs/gone.md');
    const rootItself = await call('move_file', { source: '/docs', destination: '/files/docs' });
    expect(text(rootItself)).toContain('Refused: /docs is an allowed directory itself');
    for (const result of [missing, outside, several, rootItself]) expectNoHostPath(result);
  });

  it('keeps a shown root a whole path component, and lets no shown path lead out', async () => {
    // The host directory files-evil sits beside the root files; "/files-evil" is not under the shown "/files".
    for (const attempt of ['/files-evil/secret.txt', '/files/../files-evil/secret.txt', '/docs/../../secret.txt', '../files-evil/secret.txt']) {
      const result = await call('read_file', { path: attempt });
      expect({ attempt, refused: result.isError }).toEqual({ attempt, refused: true });
      expect(text(result)).not.toContain('not yours');
      expectNoHostPath(result);
    }
  });

  it('shows a root named in a message as a whole path component only', async () => {
    const sandbox = await createSandbox([path.join(area, 'files')], ['/files']);
    const root = path.join(area, 'files');
    expect(sandbox.showIn(`Created ${root}. Then ${root}/a.txt, (${root}/b c.md); "${root}/d"`)).toBe('Created /files. Then /files/a.txt, (/files/b c.md); "/files/d"');
    expect(sandbox.showIn(`${root}.txt and ${root}-evil/x`)).toBe(`${root}.txt and ${root}-evil/x`);
    // Shown once: a path under a root shown as "/" is not taken for another root's path.
    const whole = await createSandbox([area], ['/']);
    expect(whole.showIn(`No such file or directory: ${area}${area}/x.`)).toBe(`No such file or directory: ${area}/x.`);
  });

  it('takes a shown path to the root shown longest under it: an operator directory inside the area shown as /', async () => {
    await writeFile(path.join(host, 'shared', 'team.md'), 'team notes\n');
    const whole = await createFilesystemSource({ roots: [area, path.join(host, 'shared')], shownAs: ['/', path.join(host, 'shared')], readOnly: true });
    const read = (p: string) => whole.callTool('read_file', { path: p }, context);
    expect(text(await read(path.join(host, 'shared', 'team.md')))).toBe('team notes\n');
    expect(text(await read('/docs/readme.md'))).toBe('hello\n');
    // Under "/", a host path of the area is just a path that does not exist there.
    const hostPath = path.join(area, 'docs', 'readme.md');
    expect(text(await read(hostPath))).toBe(`No such file or directory: ${hostPath}`);
  });
});

