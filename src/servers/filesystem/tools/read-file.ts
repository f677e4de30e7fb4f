import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { formatSize, withFsErrors, type FilesystemContext } from '../file-io.ts';
import { fileOutputSchema } from '../output.ts';
import { checkWholeReadSize, inspectFile, readLines, readMedia, readTail, readText, type FileFacts } from '../read-content.ts';

const lineCount = z.number().int().positive();

/** The arguments of the tools that read a text file: its path, and which of its lines. */
export const readTextInputSchema = z.object({
  path: z.string().describe('File to read: absolute, or relative to the first allowed directory.'),
  head: lineCount.optional().describe('Return only the first N lines.'),
  tail: lineCount.optional().describe('Return only the last N lines.'),
  start_line: lineCount.optional().describe('First line to return (1-based, inclusive).'),
  end_line: lineCount.optional().describe('Last line to return (1-based, inclusive); defaults to the end of the file.'),
});

type Args = z.output<typeof readTextInputSchema>;
type LineRange = { head: number } | { tail: number } | { start: number; end: number };

/** Which lines `args` ask for; undefined for the whole file. Refuses two ways of asking at once, or an empty range. */
export function chooseRange(args: Args): LineRange | undefined {
  const ways = [
    args.head !== undefined,
    args.tail !== undefined,
    args.start_line !== undefined || args.end_line !== undefined,
  ];
  if (ways.filter(Boolean).length > 1) {
    throw new ToolError('Give only one of head, tail, or start_line/end_line.');
  }
  if (args.head !== undefined) return { head: args.head };
  if (args.tail !== undefined) return { tail: args.tail };
  if (args.start_line === undefined && args.end_line === undefined) return undefined;
  const start = args.start_line ?? 1;
  const end = args.end_line ?? Number.POSITIVE_INFINITY;
  if (end < start) throw new ToolError(`end_line ${end} is before start_line ${start}.`);
  return { start, end };
}

/** The text of a file that is not binary: whole, within the read limit, or the lines `range` picks. */
export async function readTextPart(
  real: string,
  facts: FileFacts,
  range: LineRange | undefined,
  maxBytes: number,
  signal: AbortSignal,
): Promise<string> {
  if (!range) {
    checkWholeReadSize(real, facts, maxBytes);
    return readText(real, signal);
  }
  if ('tail' in range) return readTail(real, range.tail, maxBytes, signal);
  return readLines(real, 'head' in range ? { start: 1, end: range.head } : range, maxBytes, signal);
}

/** `read_file`: a text file (whole or a line range), or an image, audio or other binary file as media content. */
export function registerReadFileTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'read_file',
      title: 'Read File',
      description:
        'Read a file inside the allowed directories. Text files are returned as text; use head, tail or ' +
        'start_line/end_line to read part of a long file. Files over ' +
        `${formatSize(ctx.maxReadBytes)} can only be read in parts. Images and audio come back as image/audio ` +
        'content, other binary files as an embedded resource (base64).',
      inputSchema: readTextInputSchema,
      outputSchema: fileOutputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, { signal }) => {
      const range = chooseRange(args);
      const real = await ctx.sandbox.resolve(args.path, { mustExist: true });
      return withFsErrors(real, async () => {
        const facts = await inspectFile(real);
        if (facts.binary) {
          if (range) throw new ToolError(`${real} is a binary file (${facts.mimeType}); line ranges do not apply.`);
          checkWholeReadSize(real, facts, ctx.maxReadBytes);
          const shown = ctx.sandbox.show(real);
          const media = await readMedia(real, shown, facts, signal);
          return { content: [{ type: 'text', text: `${shown} (${facts.mimeType}, ${formatSize(facts.size)})` }, media] };
        }
        return textResult(await readTextPart(real, facts, range, ctx.maxReadBytes, signal));
      });
    },
  );
}
