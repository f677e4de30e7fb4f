import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { GlobMatcher } from './glob.ts';
import { toToolError } from './file-io.ts';
import { errorCode } from './sandbox.ts';
import { entryType, sortEntries, type EntryType } from './tools/list-directory.ts';

/** What a walk needs of a directory entry. */
export type DirectoryEntry = Pick<Dirent, 'name' | 'isDirectory' | 'isFile' | 'isSymbolicLink'>;

/** Lists a directory: `readdir` with file types, unless a caller brings its own. */
export type ReadDirectory = (directory: string) => Promise<DirectoryEntry[]>;

const readDirectoryFromDisk: ReadDirectory = (directory) => readdir(directory, { withFileTypes: true });

/** Unreadable directories named in a result; the rest are only counted. */
const MAX_UNREADABLE_LISTED = 20;

/** Directories below the top that could not be read (permission denied) and were skipped. */
export interface Unreadable {
  /** Real paths, the first `MAX_UNREADABLE_LISTED` met. */
  paths: string[];
  count: number;
}

/**
 * Lists `directory` for a walk from `top`: the top must be readable (its
 * failure is the tool's); a directory below it that is not is recorded in
 * `unreadable` (undefined: skip it), and one that vanished meanwhile is empty.
 */
async function listForWalk(
  read: ReadDirectory,
  directory: string,
  top: string,
  unreadable: Unreadable,
): Promise<DirectoryEntry[] | undefined> {
  try {
    return sortEntries(await read(directory));
  } catch (error) {
    if (directory === top) throw toToolError(error, directory);
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    if (code !== 'EACCES' && code !== 'EPERM') throw toToolError(error, directory);
    if (unreadable.paths.length < MAX_UNREADABLE_LISTED) unreadable.paths.push(directory);
    unreadable.count++;
    return undefined;
  }
}

const relativeTo = (top: string, full: string) => path.relative(top, full).split(path.sep).join('/');

export interface SearchOptions {
  /** Real path of the directory searched. */
  top: string;
  matches: GlobMatcher;
  excluded: (relativePath: string, name: string, isDirectory: boolean) => boolean;
  maxResults: number;
  /** Entries examined at most, so a huge tree cannot keep a call busy indefinitely. */
  maxExamined: number;
  signal: AbortSignal;
  readDirectory?: ReadDirectory;
}

export interface SearchOutcome {
  /** Real paths of the matching entries, in path order. */
  matches: string[];
  examined: number;
  /** Why the search ended early: `maxResults` matches were found, or `maxExamined` entries examined. */
  stoppedBy?: 'results' | 'entries';
  unreadable: Unreadable;
}

/** Path order, component by component: `a/x` before `a-b`, as a depth-first walk in name order meets them. */
function byComponents(a: string, b: string): number {
  // NUL sorts before every character a name can hold, so a shorter component comes first.
  const [x, y] = [a.replaceAll(path.sep, '\0'), b.replaceAll(path.sep, '\0')];
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Entries below `top` whose relative path matches, level by level (breadth
 * first) so that the entry budget reaches every subtree's shallow entries
 * before any subtree's deep ones. Symbolic links are not followed.
 */
export async function searchEntries(options: SearchOptions): Promise<SearchOutcome> {
  const { top, signal, readDirectory = readDirectoryFromDisk } = options;
  const matches: string[] = [];
  const unreadable: Unreadable = { paths: [], count: 0 };
  let examined = 0;
  let stoppedBy: SearchOutcome['stoppedBy'];
  const pending = [top];
  search: for (let next = 0; next < pending.length; next++) {
    signal.throwIfAborted();
    const directory = pending[next] as string;
    const entries = await listForWalk(readDirectory, directory, top, unreadable);
    for (const entry of entries ?? []) {
      if (matches.length >= options.maxResults || examined >= options.maxExamined) {
        stoppedBy = matches.length >= options.maxResults ? 'results' : 'entries';
        break search;
      }
      examined++;
      const full = path.join(directory, entry.name);
      const relative = relativeTo(top, full);
      const isDirectory = entry.isDirectory();
      if (options.excluded(relative, entry.name, isDirectory)) continue;
      if (options.matches(relative, isDirectory)) matches.push(full);
      if (isDirectory) pending.push(full);
    }
  }
  return { matches: matches.sort(byComponents), examined, unreadable, ...(stoppedBy && { stoppedBy }) };
}

export interface TreeNode {
  name: string;
  type: EntryType;
  children?: TreeNode[];
  /** A directory at `maxDepth`, shown without looking inside. */
  maxDepthReached?: true;
  /** A directory that could not be read (permission denied). */
  unreadable?: true;
}

export interface TreeOptions {
  /** Real path of the directory at the top. */
  top: string;
  /** Levels shown; directories at the last one are marked `maxDepthReached`. */
  maxDepth: number;
  maxEntries: number;
  excluded: (relativePath: string, name: string, isDirectory: boolean) => boolean;
  signal: AbortSignal;
  readDirectory?: ReadDirectory;
}

export interface TreeOutcome {
  tree: TreeNode[];
  /** Whether entries were left out after `maxEntries`. */
  truncated: boolean;
  /** Directories marked `maxDepthReached`. */
  notExpanded: number;
  unreadable: Unreadable;
}

/** The tree below `top`, depth first in name order, without following symbolic links. */
export async function buildTree(options: TreeOptions): Promise<TreeOutcome> {
  const { top, signal, readDirectory = readDirectoryFromDisk } = options;
  const unreadable: Unreadable = { paths: [], count: 0 };
  let count = 0;
  let notExpanded = 0;
  let truncated = false;

  async function build(directory: string, depth: number): Promise<TreeNode[] | undefined> {
    signal.throwIfAborted();
    const entries = await listForWalk(readDirectory, directory, top, unreadable);
    if (!entries) return undefined;
    const nodes: TreeNode[] = [];
    for (const entry of entries) {
      const full = path.join(directory, entry.name);
      if (options.excluded(relativeTo(top, full), entry.name, entry.isDirectory())) continue;
      if (count >= options.maxEntries) {
        truncated = true;
        break;
      }
      count++;
      const node: TreeNode = { name: entry.name, type: entryType(entry) };
      nodes.push(node);
      if (node.type !== 'directory') continue;
      if (depth >= options.maxDepth) {
        node.maxDepthReached = true;
        notExpanded++;
        continue;
      }
      const children = await build(full, depth + 1);
      if (children) node.children = children;
      else node.unreadable = true;
    }
    return nodes;
  }

  const tree = (await build(top, 1)) ?? [];
  return { tree, truncated, notExpanded, unreadable };
}

/** What a result says about skipped directories, `show`n as the tools show paths; empty when there were none. */
export function unreadableNote(unreadable: Unreadable, show: (realPath: string) => string): string {
  if (unreadable.count === 0) return '';
  const listed = unreadable.paths.map(show).join(', ');
  const more = unreadable.count > unreadable.paths.length ? ` and ${unreadable.count - unreadable.paths.length} more` : '';
  const directories = unreadable.count === 1 ? '1 directory' : `${unreadable.count} directories`;
  return `(skipped ${directories} that could not be read (permission denied): ${listed}${more})`;
}
