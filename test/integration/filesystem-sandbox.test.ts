import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesystemSource } from '../../src/servers/filesystem/index.ts';
import { createSandbox, type Sandbox } from '../../src/servers/filesystem/sandbox.ts';
import type { ToolSource } from '../../src/servers/tool-source.ts';

const context = { signal: new AbortController().signal, progress: async () => {} };

let base: string;
let root: string;
let second: string;
let outside: string;
let sandbox: Sandbox;
let source: ToolSource;

/** Every entry under `dir`: file contents, link targets, directories; to prove an attack changed nothing. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const full = path.join(dir, name);
    const stats = await lstat(full);
    if (stats.isSymbolicLink()) result[full] = `link -> ${await readlink(full)}`;
    else if (stats.isDirectory()) Object.assign(result, { [full]: 'dir' }, await snapshot(full));
    else result[full] = `file: ${await readFile(full, 'utf8')}`;
  }
  return result;
}

beforeAll(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'botgate-fs-sandbox-')));
  root = path.join(base, 'root');
  second = path.join(base, 'second');
  outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'docs'), { recursive: true });
  await mkdir(outside);
  await mkdir(path.join(base, 'root-evil'));
  await writeFile(path.join(root, 'docs', 'readme.md'), 'hello\n');
  await writeFile(path.join(outside, 'secret.txt'), 'top secret\n');
  await writeFile(path.join(base, 'root-evil', 'stolen.txt'), 'evil twin\n');
  await symlink(path.join(root, 'docs', 'readme.md'), path.join(root, 'link-inside'));
  await symlink('docs', path.join(root, 'dir-link-inside'));
  await symlink('docs/new.md', path.join(root, 'dangling-inside'));
  await symlink(path.join(outside, 'secret.txt'), path.join(root, 'link-out'));
  await symlink(outside, path.join(root, 'dir-link-out'));
  await symlink(path.join(outside, 'planted.txt'), path.join(root, 'dangling-out'));
  await symlink('loop-b', path.join(root, 'loop-a'));
  await symlink('loop-a', path.join(root, 'loop-b'));
  // `second` does not exist yet: the sandbox creates its roots.
  sandbox = await createSandbox([root, second]);
  source = await createFilesystemSource({ roots: [root, second], readOnly: false });
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('sandbox.resolve', () => {
  it('creates missing roots and reports them as real paths', async () => {
    expect(sandbox.roots).toEqual([root, second]);
    expect((await lstat(second)).isDirectory()).toBe(true);
  });

  it('makes only the missing roots it is told to, naming one it did not make as it is shown', async () => {
    const missing = path.join(base, 'not-made');
    await expect(createSandbox([root, missing], [root, '/shared/not-made'], (dir) => dir !== missing)).rejects.toThrow(
      'root /shared/not-made does not exist, and a read-only server does not create it',
    );
    await expect(lstat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    const readOnlySource = createFilesystemSource({ roots: [missing], readOnly: true, makesRoot: () => false });
    await expect(readOnlySource).rejects.toThrow(`root ${missing} does not exist`);
    await expect(lstat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('resolves relative paths against the first root', async () => {
    await expect(sandbox.resolve('docs/readme.md', { mustExist: true })).resolves.toBe(
      path.join(root, 'docs', 'readme.md'),
    );
    await expect(sandbox.resolve('.', { mustExist: true })).resolves.toBe(root);
  });

  it('accepts absolute paths in any root, and new paths below an existing directory', async () => {
    await expect(sandbox.resolve(path.join(second, 'new', 'file.txt'), { mustExist: false })).resolves.toBe(
      path.join(second, 'new', 'file.txt'),
    );
  });

  it('refuses a missing path when it must exist', async () => {
    await expect(sandbox.resolve('docs/nope.md', { mustExist: true })).rejects.toThrow(/No such file or directory/);
  });

  it('follows symbolic links that stay inside, to their real target', async () => {
    await expect(sandbox.resolve('link-inside', { mustExist: true })).resolves.toBe(
      path.join(root, 'docs', 'readme.md'),
    );
    await expect(sandbox.resolve('dir-link-inside/readme.md', { mustExist: true })).resolves.toBe(
      path.join(root, 'docs', 'readme.md'),
    );
    await expect(sandbox.resolve('dangling-inside', { mustExist: false })).resolves.toBe(
      path.join(root, 'docs', 'new.md'),
    );
  });

  it.each([
    ['a ../ escape', () => '../outside/secret.txt', /outside the allowed directories/],
    ['a ../ escape from a subdirectory', () => 'docs/../../outside/secret.txt', /outside the allowed directories/],
    ['an absolute path elsewhere', () => '/etc/passwd', /outside the allowed directories/],
    ['a sibling sharing the root as a prefix', () => path.join(base, 'root-evil', 'stolen.txt'), /outside the allowed/],
    ['the parent of a root', () => base, /outside the allowed directories/],
    ['a symlink to a file outside', () => 'link-out', /symbolic link to a location outside/],
    [
      'a file below a symlinked directory outside',
      () => 'dir-link-out/secret.txt',
      /symbolic link to a location outside/,
    ],
    [
      'a new file below a symlinked directory outside',
      () => 'dir-link-out/new.txt',
      /symbolic link to a location outside/,
    ],
    ['a dangling symlink pointing outside', () => 'dangling-out', /symbolic link to a location outside/],
    ['a NUL byte', () => 'docs/readme.md\0.png', /NUL byte/],
    ['an over-long path', () => 'a/'.repeat(2100), /longer than 4096 characters/],
    ['an over-long name', () => 'x'.repeat(256), /longer than 255 bytes/],
    ['a symlink loop', () => 'loop-a', /Too many levels of symbolic links/],
  ])('refuses %s', async (_why, input, message) => {
    await expect(sandbox.resolve(input(), { mustExist: false })).rejects.toThrow(message);
  });

  it('resolves only the parent when the last link is not to be followed', async () => {
    const entry = { mustExist: true, followLastLink: false } as const;
    await expect(sandbox.resolve('link-out', entry)).resolves.toBe(path.join(root, 'link-out'));
    await expect(sandbox.resolve('dir-link-inside/readme.md', entry)).resolves.toBe(
      path.join(root, 'docs', 'readme.md'),
    );
    await expect(sandbox.resolve('dir-link-out/secret.txt', entry)).rejects.toThrow(
      /symbolic link to a location outside/,
    );
    await expect(sandbox.resolve('../outside', entry)).rejects.toThrow(/outside the allowed directories/);
    await expect(sandbox.resolve('docs/..', { ...entry, forWrite: true })).rejects.toThrow(/allowed directory itself/);
  });

  it('refuses to replace or move a root itself', async () => {
    await expect(sandbox.resolve('.', { mustExist: true, forWrite: true })).rejects.toThrow(
      /is an allowed directory itself/,
    );
    await expect(sandbox.resolve(second, { mustExist: true, forWrite: true })).rejects.toThrow(
      /allowed directory itself/,
    );
  });

  it('accepts a root configured through a symbolic link, reporting its real path', async () => {
    const alias = path.join(base, 'alias');
    await symlink(root, alias);
    const aliased = await createSandbox([alias]);
    expect(aliased.roots).toEqual([root]);
    await expect(aliased.resolve(path.join(alias, 'docs', 'readme.md'), { mustExist: true })).resolves.toBe(
      path.join(root, 'docs', 'readme.md'),
    );
    await rm(alias);
  });
});

describe('paths too long once resolved', () => {
  // 19 existing directories and a new name: 4069 characters, within the 4096 accepted, but not once the root is in front.
  const existing = `${'d'.repeat(200)}/`.repeat(19);
  const long = `${existing}${'f'.repeat(250)}`;
  const message = /^Path too long: "d{60}…" \(4069 characters\) resolves to a path of 4\d{3} bytes inside the allowed directories, over the system limit of 4095 bytes \(PATH_MAX\)\. Use shorter names or fewer levels\.$/;
  const text = (result: { content: { type: string; text?: string }[] }) => result.content.map((c) => c.text ?? '').join('\n');

  beforeAll(async () => {
    if (root.length + 1 + long.length <= 4095) throw new Error(`the root ${root} is too short for these tests`);
    await mkdir(path.join(root, existing), { recursive: true });
    await symlink(path.join(root, existing), path.join(root, 'deep-link'));
  });

  afterAll(async () => {
    await rm(path.join(root, 'd'.repeat(200)), { recursive: true });
    await rm(path.join(root, 'deep-link'));
  });

  it.each(['read_file', 'get_file_info', 'list_directory', 'search_files'])('%s refuses one, naming its length and the limit', async (tool) => {
    const result = await source.callTool(tool, { path: long, pattern: '**' }, context);
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
  });

  it('write_file refuses one and creates nothing', async () => {
    const before = await snapshot(root);
    const result = await source.callTool('write_file', { path: long, content: 'x' }, context);
    expect(text(result)).toMatch(message);
    expect(await snapshot(root)).toEqual(before);
  });

  it('read_multiple_files reports one inline and reads the other files', async () => {
    const result = await source.callTool('read_multiple_files', { paths: [long, 'docs/readme.md'] }, context);
    expect(result.isError).toBeUndefined();
    const [failed, read] = text(result).split('---\n');
    expect(failed).toMatch(/^d{200}\/.*: Error - Path too long: .* over the system limit of 4095 bytes/);
    expect(read).toBe('docs/readme.md:\nhello\n\n');
  });

  it('refuses a short path that a symbolic link makes too long', async () => {
    const result = await source.callTool('read_file', { path: `deep-link/${'f'.repeat(250)}` }, context);
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(
      /^Path too long: it leads through symbolic links to a path of 4\d{3} bytes inside the allowed directories, over the system limit of 4095 bytes/,
    );
  });
});

describe('attacks through the tools', () => {
  const attacks: [string, string, () => Record<string, unknown>][] = [
    ['write_file', '../outside/planted.txt', () => ({ path: '../outside/planted.txt', content: 'x' })],
    ['write_file', 'root-evil', () => ({ path: path.join(base, 'root-evil', 'stolen.txt'), content: 'x' })],
    ['write_file', 'link-out', () => ({ path: 'link-out', content: 'overwritten' })],
    ['write_file', 'dangling-out', () => ({ path: 'dangling-out', content: 'planted' })],
    ['write_file', 'dir-link-out/new.txt', () => ({ path: 'dir-link-out/new.txt', content: 'planted' })],
    ['write_file', 'NUL', () => ({ path: 'docs/x\0.txt', content: 'x' })],
    ['edit_file', 'link-out', () => ({ path: 'link-out', edits: [{ oldText: 'top', newText: 'no' }] })],
    ['create_directory', 'dir-link-out/sub', () => ({ path: 'dir-link-out/sub' })],
    ['create_directory', '../outside/sub', () => ({ path: '../outside/sub' })],
    [
      'move_file',
      'a symlinked directory outside',
      () => ({ source: 'dir-link-out/secret.txt', destination: 'docs/got.txt' }),
    ],
    [
      'move_file',
      'into a symlinked directory outside',
      () => ({ source: 'docs/readme.md', destination: 'dir-link-out/r.md' }),
    ],
    ['move_file', 'inside → outside', () => ({ source: 'docs/readme.md', destination: '../outside/readme.md' })],
    ['move_file', 'the root away', () => ({ source: '.', destination: path.join(second, 'moved') })],
    ['read_file', 'link-out', () => ({ path: 'link-out' })],
    ['read_file', '/etc/passwd', () => ({ path: '/etc/passwd' })],
    ['read_text_file', 'link-out', () => ({ path: 'link-out' })],
    ['read_text_file', 'dir-link-out/secret.txt', () => ({ path: 'dir-link-out/secret.txt' })],
    ['read_media_file', 'link-out', () => ({ path: 'link-out' })],
    ['read_media_file', '../outside/secret.txt', () => ({ path: '../outside/secret.txt' })],
    ['list_directory', 'dir-link-out', () => ({ path: 'dir-link-out' })],
    ['list_directory_with_sizes', 'dir-link-out', () => ({ path: 'dir-link-out' })],
    ['list_directory_with_sizes', '../outside', () => ({ path: '../outside' })],
    ['get_file_info', '../outside/secret.txt', () => ({ path: '../outside/secret.txt' })],
    ['search_files', 'dir-link-out', () => ({ path: 'dir-link-out', pattern: '**' })],
  ];

  it.each(attacks)('%s via %s is refused and changes nothing', async (tool, _via, args) => {
    const before = await snapshot(base);

    const result = await source.callTool(tool, args(), context);

    expect(await snapshot(base)).toEqual(before);
    const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
    expect(result.isError).toBe(true);
    expect(text).toMatch(/Access denied|allowed directory itself|Invalid path/);
    expect(text).not.toContain('top secret');
  });

  it('read_multiple_files reports a link pointing out as an inline error', async () => {
    const result = await source.callTool(
      'read_multiple_files',
      { paths: ['link-out', 'dir-link-out/secret.txt'] },
      context,
    );
    const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
    expect(text).toMatch(/^link-out: Error - Access denied.*\n---\ndir-link-out\/secret\.txt: Error - Access denied/s);
    expect(text).not.toContain('top secret');
  });

  it('does not say whether a path outside exists', async () => {
    const present = await source.callTool('get_file_info', { path: '../outside/secret.txt' }, context);
    const absent = await source.callTool('get_file_info', { path: '../outside/missing.txt' }, context);
    const viaLinkPresent = await source.callTool('read_file', { path: 'dir-link-out/secret.txt' }, context);
    const viaLinkAbsent = await source.callTool('read_file', { path: 'dir-link-out/missing.txt' }, context);

    const text = (r: typeof present) => (r.content[0]?.type === 'text' ? r.content[0].text : '');
    expect(text(present).replace('secret', 'X')).toBe(text(absent).replace('missing', 'X'));
    expect(text(viaLinkPresent).replace('secret', 'X')).toBe(text(viaLinkAbsent).replace('missing', 'X'));
  });
});
