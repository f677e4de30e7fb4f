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
/**
 * `{…}` groups become alternations, which backtrack as stars do: a segment
 * may hold at most this many stars and groups together, each group of at most
 * `MAX_ALTERNATIVES`, none nested. (Thirteen groups of four `?` took a 20-byte
 * name seconds.)
 */
const MAX_CHOICES_PER_SEGMENT = 2;
const MAX_ALTERNATIVES = 8;
/** The longest pattern taken: longer ones name no file the tools could reach. */
export const MAX_PATTERN_LENGTH = 1024;
/** The most exclude patterns one walk takes. */
export const MAX_EXCLUDE_PATTERNS = 16;

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
  if (pattern.length > MAX_PATTERN_LENGTH) throw refuse(`it is longer than ${MAX_PATTERN_LENGTH} characters.`);
  if (body === '') throw refuse('it names no entries. Use "**" for everything, "**/" for every directory.');
  if (/\{[^}]*\/[^}]*\}/.test(body)) throw refuse('a {…} group may not contain "/"; search for each alternative on its own.');
  const parts = body.split('/');
  if (parts.includes('')) throw refuse('it has an empty segment ("//", or a leading "/"); patterns are relative to the path searched.');
  if (parts.length > MAX_SEGMENTS) throw refuse(`it has more than ${MAX_SEGMENTS} segments.`);
  const segments = parts.map((part): Segment => {
    if (part === '**') return GLOBSTAR;
    const stars = part.match(/\*/g)?.length ?? 0;
    if (stars > MAX_STARS_PER_SEGMENT) {
      throw refuse(`a segment may hold at most ${MAX_STARS_PER_SEGMENT} "*" ("${part}"); use "**" between segments, or a shorter pattern and excludePatterns.`);
    }
    const groups = part.match(/\{[^{}]*\}/g) ?? [];
    if (/\{[^}]*\{/.test(part)) throw refuse(`a {…} group may not hold another ("${part}").`);
    if (stars + groups.length > MAX_CHOICES_PER_SEGMENT) {
      throw refuse(`a segment may hold at most ${MAX_CHOICES_PER_SEGMENT} "*" and {…} groups together ("${part}"); search for each alternative on its own.`);
    }
    if (groups.some((group) => group.split(',').length > MAX_ALTERNATIVES)) {
      throw refuse(`a {…} group may hold at most ${MAX_ALTERNATIVES} alternatives ("${part}").`);
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
  // Each is tried on every entry a walk meets: their number bounds its cost.
  if (patterns.length > MAX_EXCLUDE_PATTERNS) {
    throw new ToolError(`Too many excludePatterns: ${patterns.length}, at most ${MAX_EXCLUDE_PATTERNS}; use "**" and {…} groups to say more in fewer.`);
  }
  const compiled = patterns.map((p, i) => ({
    matches: createGlobMatcher(p, `excludePatterns[${i}]`),
    byName: !p.replace(/\/+$/, '').includes('/'),
  }));
  return (relativePath, name, isDirectory) =>
    compiled.some(({ matches, byName }) => matches(relativePath, isDirectory) || (byName && matches(name, isDirectory)));
}
