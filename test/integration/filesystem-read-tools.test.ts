import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesystemSource } from '../../src/servers/filesystem/index.ts';
import { UnknownToolError, type ToolSource } from '../../src/servers/tool-source.ts';

const context = { signal: new AbortController().signal, progress: async () => {} };
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

let root: string;
let source: ToolSource;

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

const structured = (result: CallToolResult) => result.structuredContent as Record<string, unknown>;

const call = (name: string, args: Record<string, unknown>, on: ToolSource = source) => on.callTool(name, args, context);

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'botgate-fs-read-')));
  await mkdir(path.join(root, 'src', 'deep', 'node_modules'), { recursive: true });
  await mkdir(path.join(root, 'empty'));
  await writeFile(
    path.join(root, 'lines.txt'),
    Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n') + '\n',
  );
  await writeFile(path.join(root, 'no-final-newline.txt'), 'a\nb\nc');
  await writeFile(path.join(root, 'crlf.txt'), 'one\r\ntwo\r\nthree\r\n');
  await writeFile(path.join(root, 'README.md'), '# Title\n');
  await writeFile(path.join(root, 'src', 'index.ts'), 'export {};\n');
  await writeFile(path.join(root, 'src', 'deep', 'util.ts'), 'export const x = 1;\n');
  await writeFile(path.join(root, 'src', 'deep', 'notes.md'), 'notes\n');
  await writeFile(path.join(root, 'src', 'deep', 'node_modules', 'dep.ts'), '');
  await writeFile(path.join(root, 'image.png'), PNG);
  await writeFile(path.join(root, 'sound.mp3'), Buffer.from([0xff, 0xfb, 0x90, 0x00]));
  await writeFile(path.join(root, 'data.bin'), Buffer.from('abc\0def'));
  await writeFile(
    path.join(root, 'big.txt'),
    Array.from({ length: 100_000 }, (_, i) => `row ${i + 1} ${'x'.repeat(20)}`).join('\n'),
  );
  await symlink('src/deep/notes.md', path.join(root, 'notes-link.md'));
  source = await createFilesystemSource({ roots: [root], readOnly: false });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('listTools', () => {
  it('lists every tool with an object input schema and read tools marked read-only', async () => {
    const tools = await source.listTools(context.signal);
    expect(tools.map((t) => t.name).sort()).toEqual([
      'create_directory',
      'directory_tree',
      'edit_file',
      'get_file_info',
      'list_allowed_directories',
      'list_directory',
      'list_directory_with_sizes',
      'move_file',
      'read_file',
      'read_media_file',
      'read_multiple_files',
      'read_text_file',
      'search_files',
      'write_file',
    ]);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.description?.length).toBeGreaterThan(40);
    }
    const readTools = [
      'read_file',
      'read_text_file',
      'read_media_file',
      'read_multiple_files',
      'list_directory',
      'list_directory_with_sizes',
      'directory_tree',
      'search_files',
      'get_file_info',
      'list_allowed_directories',
    ];
    for (const name of readTools) expect(tools.find((t) => t.name === name)?.annotations?.readOnlyHint).toBe(true);
  });

  it('throws UnknownToolError for a name it does not have', async () => {
    await expect(call('delete_everything', {})).rejects.toBeInstanceOf(UnknownToolError);
  });

  it('names the bad field of invalid arguments', async () => {
    const result = await call('read_file', { path: 'lines.txt', head: -1 });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/head/);
  });
});

describe('read_file', () => {
  it('reads a whole text file, by relative or absolute path', async () => {
    expect(text(await call('read_file', { path: 'README.md' }))).toBe('# Title\n');
    expect(text(await call('read_file', { path: path.join(root, 'README.md') }))).toBe('# Title\n');
  });

  it.each([
    [{ head: 2 }, 'line 1\nline 2'],
    [{ tail: 2 }, 'line 9\nline 10'],
    [{ tail: 50 }, Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n')],
    [{ start_line: 4, end_line: 6 }, 'line 4\nline 5\nline 6'],
    [{ start_line: 9 }, 'line 9\nline 10'],
    [{ end_line: 1 }, 'line 1'],
  ])('reads the lines asked for with %j', async (range, expected) => {
    expect(text(await call('read_file', { path: 'lines.txt', ...range }))).toBe(expected);
  });

  it('handles files without a final newline and CRLF files', async () => {
    expect(text(await call('read_file', { path: 'no-final-newline.txt', tail: 2 }))).toBe('b\nc');
    expect(text(await call('read_file', { path: 'no-final-newline.txt', start_line: 3 }))).toBe('c');
    expect(text(await call('read_file', { path: 'crlf.txt', tail: 1 }))).toBe('three');
    expect(text(await call('read_file', { path: 'crlf.txt', head: 1 }))).toBe('one');
  });

  it.each([
    [{ head: 1, tail: 1 }, /only one of head, tail, or start_line\/end_line/],
    [{ start_line: 5, end_line: 2 }, /end_line 2 is before start_line 5/],
    [{ start_line: 50 }, /start_line 50 is past the end of .*lines\.txt, which has 10 lines/],
  ])('explains a bad range %j', async (range, message) => {
    const result = await call('read_file', { path: 'lines.txt', ...range });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
  });

  it('refuses a whole file over the size cap, suggesting a line range, but reads a range of it', async () => {
    const whole = await call('read_file', { path: 'big.txt' });
    expect(whole.isError).toBe(true);
    expect(text(whole)).toMatch(
      /big\.txt is 2\.\d+ MiB, over the 1\.00 MiB limit .* start_line\/end_line, head or tail/,
    );

    expect(text(await call('read_file', { path: 'big.txt', start_line: 50_000, end_line: 50_001 }))).toBe(
      `row 50000 ${'x'.repeat(20)}\nrow 50001 ${'x'.repeat(20)}`,
    );
    expect(text(await call('read_file', { path: 'big.txt', tail: 1 }))).toBe(`row 100000 ${'x'.repeat(20)}`);
  });

  it('refuses a range whose lines exceed the cap', async () => {
    const small = await createFilesystemSource({ roots: [root], readOnly: true, maxReadBytes: 50 });
    const whole = await call('read_file', { path: 'lines.txt' }, small);
    expect(text(whole)).toMatch(/over the 50 B limit/);
    expect(text(await call('read_file', { path: 'lines.txt', head: 3 }, small))).toBe('line 1\nline 2\nline 3');
    for (const range of [{ start_line: 1 }, { tail: 30 }]) {
      const result = await call('read_file', { path: 'big.txt', ...range }, small);
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/more than 50 B; request fewer lines/);
    }
  });

  it('returns an image as image content', async () => {
    const result = await call('read_file', { path: 'image.png' });
    expect(result.isError).toBeUndefined();
    expect(result.content).toContainEqual({ type: 'image', data: PNG.toString('base64'), mimeType: 'image/png' });
  });

  it('returns audio as audio content and other binary files as an embedded resource', async () => {
    const audio = await call('read_file', { path: 'sound.mp3' });
    expect(audio.content.find((c) => c.type === 'audio')).toMatchObject({ mimeType: 'audio/mpeg' });
    const binary = await call('read_file', { path: 'data.bin' });
    expect(binary.content).toContainEqual({
      type: 'resource',
      resource: {
        uri: pathToFileURL(path.join(root, 'data.bin')).href,
        mimeType: 'application/octet-stream',
        blob: Buffer.from('abc\0def').toString('base64'),
      },
    });
  });

  it('refuses line ranges on a binary file and reading a directory', async () => {
    expect(text(await call('read_file', { path: 'image.png', head: 1 }))).toMatch(
      /binary file \(image\/png\); line ranges do not apply/,
    );
    expect(text(await call('read_file', { path: 'src' }))).toMatch(/is a directory; use list_directory/);
  });

  it('follows a symbolic link that stays inside the root', async () => {
    expect(text(await call('read_file', { path: 'notes-link.md' }))).toBe('notes\n');
  });
});

describe('read_multiple_files', () => {
  it('returns each file after its path and reports failures inline', async () => {
    const result = await call('read_multiple_files', {
      paths: ['README.md', 'missing.txt', '../../etc/passwd', 'image.png', 'src/index.ts'],
    });
    expect(result.isError).toBeUndefined();
    const output = text(result);
    expect(output).toContain('README.md:\n# Title\n');
    expect(output).toMatch(/missing\.txt: Error - No such file or directory/);
    expect(output).toMatch(/\.\.\/\.\.\/etc\/passwd: Error - Access denied/);
    expect(output).toMatch(/image\.png: Error - binary file \(image\/png/);
    expect(output).toContain('src/index.ts:\nexport {};\n');
    expect(structured(result)['files']).toHaveLength(5);
  });
});

describe('list_directory', () => {
  it('lists sorted entries with markers and structured entries', async () => {
    const result = await call('list_directory', { path: 'src' });
    expect(text(result)).toBe('[DIR] deep\n[FILE] index.ts');
    expect(result.structuredContent).toEqual({
      content: text(result),
      path: path.join(root, 'src'),
      entries: [
        { name: 'deep', type: 'directory' },
        { name: 'index.ts', type: 'file' },
      ],
      totalEntries: 2,
      truncated: false,
    });
    expect(text(await call('list_directory', { path: '.' }))).toContain('[LINK] notes-link.md');
    expect(text(await call('list_directory', { path: 'empty' }))).toBe('(empty directory)');
  });

  it('lists the first 1000 entries of a larger directory and says, in text and structured content, how many there are', async () => {
    const many = path.join(root, 'many-listed');
    await mkdir(many);
    try {
      await Promise.all(Array.from({ length: 1005 }, (_, i) => writeFile(path.join(many, `f${i}`), 'x')));
      for (const tool of ['list_directory', 'list_directory_with_sizes']) {
        const result = await call(tool, { path: 'many-listed' });
        expect(text(result)).toContain('… and 5 more entries not shown');
        expect(result.structuredContent).toMatchObject({ totalEntries: 1005, truncated: true });
        expect(structured(result)['entries']).toHaveLength(1000);
      }
    } finally {
      await rm(many, { recursive: true, force: true });
    }
  });

  it('refuses a file', async () => {
    expect(text(await call('list_directory', { path: 'README.md' }))).toMatch(/Not a directory/);
  });
});

describe('list_directory_with_sizes', () => {
  it('lists entries by name with each file’s size, then the totals', async () => {
    const result = await call('list_directory_with_sizes', { path: 'src' });
    expect(text(result)).toBe('[DIR]  deep\n[FILE] index.ts  11 B\n\nTotal: 1 files, 1 directories\nCombined size: 11 B');
    expect(result.structuredContent).toEqual({
      content: text(result),
      path: path.join(root, 'src'),
      entries: [
        { name: 'deep', type: 'directory' },
        { name: 'index.ts', type: 'file', size: 11 },
      ],
      totalEntries: 2,
      totals: { files: 1, directories: 1, bytes: 11 },
      truncated: false,
    });
  });

  it('sorts by size, largest file first, with directories and links last and unmeasured', async () => {
    const result = await call('list_directory_with_sizes', { path: '.', sortBy: 'size' });
    const entries = structured(result)['entries'] as Array<{ name: string; type: string; size?: number }>;
    const files = entries.filter((e) => e.type === 'file');
    expect(entries[0]?.name).toBe('big.txt');
    expect(files.map((e) => e.size)).toEqual([...files.map((e) => e.size)].sort((a, b) => (b ?? 0) - (a ?? 0)));
    expect(entries.slice(files.length).map((e) => [e.name, e.type, e.size])).toEqual([
      ['empty', 'directory', undefined],
      ['notes-link.md', 'symlink', undefined],
      ['src', 'directory', undefined],
    ]);
    expect(structured(result)['totals']).toEqual({ files: files.length, directories: 2, bytes: files.reduce((sum, e) => sum + (e.size ?? 0), 0) });
  });

  it('refuses a file, a path outside the allowed directories, a bad sort and a directory too large to measure', async () => {
    expect(text(await call('list_directory_with_sizes', { path: 'README.md' }))).toMatch(/Not a directory/);
    const outside = await call('list_directory_with_sizes', { path: '..' });
    expect(outside.isError).toBe(true);
    expect(text(outside)).toMatch(/outside the allowed directories/);
    const badSort = await call('list_directory_with_sizes', { path: '.', sortBy: 'date' });
    expect(badSort.isError).toBe(true);
    expect(text(badSort)).toMatch(/sortBy/);

    const crowded = path.join(root, 'crowded');
    await mkdir(crowded);
    try {
      await Promise.all(Array.from({ length: 5001 }, (_, i) => writeFile(path.join(crowded, `f${i}`), '')));
      const refused = await call('list_directory_with_sizes', { path: 'crowded' });
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(/has 5001 entries, more than the 5000 this tool measures/);
    } finally {
      await rm(crowded, { recursive: true, force: true });
    }
  });
});

describe('directory_tree', () => {
  it('returns a JSON tree without excluded entries', async () => {
    const result = await call('directory_tree', { path: 'src', excludePatterns: ['node_modules'] });
    expect(JSON.parse(text(result))).toEqual([
      {
        name: 'deep',
        type: 'directory',
        children: [
          { name: 'notes.md', type: 'file' },
          { name: 'util.ts', type: 'file' },
        ],
      },
      { name: 'index.ts', type: 'file' },
    ]);
    expect(structured(result)['truncated']).toBe(false);
  });

  it('stops at maxDepth, marking the directories it did not expand, and after 1000 entries', async () => {
    const cut = await call('directory_tree', { path: 'src', maxDepth: 1 });
    const shallow = [
      { name: 'deep', type: 'directory', maxDepthReached: true },
      { name: 'index.ts', type: 'file' },
    ];
    expect(structured(cut)['tree']).toEqual(shallow);
    expect(text(cut)).toBe(
      `${JSON.stringify(shallow, null, 2)}\n(1 directory was not expanded at maxDepth 1 (marked "maxDepthReached"): ` +
        'raise maxDepth (up to 10) or call directory_tree on them to see inside)',
    );

    const many = path.join(root, 'many');
    await mkdir(many);
    await Promise.all(Array.from({ length: 1005 }, (_, i) => writeFile(path.join(many, `f${i}`), '')));
    const result = await call('directory_tree', { path: 'many' });
    expect(structured(result)['truncated']).toBe(true);
    expect(structured(result)['tree']).toHaveLength(1000);
    expect(text(result)).toMatch(/truncated after 1000 entries/);
    await rm(many, { recursive: true });
  });
});

describe('search_files', () => {
  it('matches globs against relative paths, recursively with **', async () => {
    const deep = await call('search_files', { path: '.', pattern: '**/*.ts', excludePatterns: ['node_modules'] });
    expect(text(deep).split('\n')).toEqual([
      path.join(root, 'src', 'deep', 'util.ts'),
      path.join(root, 'src', 'index.ts'),
    ]);
    expect(text(await call('search_files', { path: '.', pattern: '*.md' })).split('\n')).toEqual([
      path.join(root, 'README.md'),
      path.join(root, 'notes-link.md'),
    ]);
    expect(text(await call('search_files', { path: 'src', pattern: '**/dep.ts' }))).toBe(
      path.join(root, 'src', 'deep', 'node_modules', 'dep.ts'),
    );
  });

  it('matches braces, character classes and, with a trailing "/", directories only', async () => {
    const found = async (pattern: string) => structured(await call('search_files', { path: '.', pattern, excludePatterns: ['node_modules/'] }))['matches'];
    const under = (...names: string[]) => names.map((name) => path.join(root, name));
    expect(await found('**/*.{ts,md}')).toEqual(under('README.md', 'notes-link.md', 'src/deep/notes.md', 'src/deep/util.ts', 'src/index.ts'));
    expect(await found('src/*.[tj]s')).toEqual(under('src/index.ts'));
    expect(await found('**/[nu]*.{ts,md}')).toEqual(under('notes-link.md', 'src/deep/notes.md', 'src/deep/util.ts'));
    expect(await found('**/')).toEqual(under('empty', 'src', 'src/deep'));
    expect(await found('src/**/')).toEqual(under('src', 'src/deep'));
  });

  it('refuses a pattern that names nothing', async () => {
    const result = await call('search_files', { path: '.', pattern: '/' });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe('Invalid pattern "/": it names no entries. Use "**" for everything, "**/" for every directory.');
  });

  it('says when nothing matches and caps the results', async () => {
    expect(text(await call('search_files', { path: '.', pattern: '**/*.java' }))).toBe('No matches found');
    const capped = await call('search_files', { path: '.', pattern: '**', maxResults: 2 });
    expect(capped.structuredContent).toMatchObject({ truncated: true, examined: 2 });
    expect(text(capped)).toContain('(stopped after 2 matches / 2 entries examined)');
    expect(structured(capped)['matches']).toHaveLength(2);
  });
});

// Root reads any directory, so only a test run by another user can make one unreadable (test/unit/filesystem-walk.test.ts covers the rest).
describe.skipIf(process.getuid?.() === 0)('an unreadable subdirectory', () => {
  it('is skipped and named by search_files and directory_tree, which return the rest', async () => {
    const locked = path.join(root, 'src', 'locked');
    await mkdir(locked);
    await chmod(locked, 0o000);
    try {
      const search = await call('search_files', { path: 'src', pattern: '**/*.ts', excludePatterns: ['node_modules'] });
      expect(search.isError).toBeUndefined();
      expect(text(search)).toBe(
        [
          path.join(root, 'src', 'deep', 'util.ts'),
          path.join(root, 'src', 'index.ts'),
          `(skipped 1 directory that could not be read (permission denied): ${locked})`,
        ].join('\n'),
      );
      expect(search.structuredContent).toMatchObject({ unreadableDirectories: [locked], unreadableCount: 1 });

      const tree = await call('directory_tree', { path: 'src', excludePatterns: ['node_modules'] });
      expect(structured(tree)['tree']).toContainEqual({ name: 'locked', type: 'directory', unreadable: true });
      expect(tree.structuredContent).toMatchObject({ unreadableDirectories: [locked], unreadableCount: 1 });
    } finally {
      await chmod(locked, 0o755);
      await rm(locked, { recursive: true });
    }
  });
});

describe('get_file_info', () => {
  it('reports size, times, type and permissions', async () => {
    await chmod(path.join(root, 'README.md'), 0o640);
    const result = await call('get_file_info', { path: 'README.md' });
    expect(result.structuredContent).toMatchObject({
      path: path.join(root, 'README.md'),
      size: 8,
      type: 'file',
      isDirectory: false,
      isFile: true,
      permissions: '640',
    });
    expect(Date.parse(structured(result)['modified'] as string)).not.toBeNaN();
    expect(text(result)).toMatch(
      /^path: .*\nsize: 8\ncreated: .*\nmodified: .*\naccessed: .*\ntype: file\nisDirectory: false\nisFile: true\npermissions: 640$/,
    );
    expect(text(await call('get_file_info', { path: 'src' }))).toMatch(/type: directory/);
  });
});

describe('list_allowed_directories', () => {
  it('lists the roots and the access mode', async () => {
    const result = await call('list_allowed_directories', {});
    expect(text(result)).toBe(`Allowed directories (read-write):\n${root}`);
    expect(result.structuredContent).toEqual({ content: text(result), directories: [root], readOnly: false });
  });
});
