import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { formatSize, withFsErrors, type FilesystemContext } from '../file-io.ts';
import { textOutputSchema } from '../output.ts';
import { inspectFile } from '../read-content.ts';
import { chooseRange, readTextInputSchema, readTextPart } from './read-file.ts';

/**
 * `read_text_file`: a text file, whole or in part, as the reference server
 * names its text reader; `read_file` is the same for text files.
 */
export function registerReadTextFileTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'read_text_file',
      title: 'Read Text File',
      description:
        'Read a text file inside the allowed directories as text; use head, tail or start_line/end_line to read ' +
        `part of a long file. Files over ${formatSize(ctx.maxReadBytes)} can only be read in parts. Binary files ` +
        'are refused: read them with read_media_file.',
      inputSchema: readTextInputSchema,
      outputSchema: textOutputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, { signal }) => {
      const range = chooseRange(args);
      const real = await ctx.sandbox.resolve(args.path, { mustExist: true });
      return withFsErrors(real, async () => {
        const facts = await inspectFile(real);
        if (facts.binary) {
          throw new ToolError(
            `${real} is a binary file (${facts.mimeType}, ${formatSize(facts.size)}); read it with read_media_file.`,
          );
        }
        return textResult(await readTextPart(real, facts, range, ctx.maxReadBytes, signal));
      });
    },
  );
}
