import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
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

// The reference server's answers quoted below are those of @modelcontextprotocol/server-filesystem 2026.8.31.
describe('edit_file when oldText is nowhere as sent: lines matched with leading and trailing whitespace ignored', () => {
  const edit = async (name: string, content: string, edits: { oldText: string; newText: string }[], dryRun = false) => {
    await writeFile(path.join(root, name), content);
    const result = await call('edit_file', { path: name, edits, dryRun });
    return { result, after: await readFile(path.join(root, name), 'utf8') };
  };

  it.each([
    ['a line sent with another indentation', 'function f() {\n    return 1;  \n}\n', '\treturn 1;', '\treturn 2;', 'function f() {\n    return 2;\n}\n'],
    ['lines sent with less indentation', 'class A {\n    a();\n    b();\n}\n', '  a();\n  b();', '  a2();\n  b2();', 'class A {\n    a2();\n    b2();\n}\n'],
  ])('edits %s as the reference server does, indenting newText to the matched lines', async (_what, content, oldText, newText, expected) => {
    const { result, after } = await edit('loose.ts', content, [{ oldText, newText }]);
    expect(result.isError).toBeUndefined();
    expect(after).toBe(expected);
  });

  it('keeps nested lines nested (the reference puts every later line at the first one’s indentation)', async () => {
    const content = 'def f():\n    if x:\n        y()\n    return 1\n';
    const { after } = await edit('nested.py', content, [{ oldText: 'if x:\n    y()', newText: 'if x:\n    z()\n    w()' }]);
    // The reference writes 'def f():\n    if x:\n    z()\n    w()\n    return 1\n', which no longer parses.
    expect(after).toBe('def f():\n    if x:\n        z()\n        w()\n    return 1\n');
  });

  it('keeps the later lines’ indentation when only the first line’s was left out', async () => {
    const content = 'def f():\n    if x: \n        y()\n    return 1\n';
    const { after } = await edit('first.py', content, [{ oldText: 'if x:\n        y()', newText: 'if x:\n        z()' }]);
    // The reference writes '    z()' at the first line's indentation.
    expect(after).toBe('def f():\n    if x:\n        z()\n    return 1\n');
  });

  it('keeps a CRLF file’s line endings (the reference rewrites the whole file with LF)', async () => {
    const { after } = await edit('crlf.txt', 'a\r\n    b();\r\n    c();\r\nd\r\n', [{ oldText: 'b();\nc();', newText: 'b2();\nc2();' }]);
    expect(after).toBe('a\r\n    b2();\r\n    c2();\r\nd\r\n');
  });

  it('refuses lines that are not there either way, naming the edit, and changes nothing', async () => {
    const { result, after } = await edit('none.txt', 'a\nb\n', [
      { oldText: 'a', newText: 'A' },
      { oldText: 'zzz\n  yyy', newText: 'x' },
    ]);
    expect(result.isError).toBe(true);
    // The reference says: "Could not find exact match for edit:\nzzz\n  yyy".
    expect(text(result)).toBe(
      'Edit 2 of 2: oldText "zzz\\n  yyy" was not found, not even line by line with leading and trailing whitespace ignored. ' +
        'Nothing was changed; read the file and copy the text exactly.',
    );
    expect(after).toBe('a\nb\n');
  });

  it('refuses lines found in more than one place, saying where, and changes nothing (the reference edits the first)', async () => {
    const content = 'if (a) {\n    go();\n}\nif (b) {\n    go();\n}\n';
    const { result, after } = await edit('twice.ts', content, [{ oldText: 'go();\n  }', newText: 'stop();\n}' }]);
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(
      'Edit 1 of 1: oldText "go();\\n  }" is nowhere as sent, and with leading and trailing whitespace ignored its lines ' +
        'occur more than once (from line 2 and from line 5). Nothing was changed; include more surrounding lines so it is unique.',
    );
    expect(after).toBe(content);
  });

  it('shows the re-indented result on a dry run, leaving the file unchanged', async () => {
    const content = 'class A {\n    run() {\n        go();\n    }\n}\n';
    const { result, after } = await edit('dry.ts', content, [{ oldText: 'run() {\n    go();\n}', newText: 'run() {\n    stop();\n}' }], true);
    // The reference's diff shows '+    stop();' and '+}', the later lines at the first one's indentation.
    expect(text(result)).toBe(
      'Dry run; the file was not changed.\n```diff\n' +
        `--- ${path.join(root, 'dry.ts')}\toriginal\n+++ ${path.join(root, 'dry.ts')}\tmodified\n` +
        '@@ -1,5 +1,5 @@\n class A {\n     run() {\n-        go();\n+        stop();\n     }\n }\n```',
    );
    expect(after).toBe(content);
  });
});

describe('get_file_info, read by a client written against the reference server', () => {
  const lines = (result: CallToolResult) => Object.fromEntries(text(result).split('\n').map((line) => line.split(/: (.*)/s).slice(0, 2)));

  it('has the reference’s fields, in text as "key: value" lines and in structuredContent', async () => {
    await chmod(path.join(root, 'lines.txt'), 0o640);
    const file = await call('get_file_info', { path: 'lines.txt' });
    const folder = await call('get_file_info', { path: '.' });
    for (const [result, isFile] of [[file, true], [folder, false]] as const) {
      const fields = lines(result);
      expect(fields).toMatchObject({ isDirectory: String(!isFile), isFile: String(isFile) });
      for (const time of ['created', 'modified', 'accessed']) expect(Date.parse(fields[time] as string)).not.toBeNaN();
      expect(result.structuredContent).toMatchObject({ isDirectory: !isFile, isFile });
    }
    expect(lines(file)).toMatchObject({ size: '35', permissions: '640' });
    expect(Object.keys(lines(file))).toEqual(expect.arrayContaining(['size', 'created', 'modified', 'accessed', 'isDirectory', 'isFile', 'permissions']));
  });
});

describe('outputSchema and structuredContent, as the reference server declares them', () => {
  const TEXT_TOOLS = [
    'read_text_file',
    'read_multiple_files',
    'list_directory',
    'list_directory_with_sizes',
    'directory_tree',
    'search_files',
    'get_file_info',
    'list_allowed_directories',
    'write_file',
    'edit_file',
    'create_directory',
    'move_file',
  ];

  it('lists an outputSchema on every tool: content a string on the text tools, the blocks on read_media_file, either on read_file', async () => {
    const tools = new Map((await source.listTools(context.signal)).map((tool) => [tool.name, tool]));
    expect([...tools.keys()].sort()).toEqual([...TEXT_TOOLS, 'read_file', 'read_media_file'].sort());
    const contentOf = (name: string) => {
      const schema = tools.get(name)?.outputSchema;
      expect(schema).toMatchObject({ type: 'object', required: expect.arrayContaining(['content']) });
      expect(schema).not.toHaveProperty('$schema');
      return (schema?.properties as Record<string, unknown> | undefined)?.['content'];
    };
    for (const name of TEXT_TOOLS) expect({ name, content: contentOf(name) }).toMatchObject({ name, content: { type: 'string' } });
    const media = JSON.stringify(contentOf('read_media_file'));
    for (const type of ['image', 'audio', 'resource']) expect(media).toContain(`"${type}"`);
    expect(contentOf('read_file')).toMatchObject({ anyOf: [{ type: 'string' }, { type: 'array' }] });
  });

  it('gives each text tool’s text as structuredContent.content, beside the tool’s own fields', async () => {
    await mkdir(path.join(root, 'structured'), { recursive: true });
    const calls: Array<[string, Record<string, unknown>]> = [
      ['read_text_file', { path: 'lines.txt', head: 2 }],
      ['read_multiple_files', { paths: ['lines.txt', 'image.png'] }],
      ['list_directory', { path: '.' }],
      ['list_directory_with_sizes', { path: '.' }],
      ['directory_tree', { path: '.', maxDepth: 1 }],
      ['search_files', { path: '.', pattern: '*.txt' }],
      ['get_file_info', { path: 'lines.txt' }],
      ['list_allowed_directories', {}],
      ['write_file', { path: 'structured/a.txt', content: 'one\n' }],
      ['edit_file', { path: 'structured/a.txt', edits: [{ oldText: 'one', newText: 'two' }] }],
      ['create_directory', { path: 'structured/sub' }],
      ['move_file', { source: 'structured/a.txt', destination: 'structured/sub/a.txt' }],
    ];
    for (const [name, args] of calls) {
      const result = await call(name, args);
      expect({ name, isError: result.isError, blocks: result.content.length }).toEqual({ name, isError: undefined, blocks: 1 });
      expect({ name, content: structured(result)['content'] }).toEqual({ name, content: text(result) });
    }
    expect(structured(await call('read_text_file', { path: 'lines.txt', head: 2 }))).toEqual({ content: 'line 1\nline 2' });
    expect(structured(await call('get_file_info', { path: 'lines.txt' }))).toMatchObject({ content: expect.stringContaining('isFile: true'), isFile: true });
  });

  it('mirrors the result’s blocks in structuredContent.content where they are not only text', async () => {
    for (const [name, file] of [
      ['read_media_file', 'image.png'],
      ['read_media_file', 'lines.txt'],
      ['read_file', 'image.png'],
    ]) {
      const result = await call(name as string, { path: file });
      expect(result.content.some((block) => block.type !== 'text')).toBe(true);
      expect(result.structuredContent).toEqual({ content: result.content });
    }
    const textFile = await call('read_file', { path: 'lines.txt' });
    expect(textFile.structuredContent).toEqual({ content: text(textFile) });
  });

  it('gives no structuredContent with an error', async () => {
    const results = [
      await call('read_text_file', { path: 'image.png' }),
      await call('read_media_file', { path: 'missing.png' }),
      await call('list_directory', { path: 'lines.txt' }),
      await call('read_file', { path: 'lines.txt', head: 0 }),
    ];
    for (const result of results) {
      expect(result.isError).toBe(true);
      expect(result).not.toHaveProperty('structuredContent');
    }
  });
});
