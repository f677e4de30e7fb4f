import { lstat, mkdir, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from '../tool-source.ts';

/** Longest path we accept, in characters (Linux PATH_MAX). */
export const MAX_PATH_LENGTH = 4096;
/** Longest absolute path the system takes, in UTF-8 bytes: PATH_MAX counts the terminating NUL. */
export const MAX_RESOLVED_BYTES = MAX_PATH_LENGTH - 1;
/** Longest single path component, in UTF-8 bytes (Linux NAME_MAX). */
export const MAX_COMPONENT_BYTES = 255;
/** Symbolic links followed for one path before giving up (Linux MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

export interface ResolveOptions {
  /** Refuse a path that does not exist yet. */
  mustExist: boolean;
  /** The tool will replace, move or create the entry: refuse an allowed directory itself. */
  forWrite?: boolean;
  /**
   * Whether a symbolic link in the last position is followed (default). Pass
   * false for operations on the directory entry itself, like rename, which
   * must not act on what a link points to: only the parent is resolved.
   */
  followLastLink?: boolean;
}

/** Confines every path a tool touches to a fixed set of directories. */
export interface Sandbox {
  /** The allowed directories, as real paths (symbolic links resolved). */
  readonly roots: readonly string[];
  /** The allowed directories as the tools show them (`show` of each root). */
  readonly shownRoots: readonly string[];
  /**
   * The real absolute path of `input` inside a root, with every symbolic link
   * resolved; relative paths resolve against the first root. Throws a
   * `ToolError` saying why when the path is malformed or leads outside.
   */
  resolve(input: string, options: ResolveOptions): Promise<string>;
  /** Whether a real absolute path lies inside a root. */
  contains(realPath: string): boolean;
  /** Whether an absolute path, every symbolic link on it followed, leads outside the roots (existing or not). */
  leadsOutside(absolutePath: string): Promise<boolean>;
  /** A real path inside a root as the tools show it: under the root's shown path. */
  show(realPath: string): string;
  /**
   * `text` with every real path in it shown as `show` shows it: for error
   * messages, which name real paths and are shown once, by the source.
   */
  showIn(text: string): string;
}

/** Whether `child` is `parent` or below it, comparing whole path components (`/x/a` does not contain `/x/a-evil`). */
export function isWithin(child: string, parent: string): boolean {
  if (child === parent) return true;
  const prefix = parent.endsWith(path.sep) ? parent : parent + path.sep;
  return child.startsWith(prefix);
}

/** How paths are given, for messages refusing one given otherwise. */
const HOW_PATHS_WORK =
  'Paths are relative to the first allowed directory, or absolute within the allowed directories ' +
  '(see list_allowed_directories).';

/** `input` for a message: quoted, and cut short when long. */
function quote(input: string): string {
  return JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input);
}

/** Why `input` is not a usable path, before it is resolved; `undefined` when it is well-formed. */
export function checkPathSyntax(input: string): string | undefined {
  if (input.length === 0) return 'Invalid path: it is empty; use "." for the first allowed directory.';
  if (input.includes('\0')) return 'Invalid path: it contains a NUL byte.';
  if (input.length > MAX_PATH_LENGTH) return `Invalid path: it is longer than ${MAX_PATH_LENGTH} characters.`;
  // Taken literally, "~/x" would create a directory named "~"; no shell here expands it to a home directory.
  if (input.startsWith('~')) {
    return (
      `Invalid path: ${quote(input)} starts with "~", which does not mean a home directory here. ${HOW_PATHS_WORK} ` +
      'For a name that really starts with "~", write "./~…".'
    );
  }
  if (/^[A-Za-z]:(?:[\\/]|$)/.test(input)) {
    return `Invalid path: ${quote(input)} is a Windows drive path; this server's paths are POSIX paths. ${HOW_PATHS_WORK}`;
  }
  const long = input.split(/[\\/]/).find((c) => Buffer.byteLength(c, 'utf8') > MAX_COMPONENT_BYTES);
  if (long !== undefined) {
    return `Invalid path: the name "${long.slice(0, 32)}…" is longer than ${MAX_COMPONENT_BYTES} bytes.`;
  }
  return undefined;
}

interface Resolved {
  real: string;
  exists: boolean;
}

/** The `code` of a Node system error (`ENOENT`, `EACCES`, ...); undefined for anything else. */
export function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Why a path that `leads` to the too long `full` is refused: their lengths and the limit, not the path itself. */
function tooLong(leads: string, full: string): string {
  return (
    `Path too long: ${leads} a path of ${Buffer.byteLength(full, 'utf8')} bytes inside the allowed directories, ` +
    `over the system limit of ${MAX_RESOLVED_BYTES} bytes (PATH_MAX). Use shorter names or fewer levels.`
  );
}

/**
 * Creates the allowed directories (`mkdir -p`; only those `makes` admits)
 * and returns a sandbox over their real paths: a root that is missing and
 * not made is an error naming it. `roots` must be absolute; the first one is
 * where relative paths resolve.
 *
 * `shownAs` gives, root by root, the absolute path the tools show for it
 * instead of where it is on the host (the tenant's area is shown as `/`);
 * an absolute path under a shown root is taken as the same path under the
 * root. Without it, roots are shown as they are.
 */
export async function createSandbox(
  roots: readonly string[],
  shownAs: readonly string[] = roots,
  makes: (root: string) => boolean = () => true,
): Promise<Sandbox> {
  if (roots.length === 0) throw new Error('filesystem sandbox needs at least one root');
  if (shownAs.length !== roots.length) throw new Error('filesystem sandbox needs one shown path per root');
  const given: string[] = [];
  const real: string[] = [];
  for (const root of roots) {
    if (!path.isAbsolute(root)) throw new Error(`filesystem root must be an absolute path: ${root}`);
    if (makes(root)) await mkdir(root, { recursive: true });
    given.push(path.resolve(root));
    real.push(
      await realpath(root).catch((error: unknown) => {
        const shown = shownAs[given.length - 1] ?? root;
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`root ${shown} does not exist, and a read-only server does not create it`);
        throw error;
      }),
    );
  }
  const first = real[0] as string;
  const lexicalRoots = [...new Set([...given, ...real])];

  const contains = (p: string): boolean => real.some((root) => isWithin(p, root));
  const shown = shownAs.map((root) => path.resolve(root));

  /** Roots, the longest first (a root may lie inside another), with how each is shown. */
  const byLength = real.map((root, i) => ({ root, shown: shown[i] as string })).sort((a, b) => b.root.length - a.root.length);
  function show(p: string): string {
    const match = byLength.find(({ root }) => isWithin(p, root));
    return match ? path.join(match.shown, path.relative(match.root, p)) : p;
  }
  // A path in a message: a root, then up to the next blank, quote, bracket, comma or semicolon.
  const pathPattern = new RegExp(`(?:${byLength.map(({ root }) => escapeRegExp(root)).join('|')})[^\\s"'(),;]*`, 'g');
  function showPath(token: string): string {
    // "…/files." ends a sentence: the full stop is not part of the path.
    const [p, tail] = token.endsWith('.') && !token.endsWith('..') ? [token.slice(0, -1), '.'] : [token, ''];
    return show(p) + tail;
  }
  const showIn = (text: string) => text.replace(pathPattern, showPath);
  const rootList = shown.join(', ');

  /** Shown roots, the longest first: a path under `/shared/x` and under `/` belongs to the former. */
  const byShownLength = real.map((root, i) => ({ root, shown: shown[i] as string })).sort((a, b) => b.shown.length - a.shown.length);
  /** An absolute path under a shown root, as the same path under the root; other input unchanged. */
  function unshow(lexical: string): string {
    const match = byShownLength.find(({ shown: root }) => isWithin(lexical, root));
    return match ? path.join(match.root, path.relative(match.shown, lexical)) : lexical;
  }

  /**
   * Like realpath, but also for paths that do not exist yet: the real path of
   * the nearest existing ancestor with the missing names appended. A dangling
   * symbolic link is followed to where it points, so writing through it cannot
   * create a file outside. Nothing outside the roots is examined beyond what
   * realpath itself does, so the answer never depends on what exists there.
   */
  async function resolveReal(p: string, hops: number): Promise<Resolved> {
    try {
      return { real: await realpath(p), exists: true };
    } catch {
      // Missing, not a directory, unreadable or looping: walk up one level.
    }
    const parent = path.dirname(p);
    if (parent === p) return { real: p, exists: true };
    const up = await resolveReal(parent, hops);
    const candidate = path.join(up.real, path.basename(p));
    if (!up.exists || !contains(up.real)) return { real: candidate, exists: false };
    let stats;
    try {
      stats = await lstat(candidate);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return { real: candidate, exists: false };
      if (code === 'EACCES' || code === 'EPERM') throw new ToolError(`Permission denied: ${candidate}`);
      // Through a symbolic link, a path within the limit can lead to one over it.
      if (code === 'ENAMETOOLONG') throw new ToolError(tooLong('it leads through symbolic links to', candidate));
      if (code === 'ELOOP') throw new ToolError(`Too many levels of symbolic links at ${candidate}.`);
      throw error;
    }
    if (!stats.isSymbolicLink()) return { real: candidate, exists: true };
    if (hops >= MAX_LINK_HOPS) throw new ToolError(`Too many levels of symbolic links at ${candidate}.`);
    return resolveReal(path.resolve(up.real, await readlink(candidate)), hops + 1);
  }

  /** The entry named by `p` in its real parent directory, without following the entry if it is a link. */
  async function resolveEntry(p: string): Promise<Resolved> {
    const up = await resolveReal(path.dirname(p), 0);
    const entry = path.join(up.real, path.basename(p));
    if (!up.exists || !contains(entry)) return { real: entry, exists: false };
    const exists = await lstat(entry).then(
      () => true,
      () => false,
    );
    return { real: entry, exists };
  }

  return {
    roots: real,
    shownRoots: shown,
    contains,
    show,
    showIn,
    leadsOutside: async (p) => !contains((await resolveReal(path.resolve(p), 0)).real),

    async resolve(input, { mustExist, forWrite = false, followLastLink = true }) {
      const syntaxError = checkPathSyntax(input);
      if (syntaxError) throw new ToolError(syntaxError);
      const lexical = path.isAbsolute(input) ? unshow(path.resolve(input)) : path.resolve(first, input);
      // Refuse before touching the disk, so the answer says nothing about what exists outside.
      if (!lexicalRoots.some((root) => isWithin(lexical, root))) {
        throw new ToolError(
          `Access denied: ${JSON.stringify(input)} is outside the allowed directories (${rootList}).`,
        );
      }
      // Refused here, not by the first system call that fails on it (ENAMETOOLONG).
      if (Buffer.byteLength(lexical, 'utf8') > MAX_RESOLVED_BYTES) {
        throw new ToolError(tooLong(`${quote(input)} (${input.length} characters) resolves to`, lexical));
      }
      const resolved = followLastLink ? await resolveReal(lexical, 0) : await resolveEntry(lexical);
      if (!contains(resolved.real)) {
        throw new ToolError(
          `Access denied: ${JSON.stringify(input)} leads through a symbolic link to a location outside ` +
            `the allowed directories (${rootList}).`,
        );
      }
      if (forWrite && real.includes(resolved.real)) {
        throw new ToolError(
          `Refused: ${resolved.real} is an allowed directory itself and cannot be replaced or moved.`,
        );
      }
      if (mustExist && !resolved.exists) throw new ToolError(`No such file or directory: ${resolved.real}`);
      return resolved.real;
    },
  };
}
