import picomatch from 'picomatch';
import { ToolError } from '../tool-source.ts';

/** Whether an entry, by its `/`-separated path relative to where the search starts, matches. */
export type GlobMatcher = (relativePath: string, isDirectory: boolean) => boolean;

/**
 * How one path segment is matched. Dot files match like any other name
 * (`*` matches `.env`), and a leading `!` is an ordinary character: exclude
 * patterns are the way to leave things out. Extglobs (`*(a|b)`) are off: their
 * nested repetition can take a regular expression exponential time.
 */
const SEGMENT_OPTIONS: picomatch.PicomatchOptions = { dot: true, nonegate: true, noextglob: true, noglobstar: true };

/**
 * Stars in one segment, at most. A segment's expression backtracks in time
 * of the order of its length to the power of its stars: with two, a 255-byte
 * name takes well under a millisecond; with five, seconds. Patterns come
 * from tenants, and a search may match a hundred thousand names.
 */
const MAX_STARS_PER_SEGMENT = 2;
const MAX_SEGMENTS = 64;

/** `**` as a whole segment: any number of segments, none included. */
const GLOBSTAR = Symbol('globstar');
type Segment = typeof GLOBSTAR | ((name: string) => boolean);

/** Whether `segments` of a path match `pattern`, `**` standing for any run of segments: linear in each's length times the other's. */
function matchSegments(pattern: readonly Segment[], segments: readonly string[]): boolean {
  let p = 0;
  let s = 0;
  // The last `**` seen, and the segment it was tried at: on a mismatch it takes one segment more.
  let star = -1;
  let starAt = 0;
  while (s < segments.length) {
    const token = pattern[p];
    if (token === GLOBSTAR) {
      star = p++;
      starAt = s;
    } else if (token !== undefined && token(segments[s] as string)) {
      p++;
      s++;
    } else if (star >= 0) {
      p = star + 1;
      s = ++starAt;
    } else {
      return false;
    }
  }
  while (pattern[p] === GLOBSTAR) p++;
  return p === pattern.length;
}

/**
 * A matcher for a glob, segment by segment: `*` and `?` within one path
 * segment, `**` as a segment across any number of segments (none included),
 * braces (`*.{ts,js}`) and character classes (`*.[tj]s`) as picomatch reads
 * them, at most two stars a segment. A segment spelled exactly like the
 * pattern's also matches, so `[id].tsx` finds that file. A pattern ending in
 * a slash matches directories only: `**` and a slash matches every
 * directory; `docs/**` and a slash, `docs` and the directories below it.
 * `field` names the argument in error messages.
 */
export function createGlobMatcher(pattern: string, field = 'pattern'): GlobMatcher {
  const refuse = (why: string) => new ToolError(`Invalid ${field} ${JSON.stringify(pattern)}: ${why}`);
  const directoriesOnly = pattern.endsWith('/');
  const body = pattern.replace(/\/+$/, '');
  if (body === '') throw refuse('it names no entries. Use "**" for everything, "**/" for every directory.');
  if (/\{[^}]*\/[^}]*\}/.test(body)) throw refuse('a {…} group may not contain "/"; search for each alternative on its own.');
  const parts = body.split('/');
  if (parts.includes('')) throw refuse('it has an empty segment ("//", or a leading "/"); patterns are relative to the path searched.');
  if (parts.length > MAX_SEGMENTS) throw refuse(`it has more than ${MAX_SEGMENTS} segments.`);
  const segments = parts.map((part): Segment => {
    if (part === '**') return GLOBSTAR;
    if ((part.match(/\*/g)?.length ?? 0) > MAX_STARS_PER_SEGMENT) {
      throw refuse(`a segment may hold at most ${MAX_STARS_PER_SEGMENT} "*" ("${part}"); use "**" between segments, or a shorter pattern and excludePatterns.`);
    }
    try {
      const test = picomatch(part, SEGMENT_OPTIONS);
      return (name) => name === part || test(name);
    } catch (error) {
      throw new ToolError(`Invalid ${field} ${JSON.stringify(pattern)}: ${(error as Error).message}`, { cause: error });
    }
  });
  return (relativePath, isDirectory) => (isDirectory || !directoriesOnly) && matchSegments(segments, relativePath.split('/'));
}

/**
 * A predicate for exclude patterns: a pattern with a `/` (other than a
 * trailing one) is matched against the relative path, one without also
 * against the entry's name, so `node_modules`, `*.log` or `build/` exclude at
 * any depth.
 */
export function createExcluder(
  patterns: readonly string[],
): (relativePath: string, name: string, isDirectory: boolean) => boolean {
  const compiled = patterns.map((p, i) => ({
    matches: createGlobMatcher(p, `excludePatterns[${i}]`),
    byName: !p.replace(/\/+$/, '').includes('/'),
  }));
  return (relativePath, name, isDirectory) =>
    compiled.some(({ matches, byName }) => matches(relativePath, isDirectory) || (byName && matches(name, isDirectory)));
}
