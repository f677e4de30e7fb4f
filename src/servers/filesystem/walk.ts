import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import type { GlobMatcher } from './glob.ts';
import { toToolError } from './file-io.ts';
import { errorCode } from './sandbox.ts';
import { entryType, entryTypeSchema, sortEntries, type EntryType } from './tools/list-directory.ts';

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

/** How a result names the unreadable directories it skipped, when there are any. */
export const unreadableOutputFields = {
  unreadableDirectories: z.array(z.string()).optional(),
  unreadableCount: z.number().int().optional(),
};

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
 * Lists `top`, then the directories `visit` queues, in the order queued: a
 * directory's subdirectories are queued as its entries are visited, so every
 * directory at one depth is listed before any below it (breadth first) and a
 * budget spent along the way reaches every subtree's shallow entries before
 * any subtree's deep ones. `visit` gets a directory's entries in name order
 * (undefined: unreadable, recorded in `unreadable`) and returns false to
 * stop; the directories still queued then are returned, unlisted.
 */
async function walkLevels<T extends { directory: string }>(
  top: T,
  read: ReadDirectory,
  signal: AbortSignal,
  unreadable: Unreadable,
  visit: (at: T, entries: DirectoryEntry[] | undefined, queue: (next: T) => void) => boolean,
): Promise<T[]> {
  const pending = [top];
  const queue = (next: T) => {
    pending.push(next);
  };
  for (let next = 0; next < pending.length; next++) {
    signal.throwIfAborted();
    const at = pending[next] as T;
    const entries = await listForWalk(read, at.directory, top.directory, unreadable);
    if (!visit(at, entries, queue)) return pending.slice(next + 1);
  }
  return [];
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
  await walkLevels({ directory: top }, readDirectory, signal, unreadable, ({ directory }, entries, queue) => {
    for (const entry of entries ?? []) {
      if (matches.length >= options.maxResults || examined >= options.maxExamined) {
        stoppedBy = matches.length >= options.maxResults ? 'results' : 'entries';
        return false;
      }
      examined++;
      const full = path.join(directory, entry.name);
      const relative = relativeTo(top, full);
      const isDirectory = entry.isDirectory();
      if (options.excluded(relative, entry.name, isDirectory)) continue;
      if (options.matches(relative, isDirectory)) matches.push(full);
      if (isDirectory) queue({ directory: full });
    }
    return true;
  });
  return { matches: matches.sort(byComponents), examined, unreadable, ...(stoppedBy && { stoppedBy }) };
}

/** A `TreeNode` as a result shows it. */
export const treeNodeSchema = z.object({
  name: z.string(),
  type: entryTypeSchema,
  get children() {
    return z.array(treeNodeSchema).optional();
  },
  maxDepthReached: z.literal(true).optional(),
  entryLimitReached: z.literal(true).optional(),
  unreadable: z.literal(true).optional(),
});

export interface TreeNode {
  name: string;
  type: EntryType;
  children?: TreeNode[];
  /** A directory at `maxDepth`, shown without looking inside. */
  maxDepthReached?: true;
  /** A directory whose entries are not all shown because the entry limit was reached: `children` holds those that are, if any. */
  entryLimitReached?: true;
  /** A directory that could not be read (permission denied). */
  unreadable?: true;
}

export interface TreeOptions {
  /** Real path of the directory at the top. */
  top: string;
  /** Levels shown; directories at the last one are marked `maxDepthReached`. */
  maxDepth: number;
  /** Entries shown at most, all levels together, taken level by level. */
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
  /** Directories marked `entryLimitReached`. */
  notListed: number;
  unreadable: Unreadable;
}

/** A directory the tree is to list: below the top, it fills in its own node. */
interface TreeDirectory {
  directory: string;
  depth: number;
  node?: TreeNode;
}

/**
 * The tree below `top` in name order, without following symbolic links.
 * Entries are taken level by level (breadth first), so when `maxEntries`
 * runs out it is the deepest ones that are left out, whichever subtree
 * comes first: a large early directory cannot hide the later ones.
 */
export async function buildTree(options: TreeOptions): Promise<TreeOutcome> {
  const { top, signal, readDirectory = readDirectoryFromDisk } = options;
  const unreadable: Unreadable = { paths: [], count: 0 };
  const tree: TreeNode[] = [];
  let count = 0;
  let notExpanded = 0;
  let notListed = 0;
  let truncated = false;
  const markNotListed = (node: TreeNode) => {
    if (node.children?.length === 0) delete node.children;
    node.entryLimitReached = true;
    notListed++;
  };

  const unlisted = await walkLevels<TreeDirectory>({ directory: top, depth: 1 }, readDirectory, signal, unreadable, (at, entries, queue) => {
    if (!entries) {
      if (at.node) at.node.unreadable = true;
      return true;
    }
    const nodes = at.node ? (at.node.children = []) : tree;
    for (const entry of entries) {
      const full = path.join(at.directory, entry.name);
      if (options.excluded(relativeTo(top, full), entry.name, entry.isDirectory())) continue;
      if (count >= options.maxEntries) {
        truncated = true;
        if (at.node) markNotListed(at.node);
        return false;
      }
      count++;
      const node: TreeNode = { name: entry.name, type: entryType(entry) };
      nodes.push(node);
      if (node.type !== 'directory') continue;
      if (at.depth >= options.maxDepth) {
        node.maxDepthReached = true;
        notExpanded++;
      } else {
        queue({ directory: full, depth: at.depth + 1, node });
      }
    }
    return true;
  });
  for (const { node } of unlisted) if (node) markNotListed(node);
  return { tree, truncated, notExpanded, notListed, unreadable };
}

/** What a result says about skipped directories, `show`n as the tools show paths; empty when there were none. */
export function unreadableNote(unreadable: Unreadable, show: (realPath: string) => string): string {
  if (unreadable.count === 0) return '';
  const listed = unreadable.paths.map(show).join(', ');
  const more = unreadable.count > unreadable.paths.length ? ` and ${unreadable.count - unreadable.paths.length} more` : '';
  const directories = unreadable.count === 1 ? '1 directory' : `${unreadable.count} directories`;
  return `(skipped ${directories} that could not be read (permission denied): ${listed}${more})`;
}
