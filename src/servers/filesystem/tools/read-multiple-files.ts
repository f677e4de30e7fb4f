import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { describeReadFailure, formatSize, type FilesystemContext } from '../file-io.ts';
import { textOutputSchema } from '../output.ts';
import { inspectFile, readText } from '../read-content.ts';

const MAX_PATHS = 50;

const inputSchema = z.object({
  paths: z
    .array(z.string())
    .min(1)
    .max(MAX_PATHS)
    .describe('Files to read: absolute, or relative to the first allowed directory.'),
});

const fileOutcome = z.union([z.object({ path: z.string(), content: z.string() }), z.object({ path: z.string(), error: z.string() })]);
type FileOutcome = z.output<typeof fileOutcome>;

const outputSchema = textOutputSchema.extend({ files: z.array(fileOutcome).describe('Each file as asked for: its text, or why it could not be read.') });

/** `read_multiple_files`: several text files in one call; a file that fails is reported inline. */
export function registerReadMultipleFilesTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'read_multiple_files',
      title: 'Read Multiple Files',
      description:
        'Read several text files at once, for example to compare them. Each file is returned after its path, ' +
        'separated by "---". A file that cannot be read is reported in its place without failing the others. ' +
        `All files together are limited to ${formatSize(ctx.maxReadBytes)}; binary files are not included ` +
        '(use read_file for those).',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ paths }, { signal }) => {
      let budget = ctx.maxReadBytes;
      const files: FileOutcome[] = [];
      for (const requested of paths) {
        signal.throwIfAborted();
        // Until the path resolves, a failure is told against the path as given.
        let where = requested;
        try {
          const real = await ctx.sandbox.resolve(requested, { mustExist: true });
          where = real;
          const facts = await inspectFile(real);
          if (facts.binary) {
            throw new ToolError(`binary file (${facts.mimeType}, ${formatSize(facts.size)}); use read_file.`);
          }
          if (facts.size > budget) {
            throw new ToolError(
              `${formatSize(facts.size)} would exceed the ${formatSize(ctx.maxReadBytes)} limit for this call; ` +
                'read it on its own with read_file, in parts if needed.',
            );
          }
          const content = await readText(real, signal);
          budget -= facts.size;
          files.push({ path: requested, content });
        } catch (error) {
          // A cancelled call fails as a whole; whatever else goes wrong with one file is told in its place.
          if (signal.aborted) throw error;
          files.push({ path: requested, error: ctx.sandbox.showIn(describeReadFailure(error, where)) });
        }
      }
      const text = files
        .map((f) => ('content' in f ? `${f.path}:\n${f.content}\n` : `${f.path}: Error - ${f.error}\n`))
        .join('---\n');
      return textResult(text, { files });
    },
  );
}
