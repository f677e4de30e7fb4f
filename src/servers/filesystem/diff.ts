/** Beyond this many cells the line-matching table is skipped and the changed middle shown as replaced. */
const MAX_TABLE_CELLS = 4_000_000;

/** What diff(1) and git print after a last line that has no newline. */
const NO_NEWLINE = '\\ No newline at end of file';

type Op = { kind: ' ' | '-' | '+'; line: string };

/**
 * The lines of `text`, each with its `\n`: a last line without one differs
 * from the same text with one, so adding or removing the final newline is a
 * change like any other.
 */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** A line of a hunk: the line without its newline, or followed by the marker when it has none. */
function hunkLine({ kind, line }: Op): string {
  return line.endsWith('\n') ? `${kind}${line.slice(0, -1)}` : `${kind}${line}\n${NO_NEWLINE}`;
}

/** Line operations turning `a` into `b`: longest common subsequence after trimming the common ends. */
function diffLines(a: string[], b: string[]): Op[] {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  ) {
    suffix++;
  }
  const midA = a.slice(prefix, a.length - suffix);
  const midB = b.slice(prefix, b.length - suffix);
  const ops: Op[] = a.slice(0, prefix).map((line) => ({ kind: ' ', line }));
  const n = midA.length;
  const m = midB.length;
  if ((n + 1) * (m + 1) > MAX_TABLE_CELLS) {
    ops.push(...midA.map((line): Op => ({ kind: '-', line })), ...midB.map((line): Op => ({ kind: '+', line })));
  } else {
    // table[i * (m + 1) + j] = LCS length of midA[i..] and midB[j..]
    const table = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        table[i * (m + 1) + j] =
          midA[i] === midB[j]
            ? (table[(i + 1) * (m + 1) + j + 1] as number) + 1
            : Math.max(table[(i + 1) * (m + 1) + j] as number, table[i * (m + 1) + j + 1] as number);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push({ kind: ' ', line: midA[i++] as string });
        j++;
      } else if (
        i < n &&
        (j === m || (table[(i + 1) * (m + 1) + j] as number) >= (table[i * (m + 1) + j + 1] as number))
      ) {
        // Removals before additions, as git shows them.
        ops.push({ kind: '-', line: midA[i++] as string });
      } else {
        ops.push({ kind: '+', line: midB[j++] as string });
      }
    }
  }
  ops.push(...a.slice(a.length - suffix).map((line): Op => ({ kind: ' ', line })));
  return ops;
}

function range(start: number, length: number): string {
  return length === 1 ? `${start}` : `${start},${length}`;
}

/**
 * A unified diff (`---`/`+++` headers, `@@` hunks with `context` lines
 * around each change) of two versions of `label`, as patch(1) applies it; a
 * changed final newline shows as diff(1) shows it. Empty when they are equal.
 */
export function createUnifiedDiff(label: string, before: string, after: string, context = 3): string {
  const ops = diffLines(splitLines(before), splitLines(after));
  const changed = ops.flatMap((op, index) => (op.kind === ' ' ? [] : [index]));
  if (changed.length === 0) return '';
  const out = [`--- ${label}\toriginal`, `+++ ${label}\tmodified`];
  let k = 0;
  // Lines of each version before the current hunk, counted on from the last hunk's start: one pass for all hunks.
  let counted = 0;
  let oldBefore = 0;
  let newBefore = 0;
  while (k < changed.length) {
    let last = changed[k] as number;
    const first = last;
    while (k + 1 < changed.length && (changed[k + 1] as number) - last <= 2 * context + 1)
      last = changed[++k] as number;
    k++;
    const from = Math.max(0, first - context);
    const to = Math.min(ops.length, last + context + 1);
    for (; counted < from; counted++) {
      const { kind } = ops[counted] as Op;
      if (kind !== '+') oldBefore++;
      if (kind !== '-') newBefore++;
    }
    const hunk = ops.slice(from, to);
    const oldLength = hunk.filter((op) => op.kind !== '+').length;
    const newLength = hunk.filter((op) => op.kind !== '-').length;
    const oldRange = range(oldBefore + (oldLength > 0 ? 1 : 0), oldLength);
    const newRange = range(newBefore + (newLength > 0 ? 1 : 0), newLength);
    out.push(`@@ -${oldRange} +${newRange} @@`, ...hunk.map(hunkLine));
  }
  return `${out.join('\n')}\n`;
}
