import { mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFilesystemSource } from '../../src/servers/filesystem/index.ts';
import { createSandbox } from '../../src/servers/filesystem/sandbox.ts';
import type { ToolSource } from '../../src/servers/tool-source.ts';

// A relative symbolic link points somewhere else once moved. A move that makes
// one point outside the allowed directories is the first step of an escape:
// moved into the place of a directory whose path a write has already checked,
// it would take that write out of the sandbox.

const context = { signal: new AbortController().signal, progress: async () => {} };

let base: string;
let root: string;
let other: string;
let source: ToolSource;

const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const call = (name: string, args: Record<string, unknown>) => source.callTool(name, args, context);
const tree = async (dir: string) => (await readdir(dir, { recursive: true })).sort();

beforeEach(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'botgate-fs-links-')));
  root = path.join(base, 'root');
  other = path.join(base, 'other');
  // `shared` both inside the root and beside it: which one a relative link reaches depends on where it sits.
  await mkdir(path.join(root, 'shared'), { recursive: true });
  await mkdir(path.join(base, 'shared'));
  await writeFile(path.join(base, 'shared', 'secret.txt'), 'secret\n');
  source = await createFilesystemSource({ roots: [root, other], readOnly: false });
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('move_file and symbolic links', () => {
  it('refuses to move a relative link to where it would point outside, and changes nothing', async () => {
    await mkdir(path.join(root, 'vendor'));
    await symlink('../shared', path.join(root, 'vendor', 'assets'));
    const before = await tree(root);

    const result = await call('move_file', { source: 'vendor/assets', destination: 'assets' });

    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/would leave the symbolic link .*assets pointing outside the allowed directories\. Nothing was moved/);
    expect(await tree(root)).toEqual(before);
    expect(await readlink(path.join(root, 'vendor', 'assets'))).toBe('../shared');
  });

  it('refuses to move a directory holding such a link', async () => {
    await mkdir(path.join(root, 'deep', 'vendor'), { recursive: true });
    await symlink('../../shared', path.join(root, 'deep', 'vendor', 'assets'));
    const before = await tree(root);

    const result = await call('move_file', { source: 'deep/vendor', destination: 'vendor' });

    expect(text(result)).toMatch(/symbolic link .*vendor\/assets pointing outside/);
    expect(await tree(root)).toEqual(before);
  });

  it('refuses to move a link that points outside already, wherever it would go', async () => {
    await symlink(path.join(base, 'shared'), path.join(root, 'out'));
    const result = await call('move_file', { source: 'out', destination: 'dir' });
    expect(text(result)).toMatch(/pointing outside the allowed directories/);
    expect((await tree(root)).includes('dir')).toBe(false);
  });

  it('puts back a move whose links lead outside once followed where they land', async () => {
    // `up` leads to the root, so `up/../shared` leads beside it: read as a path it would stay inside.
    await mkdir(path.join(root, 'd'));
    await symlink('..', path.join(root, 'd', 'up'));
    await symlink('up/../shared', path.join(root, 'd', 'l'));
    const before = await tree(root);

    const result = await call('move_file', { source: 'd', destination: 'e' });

    expect(text(result)).toMatch(/symbolic link .*e\/l pointing outside/);
    expect(await tree(root)).toEqual(before);
  });

  it('moves links that stay inside, the ones into the moved directory included, and they still work', async () => {
    await mkdir(path.join(root, 'pkg', 'lib'), { recursive: true });
    await mkdir(path.join(root, 'pkg', 'bin'));
    await writeFile(path.join(root, 'pkg', 'lib', 'tool.js'), 'run()\n');
    await symlink('../lib/tool.js', path.join(root, 'pkg', 'bin', 'tool'));
    await symlink('../shared', path.join(root, 'pkg', 'shared'));

    const moved = await call('move_file', { source: 'pkg', destination: path.join(other, 'pkg') });

    expect(moved.isError).toBeFalsy();
    expect(await readFile(path.join(other, 'pkg', 'bin', 'tool'), 'utf8')).toBe('run()\n');
    expect(text(await call('read_file', { path: path.join(other, 'pkg', 'bin', 'tool') }))).toContain('run()');
  });

  it('keeps a write checked before the moves from landing outside', async () => {
    // The escape the refusal prevents: a write checks `dir/pwned.txt`; before it writes, `dir` is moved
    // away and a link pointing out is moved into its place. The write waiting its turn is played by hand.
    await mkdir(path.join(root, 'dir'));
    await mkdir(path.join(root, 'vendor'));
    await symlink('../shared', path.join(root, 'vendor', 'assets'));
    const checked = await (await createSandbox([root, other])).resolve('dir/pwned.txt', { mustExist: false, forWrite: true });

    await call('move_file', { source: 'dir', destination: 'dir_old' });
    const swap = await call('move_file', { source: 'vendor/assets', destination: 'dir' });
    await writeFile(checked, 'x').catch(() => undefined);

    expect(swap.isError).toBe(true);
    expect(await readdir(path.join(base, 'shared'))).toEqual(['secret.txt']);
  });
});
