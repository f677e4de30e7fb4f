/**
 * A small glob matcher: `*` (any characters within one path segment), `**`
 * as a whole segment (any number of segments, including none) and `?` (one
 * character other than `/`). Everything else matches literally; dot files are
 * matched like any other. Paths are `/`-separated and relative.
 *
 * Written here because no glob library is a direct dependency; picomatch is
 * only present transitively.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*') {
      const double = pattern[i + 1] === '*';
      const wholeSegment = (i === 0 || pattern[i - 1] === '/') && (i + 2 === pattern.length || pattern[i + 2] === '/');
      if (double && wholeSegment) {
        if (i + 2 === pattern.length) {
          source += '.*';
          i += 1;
        } else {
          source += '(?:.*/)?';
          i += 2;
        }
        continue;
      }
      // `**` inside a segment (`a**b`) means the same as `*`.
      source += '[^/]*';
      if (double) i += 1;
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/**
 * A predicate for exclude patterns: a pattern with a `/` is matched against
 * the relative path, one without also against the entry's name, so
 * `node_modules` or `*.log` excludes at any depth.
 */
export function createExcluder(patterns: readonly string[]): (relativePath: string, name: string) => boolean {
  const compiled = patterns.map((p) => ({ regex: globToRegExp(p), byName: !p.includes('/') }));
  return (relativePath, name) =>
    compiled.some(({ regex, byName }) => regex.test(relativePath) || (byName && regex.test(name)));
}
