import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { formatSize, withFsErrors, type FilesystemContext } from '../file-io.ts';
import { mediaOutputSchema } from '../output.ts';
import { checkWholeReadSize, inspectFile, readMedia } from '../read-content.ts';

const inputSchema = z.object({
  path: z.string().describe('File to read: absolute, or relative to the first allowed directory.'),
});

/** `read_media_file`: any file as one base64 content block, as the reference server has it. */
export function registerReadMediaFileTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'read_media_file',
      title: 'Read Media File',
      description:
        'Read a file inside the allowed directories as base64 with its MIME type: images and audio come back as ' +
        'image/audio content, any other file as an embedded resource. Files over ' +
        `${formatSize(ctx.maxReadBytes)} are refused. Use read_text_file for text.`,
      inputSchema,
      outputSchema: mediaOutputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, { signal }) => {
      const real = await ctx.sandbox.resolve(args.path, { mustExist: true });
      return withFsErrors(real, async () => {
        const facts = await inspectFile(real);
        checkWholeReadSize(real, facts, ctx.maxReadBytes);
        return { content: [await readMedia(real, ctx.sandbox.show(real), facts, signal)] };
      });
    },
  );
}
