import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { createUnifiedDiff } from '../diff.ts';
import { fileGrowth, underQuota } from '../area-quota.ts';
import { formatSize, withFsErrors, writeFileAtomic, type FilesystemContext } from '../file-io.ts';
import { matchLinesIgnoringWhitespace } from '../line-match.ts';
import { textOutputSchema } from '../output.ts';
import { inspectFile, readText } from '../read-content.ts';

/**
 * Largest file edit_file edits: larger than what one read returns, since an
 * edit sends only the changed text; bounded because the file is held in
 * memory (with its new version and their diff) while it is edited.
 */
const MAX_EDIT_BYTES = 10 * 1024 * 1024;
/** Edits one call may make: each looks through the whole file, and thousands fit in one request body. */
const MAX_EDITS = 100;
/**
 * How much text one call may match line by line with whitespace ignored, in
 * characters: each such edit splits and trims the whole file again, and a
 * hundred of them over a 10 MiB file held the gateway for minutes.
 */
const LINE_SCAN_CHARS = 16 * 1024 * 1024;

/** What is left of `LINE_SCAN_CHARS` in one call. */
interface LineScanBudget {
  left: number;
}

const inputSchema = z.object({
  path: z.string().describe('File to edit: absolute, or relative to the first allowed directory.'),
  edits: z
    .array(
      z.object({
        oldText: z
          .string()
          .min(1)
          .describe(
            'Text to replace; must occur exactly once in the file. Matched character for character, else line by ' +
              'line with leading and trailing whitespace ignored.',
          ),
        newText: z.string().describe('Replacement text.'),
      }),
    )
    .min(1)
    .max(MAX_EDITS)
    .describe(`Replacements, applied in order; each one sees the result of the previous ones. At most ${MAX_EDITS}.`),
  dryRun: z.boolean().default(false).describe('Only show the diff; leave the file unchanged.'),
});

const outputSchema = textOutputSchema.extend({
  path: z.string(),
  diff: z.string().optional().describe('Unified diff of the change; absent when it is over the read limit (then diffOmitted is true).'),
  diffOmitted: z.literal(true).optional(),
  dryRun: z.boolean(),
});

function preview(text: string): string {
  const oneLine = JSON.stringify(text);
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}…"` : oneLine;
}

/** Occurrences of `needle` in `haystack`, overlapping ones included, counting no further than 2. */
function countUpToTwo(haystack: string, needle: string): number {
  const first = haystack.indexOf(needle);
  if (first === -1) return 0;
  return haystack.indexOf(needle, first + 1) === -1 ? 1 : 2;
}

const toCrlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');
const toLf = (text: string): string => text.replace(/\r\n/g, '\n');

/** The line-ending conversion for the line `index` lies in (or the last line's, at the end); undefined in a one-line text. */
function lineEndingAt(content: string, index: number): ((text: string) => string) | undefined {
  const after = content.indexOf('\n', index);
  const newline = after === -1 ? content.lastIndexOf('\n', index) : after;
  if (newline === -1) return undefined;
  return content[newline - 1] === '\r' ? toCrlf : toLf;
}

/** Where `oldText` is replaced, and by what. */
interface Match {
  at: number;
  oldText: string;
  newText: string;
}

/**
 * The one place `edit` applies in `content`: its oldText as sent, else (only
 * when that is nowhere) with its line endings turned into the file's,
 * CRLF or LF, and its newText turned the same way. Models write "\n" for a
 * CRLF file, or copy "\r\n" into an LF one; a mixed file has both. An
 * oldText without line breaks says nothing about them: newText's then
 * follow the line it replaces text in. When neither form is anywhere, its
 * lines are looked for with their leading and trailing whitespace ignored
 * (`matchLinesIgnoringWhitespace`), as the reference server does. Unlike
 * the reference, which takes the first of several places, an edit that
 * could mean more than one is refused in every form.
 */
function findEdit(content: string, edit: { oldText: string; newText: string }, which: string, lineScan: LineScanBudget): Match {
  const exact = countUpToTwo(content, edit.oldText);
  const forms =
    exact > 0
      ? [{ ...edit, found: exact }]
      : [toCrlf, toLf]
          .map((adapt) => ({ oldText: adapt(edit.oldText), newText: adapt(edit.newText) }))
          .filter((form) => form.oldText !== edit.oldText)
          .map((form) => ({ ...form, found: countUpToTwo(content, form.oldText) }))
          .filter((form) => form.found > 0);
  // Two forms found (a mixed oldText, as CRLF in one place and LF in another) are as ambiguous as one found twice.
  const [form, other] = forms;
  if (!form) {
    lineScan.left -= content.length;
    if (lineScan.left < 0) {
      throw new ToolError(
        `${which}: oldText ${preview(edit.oldText)} is nowhere as sent, and this call has already matched ${formatSize(LINE_SCAN_CHARS)} ` +
          'of text line by line with whitespace ignored, as much as one call may. Nothing was changed; copy oldText exactly ' +
          'as it is in the file, or make these edits over several calls.',
      );
    }
    return findLines(content, edit, which);
  }
  if (form.found > 1 || other) {
    throw new ToolError(
      `${which}: oldText ${preview(edit.oldText)} occurs more than once. Nothing was changed; ` +
        'include more surrounding text so it is unique.',
    );
  }
  const at = content.indexOf(form.oldText);
  const adapt = form.oldText.includes('\n') ? undefined : lineEndingAt(content, at);
  return { at, oldText: form.oldText, newText: adapt ? adapt(form.newText) : form.newText };
}

/** The one place `edit`'s lines are, whitespace aside, for an oldText that is nowhere as sent. */
function findLines(content: string, edit: { oldText: string; newText: string }, which: string): Match {
  const match = matchLinesIgnoringWhitespace(content, edit);
  if (match.found === 'one') return match;
  if (match.found === 'many') {
    const [first, second] = match.lines;
    throw new ToolError(
      `${which}: oldText ${preview(edit.oldText)} is nowhere as sent, and with leading and trailing whitespace ` +
        `ignored its lines occur more than once (from line ${first} and from line ${second}). Nothing was changed; ` +
        'include more surrounding lines so it is unique.',
    );
  }
  throw new ToolError(
    `${which}: oldText ${preview(edit.oldText)} was not found, not even line by line with leading and trailing ` +
      'whitespace ignored. Nothing was changed; read the file and copy the text exactly.',
  );
}

/**
 * Applies replacements in order, each found as `findEdit` finds it; all of
 * them or none. The file's line endings are kept as they are.
 */
export function applyEdits(content: string, edits: readonly { oldText: string; newText: string }[]): string {
  let result = content;
  const lineScan: LineScanBudget = { left: LINE_SCAN_CHARS };
  edits.forEach((edit, index) => {
    const { at, oldText, newText } = findEdit(result, edit, `Edit ${index + 1} of ${edits.length}`, lineScan);
    result = result.slice(0, at) + newText + result.slice(at + oldText.length);
  });
  return result;
}

/** The diff in a Markdown code fence longer than any run of backticks in it. */
function fenced(diff: string): string {
  const fence = '`'.repeat(Math.max(3, ...[...diff.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  return `${fence}diff\n${diff}${fence}`;
}

/** What the answer says of the change: the diff, or why it is not shown. */
function describeChange(before: string, after: string, diff: string, maxBytes: number): string {
  if (after === before) return 'The edits leave the file unchanged.';
  const bytes = Buffer.byteLength(diff, 'utf8');
  if (bytes <= maxBytes) return fenced(diff);
  return (
    `The diff is ${formatSize(bytes)}, over the ${formatSize(maxBytes)} limit for one answer, so it is not ` +
    'shown; read the changed lines with read_file.'
  );
}

/** `edit_file`: unique text replacements with a diff of the result; `dryRun` only previews. */
export function registerEditFileTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'edit_file',
      title: 'Edit File',
      description:
        "Edit a text file by replacing text. Each edit's oldText must occur exactly once in the file: as sent, " +
        'else (only when it is nowhere as sent) line by line with leading and trailing whitespace ignored, newText ' +
        'then being indented to where those lines are. Otherwise nothing is changed and the error names the edit. ' +
        'Edits apply in order. Returns a unified diff of the change; with dryRun true the diff is shown and ' +
        `the file left untouched. Files up to ${formatSize(MAX_EDIT_BYTES)} can be edited. Use write_file to ` +
        'replace a whole file.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async (args, { signal }) => {
      const real = await ctx.sandbox.resolve(args.path, { mustExist: true, forWrite: true });
      return withFsErrors(real, async () => {
        const facts = await inspectFile(real);
        if (facts.binary)
          throw new ToolError(`${real} is a binary file (${facts.mimeType}) and cannot be edited as text.`);
        if (facts.size > MAX_EDIT_BYTES) {
          throw new ToolError(
            `${real} is ${formatSize(facts.size)}, over the ${formatSize(MAX_EDIT_BYTES)} limit for edit_file. ` +
              'Nothing was changed; files this large cannot be edited with this tool.',
          );
        }
        const before = await readText(real, signal);
        const after = applyEdits(before, args.edits);
        const diff = createUnifiedDiff(ctx.sandbox.show(real), before, after);
        if (!args.dryRun && after !== before) {
          const write = () => writeFileAtomic(real, after, signal);
          await underQuota(ctx.quota, real, () => fileGrowth(real, Buffer.byteLength(after, 'utf8')), write);
        }
        const summary = args.dryRun ? 'Dry run; the file was not changed.' : `Edited ${ctx.sandbox.show(real)}.`;
        const body = describeChange(before, after, diff, ctx.maxReadBytes);
        const fits = Buffer.byteLength(diff, 'utf8') <= ctx.maxReadBytes;
        return textResult(`${summary}\n${body}`, {
          path: ctx.sandbox.show(real),
          ...(fits ? { diff } : { diffOmitted: true }),
          dryRun: args.dryRun,
        });
      });
    },
  );
}
