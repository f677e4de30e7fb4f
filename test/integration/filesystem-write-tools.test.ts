import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFilesystemSource } from '../../src/servers/filesystem/index.ts';
import { UnknownToolError, type ToolSource } from '../../src/servers/tool-source.ts';

const context = { signal: new AbortController().signal, progress: async () => {} };

let base: string;
let root: string;
let other: string;
let outside: string;
let source: ToolSource;

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

const call = (name: string, args: Record<string, unknown>, on: ToolSource = source) => on.callTool(name, args, context);
const read = (...parts: string[]) => readFile(path.join(root, ...parts), 'utf8');

beforeEach(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'botgate-fs-write-')));
  root = path.join(base, 'root');
  other = path.join(base, 'other');
  outside = path.join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(path.join(root, 'code.ts'), 'const a = 1;\nconst b = 2;\nconst c = 3;\n');
  await writeFile(path.join(outside, 'secret.txt'), 'secret\n');
  source = await createFilesystemSource({ roots: [root, other], readOnly: false });
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('annotations', () => {
  it('marks the write tools honestly', async () => {
    const tools = await source.listTools(context.signal);
    const annotations = (name: string) => tools.find((t) => t.name === name)?.annotations;
    expect(annotations('write_file')).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(annotations('edit_file')).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
    });
    expect(annotations('move_file')).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(annotations('create_directory')).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
    });
  });
});

describe('write_file', () => {
  it('creates a file, and missing parent directories', async () => {
    const result = await call('write_file', { path: 'new/dir/file.txt', content: 'hello' });
    expect(text(result)).toBe(`Created ${path.join(root, 'new', 'dir', 'file.txt')} (5 B).`);
    expect(await read('new', 'dir', 'file.txt')).toBe('hello');
  });

  it('replaces a file atomically, keeping its permissions and leaving no temporary file', async () => {
    await chmod(path.join(root, 'code.ts'), 0o600);
    const result = await call('write_file', { path: 'code.ts', content: 'replaced\n' });
    expect(text(result)).toMatch(/^Replaced .*code\.ts/);
    expect(await read('code.ts')).toBe('replaced\n');
    expect((await stat(path.join(root, 'code.ts'))).mode & 0o777).toBe(0o600);
    expect(await readdir(root)).toEqual(['code.ts']);
  });

  it('refuses to write over a directory', async () => {
    await mkdir(path.join(root, 'dir'));
    const result = await call('write_file', { path: 'dir', content: 'x' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/is a directory/);
    expect((await stat(path.join(root, 'dir'))).isDirectory()).toBe(true);
  });

  it('writes through a symbolic link that stays inside, to its target', async () => {
    await symlink('code.ts', path.join(root, 'alias.ts'));
    await call('write_file', { path: 'alias.ts', content: 'via link\n' });
    expect(await read('code.ts')).toBe('via link\n');
    expect((await lstat(path.join(root, 'alias.ts'))).isSymbolicLink()).toBe(true);
  });

  it('refuses to write or read through a symbolic link pointing out', async () => {
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'out.txt'));
    const write = await call('write_file', { path: 'out.txt', content: 'pwned' });
    const readBack = await call('read_file', { path: 'out.txt' });
    expect(write.isError).toBe(true);
    expect(readBack.isError).toBe(true);
    expect(text(write)).toMatch(/Access denied: "out\.txt" leads through a symbolic link/);
    expect(text(readBack)).not.toContain('secret');
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('secret\n');
  });
});

describe('edit_file', () => {
  it('replaces exact text and returns a diff', async () => {
    const result = await call('edit_file', {
      path: 'code.ts',
      edits: [{ oldText: 'const b = 2;', newText: 'const b = 20;' }],
    });
    expect(result.isError).toBeUndefined();
    expect(await read('code.ts')).toBe('const a = 1;\nconst b = 20;\nconst c = 3;\n');
    expect(text(result)).toContain('@@ -1,3 +1,3 @@\n const a = 1;\n-const b = 2;\n+const b = 20;\n const c = 3;\n');
    expect(text(result)).toMatch(/^Edited .*code\.ts\.\n```diff\n/);
  });

  it('only shows the diff on a dry run, leaving the file unchanged', async () => {
    const result = await call('edit_file', {
      path: 'code.ts',
      edits: [{ oldText: 'const a = 1;', newText: 'let a = 1;' }],
      dryRun: true,
    });
    expect(text(result)).toContain('-const a = 1;\n+let a = 1;');
    expect(text(result)).toMatch(/^Dry run; the file was not changed\./);
    expect(await read('code.ts')).toBe('const a = 1;\nconst b = 2;\nconst c = 3;\n');
  });

  it.each([
    ['text that is not there', [{ oldText: 'const z', newText: 'x' }], /Edit 1 of 1: oldText "const z" was not found/],
    [
      'text that occurs more than once',
      [{ oldText: 'const', newText: 'let' }],
      /Edit 1 of 1: oldText "const" occurs more than once/,
    ],
    [
      'a later edit that fails',
      [
        { oldText: 'const a', newText: 'let a' },
        { oldText: 'missing', newText: 'x' },
      ],
      /Edit 2 of 2: oldText "missing" was not found/,
    ],
  ])('refuses %s and changes nothing', async (_why, edits, message) => {
    const result = await call('edit_file', { path: 'code.ts', edits });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
    expect(await read('code.ts')).toBe('const a = 1;\nconst b = 2;\nconst c = 3;\n');
  });

  it('refuses more than 100 edits in one call, and changes nothing', async () => {
    const edits = Array.from({ length: 101 }, (_, i) => ({ oldText: `const ${'abc'[i % 3]}`, newText: `let ${'abc'[i % 3]}` }));
    const result = await call('edit_file', { path: 'code.ts', edits });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^Invalid arguments for edit_file: edits: .*100/);
    expect(await read('code.ts')).toBe('const a = 1;\nconst b = 2;\nconst c = 3;\n');
  });

  it('refuses a missing file', async () => {
    const result = await call('edit_file', { path: 'nope.ts', edits: [{ oldText: 'a', newText: 'b' }] });
    expect(text(result)).toMatch(/No such file or directory/);
    expect(await readdir(root)).toEqual(['code.ts']);
  });

  it('edits LF lines of a file with mixed line endings, sent byte for byte, keeping each line’s ending', async () => {
    await writeFile(path.join(root, 'mixed.txt'), 'a\r\nb\nc\n');
    const result = await call('edit_file', { path: 'mixed.txt', edits: [{ oldText: 'b\nc', newText: 'B\nC' }] });
    expect(result.isError).toBeUndefined();
    expect(await readFile(path.join(root, 'mixed.txt'))).toEqual(Buffer.from('a\r\nB\nC\n'));
  });

  it('finds CRLF text in an LF file, writing it with LF', async () => {
    const result = await call('edit_file', { path: 'code.ts', edits: [{ oldText: 'const a = 1;\r\nconst b = 2;', newText: 'const ab = 12;\r\n' }] });
    expect(result.isError).toBeUndefined();
    expect(await read('code.ts')).toBe('const ab = 12;\n\nconst c = 3;\n');
  });

  it('shows adding a final newline in the diff, and says the file is unchanged only when it is', async () => {
    await writeFile(path.join(root, 'open.txt'), 'a\nb\nc');
    const added = await call('edit_file', { path: 'open.txt', edits: [{ oldText: 'c', newText: 'c\n' }] });
    expect(text(added)).not.toContain('unchanged');
    expect(text(added)).toContain('@@ -1,3 +1,3 @@\n a\n b\n-c\n\\ No newline at end of file\n+c\n');
    expect(await read('open.txt')).toBe('a\nb\nc\n');

    const removed = await call('edit_file', { path: 'open.txt', edits: [{ oldText: 'c\n', newText: 'c' }] });
    expect(text(removed)).toContain('-c\n+c\n\\ No newline at end of file\n');
    expect(await read('open.txt')).toBe('a\nb\nc');

    const same = await call('edit_file', { path: 'open.txt', edits: [{ oldText: 'b', newText: 'b' }] });
    expect(text(same)).toBe(`Edited ${path.join(root, 'open.txt')}.\nThe edits leave the file unchanged.`);
  });

  it('edits a file larger than one read returns', async () => {
    const big = `${`${'x'.repeat(99)}\n`.repeat(21_000)}end\n`;
    await writeFile(path.join(root, 'big.txt'), big);
    const result = await call('edit_file', { path: 'big.txt', edits: [{ oldText: 'end', newText: 'END' }] });
    expect(result.isError).toBeUndefined();
    expect(text(result)).toContain('@@ -20998,4 +20998,4 @@');
    expect(text(result)).toContain('-end\n+END\n');
    expect(await read('big.txt')).toBe(big.replace('end', 'END'));
  });

  it('leaves out a diff too long for one answer, saying so', async () => {
    const small = await createFilesystemSource({ roots: [root], readOnly: false, maxReadBytes: 100 });
    const result = await call('edit_file', { path: 'code.ts', edits: [{ oldText: 'const b = 2;', newText: `const b = '${'b'.repeat(200)}';` }] }, small);
    expect(result.isError).toBeUndefined();
    expect(text(result)).toMatch(/^Edited .*code\.ts\.\nThe diff is 3\d\d B, over the 100 B limit for one answer, so it is not shown; read the changed lines with read_file\.$/);
    expect(result.structuredContent).toMatchObject({ diffOmitted: true });
    expect(await read('code.ts')).toContain('b'.repeat(200));
  });

  it('refuses a file over the edit limit with a message about editing, changing nothing', async () => {
    const huge = `start\n${'x'.repeat(11 * 1024 * 1024)}\n`;
    await writeFile(path.join(root, 'huge.txt'), huge);
    const result = await call('edit_file', { path: 'huge.txt', edits: [{ oldText: 'start', newText: 'begin' }] });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(
      `${path.join(root, 'huge.txt')} is 11.0 MiB, over the 10.0 MiB limit for edit_file. Nothing was changed; ` +
        'files this large cannot be edited with this tool.',
    );
    expect(await read('huge.txt')).toBe(huge);
  });
});

describe('paths a shell would expand', () => {
  it.each([
    ['~/notes.txt', /^Invalid path: "~\/notes\.txt" starts with "~", which does not mean a home directory here\. Paths are relative to the first allowed directory/],
    ['~alice/notes.txt', /^Invalid path: "~alice\/notes\.txt" starts with "~"/],
    ['C:\\Users\\me\\notes.txt', /^Invalid path: "C:\\\\Users\\\\me\\\\notes\.txt" is a Windows drive path; .* \(see list_allowed_directories\)\.$/],
  ])('write_file refuses %j and creates nothing', async (input, message) => {
    const result = await call('write_file', { path: input, content: 'x' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
    expect(await readdir(root)).toEqual(['code.ts']);
  });

  it('writes a name starting with "~" given as "./~…"', async () => {
    await call('write_file', { path: './~draft.txt', content: 'x' });
    expect(await read('~draft.txt')).toBe('x');
  });
});

describe('create_directory', () => {
  it('creates nested directories and succeeds again without change', async () => {
    expect(text(await call('create_directory', { path: 'a/b/c' }))).toBe(`Created ${path.join(root, 'a', 'b', 'c')}.`);
    expect((await stat(path.join(root, 'a', 'b', 'c'))).isDirectory()).toBe(true);
    expect(text(await call('create_directory', { path: 'a/b/c' }))).toMatch(/already exists/);
    expect(text(await call('create_directory', { path: '.' }))).toMatch(/already exists/);
  });

  it('fails when a file is in the way', async () => {
    const result = await call('create_directory', { path: 'code.ts/sub' });
    expect(result.isError).toBe(true);
    expect(await read('code.ts')).toBe('const a = 1;\nconst b = 2;\nconst c = 3;\n');
  });
});

describe('move_file', () => {
  it('renames a file and moves it to another root', async () => {
    await call('move_file', { source: 'code.ts', destination: 'renamed.ts' });
    expect(await readdir(root)).toEqual(['renamed.ts']);
    const result = await call('move_file', { source: 'renamed.ts', destination: path.join(other, 'moved.ts') });
    expect(text(result)).toBe(`Moved ${path.join(root, 'renamed.ts')} to ${path.join(other, 'moved.ts')}.`);
    expect(await readFile(path.join(other, 'moved.ts'), 'utf8')).toMatch(/^const a/);
  });

  it('refuses to overwrite an existing destination, changing neither file', async () => {
    await writeFile(path.join(root, 'target.ts'), 'keep me\n');
    const result = await call('move_file', { source: 'code.ts', destination: 'target.ts' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/Destination already exists: .*target\.ts\. Nothing was moved/);
    expect(await read('target.ts')).toBe('keep me\n');
    expect(await read('code.ts')).toMatch(/^const a/);
  });

  it('counts a dangling symbolic link at the destination as existing', async () => {
    await symlink('nowhere.ts', path.join(root, 'dangling.ts'));
    const result = await call('move_file', { source: 'code.ts', destination: 'dangling.ts' });
    expect(text(result)).toMatch(/Destination already exists/);
    expect((await readdir(root)).sort()).toEqual(['code.ts', 'dangling.ts']);
  });

  it('moves a symbolic link itself, not its target, and refuses to move a link pointing out', async () => {
    await symlink('code.ts', path.join(root, 'alias.ts'));
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'out.txt'));
    await call('move_file', { source: 'alias.ts', destination: 'alias2.ts' });
    expect(text(await call('move_file', { source: 'out.txt', destination: 'out2.txt' }))).toMatch(/pointing outside/);
    expect((await readdir(root)).sort()).toEqual(['alias2.ts', 'code.ts', 'out.txt']);
    expect((await lstat(path.join(root, 'alias2.ts'))).isSymbolicLink()).toBe(true);
    expect(text(await call('read_file', { path: 'out.txt' }))).toMatch(/Access denied/);
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });

  it('refuses a destination whose parent is missing', async () => {
    const result = await call('move_file', { source: 'code.ts', destination: 'no/such/dir/x.ts' });
    expect(text(result)).toMatch(/not an existing directory; create it with create_directory first/);
    expect(await readdir(root)).toEqual(['code.ts']);
  });
});

describe('a read-only source', () => {
  it('has no write tools and refuses a call to one as unknown', async () => {
    const readOnly = await createFilesystemSource({ roots: [root], readOnly: true });
    const names = (await readOnly.listTools(context.signal)).map((t) => t.name);
    expect(names).not.toEqual(expect.arrayContaining(['write_file']));
    for (const name of ['write_file', 'edit_file', 'create_directory', 'move_file']) expect(names).not.toContain(name);
    expect(names).toHaveLength(10);

    await expect(call('write_file', { path: 'x.txt', content: 'x' }, readOnly)).rejects.toBeInstanceOf(
      UnknownToolError,
    );
    expect(await readdir(root)).toEqual(['code.ts']);
    expect(text(await call('list_allowed_directories', {}, readOnly))).toMatch(/\(read-only\)/);
  });
});
