/**
 * The whitespace-tolerant fallback of `edit_file`, as in the reference
 * filesystem server: when an edit's oldText is nowhere in the file, its lines
 * are looked for with each line's leading and trailing whitespace ignored, and
 * newText is indented to where they were found.
 */

/** What the fallback found for one edit: nothing, more than one place (the first two lines, 1-based), or one. */
export type LineMatch =
  | { found: 'none' }
  | { found: 'many'; lines: [number, number] }
  | { found: 'one'; at: number; oldText: string; newText: string };

const toLf = (text: string): string => text.replace(/\r\n/g, '\n');
const indentOf = (line: string): string => /^\s*/.exec(line)?.[0] ?? '';
const isBlank = (line: string): boolean => line.trim() === '';

/** Where each `pattern` run starts in `lines`, by Knuth–Morris–Pratt, so a file of many alike lines costs no more than others. */
function findRuns(lines: readonly string[], pattern: readonly string[], accept: (start: number) => boolean, limit: number): number[] {
  const fallback = new Array<number>(pattern.length).fill(0);
  for (let i = 1, k = 0; i < pattern.length; i++) {
    while (k > 0 && pattern[i] !== pattern[k]) k = fallback[k - 1] as number;
    if (pattern[i] === pattern[k]) k++;
    fallback[i] = k;
  }
  const starts: number[] = [];
  for (let i = 0, k = 0; i < lines.length && starts.length < limit; i++) {
    while (k > 0 && lines[i] !== pattern[k]) k = fallback[k - 1] as number;
    if (lines[i] === pattern[k]) k++;
    if (k === pattern.length) {
      const start = i - k + 1;
      if (accept(start)) starts.push(start);
      k = fallback[k - 1] as number;
    }
  }
  return starts;
}

/**
 * The longest of `prefixes` that a text starts with (undefined for none), found by a walk down a
 * trie of them: linear in the text's length, where trying each prefix in turn costs the number of
 * prefixes (oldText's indentation levels, up to thousands) for every line of newText.
 */
function longestPrefixFinder(prefixes: readonly string[]): (text: string) => string | undefined {
  type Node = { next: Map<string, Node>; prefix?: string };
  const root: Node = { next: new Map() };
  for (const prefix of prefixes) {
    let node = root;
    for (const char of prefix) {
      let child = node.next.get(char);
      if (!child) node.next.set(char, (child = { next: new Map() }));
      node = child;
    }
    node.prefix = prefix;
  }
  return (text) => {
    let node: Node | undefined = root;
    let found = root.prefix;
    for (const char of text) {
      node = node.next.get(char);
      if (!node) break;
      if (node.prefix !== undefined) found = node.prefix;
    }
    return found;
  };
}

/**
 * `newLines` indented to where `oldLines` were found as `fileLines`. The first
 * line takes the indentation of the first matched line, as in the reference
 * server. Each later line starting with the indentation of a matched oldText
 * line (the longest such) has it replaced by that file line's. The first
 * line's pair counts only when the later lines sit under it in oldText as they
 * do in the file: a model copying from mid-line often leaves the first line's
 * indentation out and keeps the others'. Other lines, and blank ones, are kept
 * as sent.
 */
export function reindentLines(newLines: readonly string[], oldLines: readonly string[], fileLines: readonly string[]): string[] {
  const pairs = oldLines.flatMap((line, k) => (isBlank(line) ? [] : [{ old: indentOf(line), file: indentOf(fileLines[k] ?? '') }]));
  const [head, ...rest] = pairs;
  const levels = new Map<string, string>();
  for (const { old, file } of rest) if (!levels.has(old)) levels.set(old, file);
  const headFits =
    head !== undefined &&
    rest.every(({ old, file }) => old.startsWith(head.old) && file.startsWith(head.file) && old.slice(head.old.length) === file.slice(head.file.length));
  if (head && headFits && !levels.has(head.old)) levels.set(head.old, head.file);
  const longestLevel = longestPrefixFinder([...levels.keys()]);
  let first = true;
  return newLines.map((line) => {
    if (isBlank(line)) return line;
    if (first) {
      first = false;
      return (head?.file ?? '') + line.trimStart();
    }
    const level = longestLevel(line);
    return level === undefined ? line : `${levels.get(level) as string}${line.slice(level.length)}`;
  });
}

/**
 * Looks for `edit.oldText` in `content` line by line, each line compared with
 * its leading and trailing whitespace trimmed, line endings (CRLF or LF) aside.
 * A final line break in oldText is the last line's own (that line must end
 * there), not an empty line after it. The result replaces the matched text,
 * line endings included, by newText indented as `reindentLines` does, its
 * lines ended as the matched first line is; the file's other lines keep
 * theirs. An oldText of nothing but whitespace matches nothing.
 */
export function matchLinesIgnoringWhitespace(content: string, edit: { oldText: string; newText: string }): LineMatch {
  let oldText = toLf(edit.oldText);
  let newText = toLf(edit.newText);
  if (isBlank(oldText)) return { found: 'none' };
  const wholeLines = oldText.endsWith('\n');
  const keepBreak = wholeLines && newText.endsWith('\n');
  if (wholeLines) oldText = oldText.slice(0, -1);
  if (keepBreak) newText = newText.slice(0, -1);

  const starts = [0];
  for (let i = content.indexOf('\n'); i !== -1; i = content.indexOf('\n', i + 1)) starts.push(i + 1);
  /** Where line `k`'s text ends, before its line break. */
  const textEnd = (k: number): number => {
    const next = starts[k + 1];
    if (next === undefined) return content.length;
    return content[next - 2] === '\r' ? next - 2 : next - 1;
  };
  const lineAt = (k: number): string => content.slice(starts[k], textEnd(k));
  const trimmed = starts.map((_, k) => lineAt(k).trim());

  const oldLines = oldText.split('\n');
  const count = oldLines.length;
  // With a final line break, the last matched line must have one.
  const runs = findRuns(trimmed, oldLines.map((line) => line.trim()), (start) => !wholeLines || start + count < starts.length, 2);
  const [start, second] = runs;
  if (start === undefined) return { found: 'none' };
  if (second !== undefined) return { found: 'many', lines: [start + 1, second + 1] };

  const last = start + count - 1;
  const from = starts[start] as number;
  const to = wholeLines ? (starts[last + 1] as number) : textEnd(last);
  // The first matched line's ending, or (on a last line without one) the line break before it; LF in a one-line file.
  const broken = starts[start + 1] !== undefined ? start : start - 1;
  const lineBreak = broken >= 0 && content[textEnd(broken)] === '\r' ? '\r\n' : '\n';
  const fileLines = Array.from({ length: count }, (_, k) => lineAt(start + k));
  const lines = reindentLines(newText.split('\n'), oldLines, fileLines);
  return { found: 'one', at: from, oldText: content.slice(from, to), newText: lines.join(lineBreak) + (keepBreak ? lineBreak : '') };
}
