import { describe, expect, it } from 'vitest';
import { createExcluder, createGlobMatcher } from '../../src/servers/filesystem/glob.ts';
import { buildTree, searchEntries, type DirectoryEntry, type ReadDirectory } from '../../src/servers/filesystem/walk.ts';
import { treeNotes } from '../../src/servers/filesystem/tools/directory-tree.ts';
import { searchNotes } from '../../src/servers/filesystem/tools/search-files.ts';

const signal = new AbortController().signal;
const show = (real: string) => real.replace(/^\/top/, '/shown');

/** A directory that cannot be read. */
const LOCKED = Symbol('locked');

/** A directory tree in memory: a string is a file, an object a directory. */
type FakeTree = { [name: string]: string | FakeTree | typeof LOCKED };

function systemError(code: string, directory: string): Error {
  return Object.assign(new Error(`${code}: cannot read ${directory}`), { code });
}

/** `readdir` over `tree`, mounted at /top; it records the directories it was asked for. */
function fakeReadDirectory(tree: FakeTree, asked: string[] = []): ReadDirectory {
  return (directory) => {
    asked.push(directory);
    let node: FakeTree | string | typeof LOCKED = tree;
    for (const name of directory.split('/').slice(2)) {
      const next: FakeTree | string | typeof LOCKED | undefined = typeof node === 'object' ? node[name] : undefined;
      if (next === undefined) return Promise.reject(systemError('ENOENT', directory));
      node = next;
    }
    if (node === LOCKED) return Promise.reject(systemError('EACCES', directory));
    if (typeof node === 'string') return Promise.reject(systemError('ENOTDIR', directory));
    return Promise.resolve(
      Object.entries(node).map(([name, child]): DirectoryEntry => {
        const isDirectory = typeof child !== 'string';
        return { name, isDirectory: () => isDirectory, isFile: () => !isDirectory, isSymbolicLink: () => false };
      }),
    );
  };
}

const search = (tree: FakeTree, pattern: string, limits: { maxResults?: number; maxExamined?: number; exclude?: string[] } = {}) =>
  searchEntries({
    top: '/top',
    matches: createGlobMatcher(pattern),
    excluded: createExcluder(limits.exclude ?? []),
    maxResults: limits.maxResults ?? 100,
    maxExamined: limits.maxExamined ?? 1000,
    signal,
    readDirectory: fakeReadDirectory(tree),
  });

describe('searchEntries', () => {
  it('skips a directory it cannot read, naming it, and searches the rest', async () => {
    const tree = { a: { 'x.ts': '' }, locked: LOCKED, z: { secret: LOCKED, 'y.ts': '' } } as const;
    const outcome = await search(tree, '**/*.ts');
    expect(outcome.matches).toEqual(['/top/a/x.ts', '/top/z/y.ts']);
    expect(outcome.unreadable).toEqual({ paths: ['/top/locked', '/top/z/secret'], count: 2 });
    expect(searchNotes(outcome, show)).toEqual([
      '(skipped 2 directories that could not be read (permission denied): /shown/locked, /shown/z/secret)',
    ]);
  });

  it('names at most 20 unreadable directories and counts the rest', async () => {
    const tree: FakeTree = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`d${String(i).padStart(2, '0')}`, LOCKED] as const));
    const outcome = await search(tree, '**');
    expect(outcome.unreadable.count).toBe(25);
    expect(outcome.unreadable.paths).toHaveLength(20);
    expect(searchNotes(outcome, show)[0]).toMatch(/^\(skipped 25 directories .*: \/shown\/d00, .*\/shown\/d19 and 5 more\)$/);
  });

  it('still fails when the directory searched cannot be read', async () => {
    const locked = searchEntries({
      top: '/top',
      matches: createGlobMatcher('**'),
      excluded: createExcluder([]),
      maxResults: 10,
      maxExamined: 10,
      signal,
      readDirectory: () => Promise.reject(systemError('EACCES', '/top')),
    });
    await expect(locked).rejects.toThrow(/^Permission denied: \/top$/);
  });

  it('reaches the shallow entries of every directory before the deep ones of any, so node_modules cannot starve src', async () => {
    const deep = (levels: number): FakeTree => (levels === 0 ? { 'dep.ts': '' } : { a: deep(levels - 1), b: deep(levels - 1) });
    const tree = { node_modules: deep(8), src: { 'index.ts': '' } };
    const outcome = await search(tree, 'src/*.ts', { maxExamined: 50 });
    expect(outcome.matches).toEqual(['/top/src/index.ts']);
    expect(outcome.stoppedBy).toBe('entries');
  });

  it('suggests excludePatterns when the entry budget stops it', async () => {
    const tree = { node_modules: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`p${i}`, ''])) };
    const outcome = await search(tree, '**/*.ts', { maxExamined: 5 });
    expect(outcome).toMatchObject({ examined: 5, stoppedBy: 'entries', matches: [] });
    expect(searchNotes(outcome, show)).toEqual([
      '(stopped after examining 5 entries, the most one search examines; there may be more matches. Leave out large ' +
        'directories with excludePatterns, e.g. ["node_modules", ".git"], or search a subdirectory.)',
    ]);
  });

  it('returns matches in path order whatever order it visited them in', async () => {
    const tree = { 'a-b': { 'x.ts': '' }, a: { deep: { 'y.ts': '' } }, 'z.ts': '' };
    expect((await search(tree, '**/*.ts')).matches).toEqual(['/top/a/deep/y.ts', '/top/a-b/x.ts', '/top/z.ts']);
  });

  it('does not look inside excluded directories', async () => {
    const asked: string[] = [];
    const outcome = await searchEntries({
      top: '/top',
      matches: createGlobMatcher('**/*.ts'),
      excluded: createExcluder(['node_modules']),
      maxResults: 10,
      maxExamined: 100,
      signal,
      readDirectory: fakeReadDirectory({ node_modules: { 'a.ts': '' }, 'b.ts': '' }, asked),
    });
    expect(outcome.matches).toEqual(['/top/b.ts']);
    expect(asked).toEqual(['/top']);
  });
});

describe('buildTree', () => {
  const tree = { docs: { guide: { 'deep.md': '' }, 'a.md': '' }, locked: LOCKED, 'x.txt': '' } as const;
  const build = (maxDepth: number) =>
    buildTree({ top: '/top', maxDepth, maxEntries: 100, excluded: createExcluder([]), signal, readDirectory: fakeReadDirectory(tree) });

  it('marks the directories it did not look inside at maxDepth, and says how to see them', async () => {
    const outcome = await build(2);
    expect(outcome.tree).toEqual([
      {
        name: 'docs',
        type: 'directory',
        children: [
          { name: 'a.md', type: 'file' },
          { name: 'guide', type: 'directory', maxDepthReached: true },
        ],
      },
      { name: 'locked', type: 'directory', unreadable: true },
      { name: 'x.txt', type: 'file' },
    ]);
    expect(outcome.notExpanded).toBe(1);
    expect(treeNotes(outcome, 2, show)).toEqual([
      '(1 directory was not expanded at maxDepth 2 (marked "maxDepthReached"): raise maxDepth (up to 10) or call directory_tree on them to see inside)',
      '(skipped 1 directory that could not be read (permission denied): /shown/locked)',
    ]);
  });

  it('marks nothing when every directory fits within maxDepth', async () => {
    const outcome = await build(3);
    expect(outcome.notExpanded).toBe(0);
    expect(JSON.stringify(outcome.tree)).not.toContain('maxDepthReached');
  });
});

describe('buildTree within its entry budget', () => {
  const files = (prefix: string, count: number): FakeTree =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${String(i).padStart(2, '0')}`, '']));
  const build = (tree: FakeTree, maxEntries: number, asked: string[] = []) =>
    buildTree({ top: '/top', maxDepth: 3, maxEntries, excluded: createExcluder([]), signal, readDirectory: fakeReadDirectory(tree, asked) });

  it('shows every top-level entry before any deeper one, so a large early directory cannot hide the later ones', async () => {
    const asked: string[] = [];
    const outcome = await build({ big: files('f', 20), docs: { 'a.md': '' }, 'z.txt': '' }, 5, asked);
    expect(outcome.tree).toEqual([
      {
        name: 'big',
        type: 'directory',
        children: [
          { name: 'f00', type: 'file' },
          { name: 'f01', type: 'file' },
        ],
        entryLimitReached: true,
      },
      { name: 'docs', type: 'directory', entryLimitReached: true },
      { name: 'z.txt', type: 'file' },
    ]);
    expect(outcome).toMatchObject({ truncated: true, notListed: 2, notExpanded: 0 });
    // Once the budget is spent, the directories still queued are marked, not read.
    expect(asked).toEqual(['/top', '/top/big']);
    expect(treeNotes(outcome, 3, show)).toEqual([
      '(truncated after 1000 entries, the most one tree shows, taken level by level: every depth before the next. ' +
        '2 directories were not listed in full (marked "entryLimitReached"). To see the rest, call directory_tree on a ' +
        'subdirectory or with a lower maxDepth, or leave out large directories with excludePatterns, e.g. ["node_modules", ".git"].)',
    ]);
  });

  it('marks nothing when the top directory alone is cut, and says so without naming directories', async () => {
    const outcome = await build(files('f', 8), 5);
    expect(outcome.tree).toHaveLength(5);
    expect(outcome).toMatchObject({ truncated: true, notListed: 0 });
    expect(JSON.stringify(outcome.tree)).not.toContain('entryLimitReached');
    expect(treeNotes(outcome, 3, show)[0]).toMatch(/^\(truncated after 1000 entries, the most one tree shows, taken level by level: every depth before the next\. To see the rest/);
  });

  it('is not truncated when the entries exactly fill the budget, empty directories included', async () => {
    const outcome = await build({ a: { 'x.md': '' }, empty: {}, 'z.txt': '' }, 4);
    expect(outcome).toMatchObject({ truncated: false, notListed: 0 });
    expect(outcome.tree).toEqual([
      { name: 'a', type: 'directory', children: [{ name: 'x.md', type: 'file' }] },
      { name: 'empty', type: 'directory', children: [] },
      { name: 'z.txt', type: 'file' },
    ]);
  });

  it('does not suggest a deeper tree when the budget, not maxDepth, was what ran out', async () => {
    const outcome = await buildTree({
      top: '/top',
      maxDepth: 1,
      maxEntries: 2,
      excluded: createExcluder([]),
      signal,
      readDirectory: fakeReadDirectory({ a: {}, b: {}, c: {} }),
    });
    expect(outcome).toMatchObject({ truncated: true, notExpanded: 2, notListed: 0 });
    expect(treeNotes(outcome, 1, show)[1]).toBe(
      '(2 directories were not expanded at maxDepth 1 (marked "maxDepthReached"): call directory_tree on them to see inside)',
    );
  });
});
