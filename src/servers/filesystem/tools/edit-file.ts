import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { createUnifiedDiff } from '../diff.ts';
import { fileGrowth, underQuota } from '../area-quota.ts';
import { withFsErrors, writeFileAtomic, type FilesystemContext } from '../file-io.ts';
import { checkWholeReadSize, inspectFile, readText } from '../read-content.ts';

const inputSchema = z.object({
  path: z.string().describe('File to edit: absolute, or relative to the first allowed directory.'),
  edits: z
    .array(
      z.object({
        oldText: z
          .string()
          .min(1)
          .describe('Text to replace; must occur exactly once in the file, character for character.'),
        newText: z.string().describe('Replacement text.'),
      }),
    )
    .min(1)
    .describe('Replacements, applied in order; each one sees the result of the previous ones.'),
  dryRun: z.boolean().default(false).describe('Only show the diff; leave the file unchanged.'),
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

/** Applies exact-text replacements in order; all of them or none. */
export function applyEdits(content: string, edits: readonly { oldText: string; newText: string }[]): string {
  // Models write "\n"; match a CRLF file by translating the edit rather than the file.
  const eol = content.includes('\r\n') ? '\r\n' : '\n';
  const toFile = (text: string): string => (eol === '\n' ? text : text.replace(/\r?\n/g, eol));
  let result = content;
  edits.forEach((edit, index) => {
    const oldText = toFile(edit.oldText);
    const found = countUpToTwo(result, oldText);
    const which = `Edit ${index + 1} of ${edits.length}`;
    if (found === 0) {
      throw new ToolError(
        `${which}: oldText ${preview(edit.oldText)} was not found. Nothing was changed; ` +
          'read the file and copy the text exactly.',
      );
    }
    if (found > 1) {
      throw new ToolError(
        `${which}: oldText ${preview(edit.oldText)} occurs more than once. Nothing was changed; ` +
          'include more surrounding text so it is unique.',
      );
    }
    const at = result.indexOf(oldText);
    result = result.slice(0, at) + toFile(edit.newText) + result.slice(at + oldText.length);
  });
  return result;
}

/** `edit_file`: exact, unique text replacements with a diff of the result; `dryRun` only previews. */
export function registerEditFileTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'edit_file',
      title: 'Edit File',
      description:
        "Edit a text file by replacing exact text. Each edit's oldText must occur exactly once in the file " +
        '(whitespace and line breaks included); otherwise nothing is changed and the error names the edit. ' +
        'Edits apply in order. Returns a unified diff of the change; with dryRun true the diff is shown and ' +
        'the file left untouched. Use write_file to replace a whole file.',
      inputSchema,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async (args, { signal }) => {
      const real = await ctx.sandbox.resolve(args.path, { mustExist: true, forWrite: true });
      return withFsErrors(real, async () => {
        const facts = await inspectFile(real);
        if (facts.binary)
          throw new ToolError(`${real} is a binary file (${facts.mimeType}) and cannot be edited as text.`);
        checkWholeReadSize(real, facts, ctx.maxReadBytes);
        const before = await readText(real, signal);
        const after = applyEdits(before, args.edits);
        const diff = createUnifiedDiff(ctx.sandbox.show(real), before, after);
        if (!args.dryRun && after !== before) {
          const write = () => writeFileAtomic(real, after, signal);
          await underQuota(ctx.quota, real, () => fileGrowth(real, Buffer.byteLength(after, 'utf8')), write);
        }
        const fence = '`'.repeat(Math.max(3, ...[...diff.matchAll(/`+/g)].map((m) => m[0].length + 1)));
        const summary = args.dryRun ? 'Dry run; the file was not changed.' : `Edited ${ctx.sandbox.show(real)}.`;
        const body = diff === '' ? 'The edits leave the file unchanged.' : `${fence}diff\n${diff}${fence}`;
        return textResult(`${summary}\n${body}`, { path: ctx.sandbox.show(real), diff, dryRun: args.dryRun });
      });
    },
  );
}
