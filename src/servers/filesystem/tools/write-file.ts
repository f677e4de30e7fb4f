import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import { fileGrowth, underQuota } from '../area-quota.ts';
import { formatSize, withFsErrors, writeFileAtomic, type FilesystemContext } from '../file-io.ts';
import { textOutputSchema } from '../output.ts';

const inputSchema = z.object({
  path: z.string().describe('File to write: absolute, or relative to the first allowed directory.'),
  content: z.string().describe('The complete new content of the file (UTF-8 text).'),
});

const outputSchema = textOutputSchema.extend({ path: z.string(), created: z.boolean(), bytes: z.number().int() });

/** `write_file`: creates or replaces a whole text file, atomically. */
export function registerWriteFileTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'write_file',
      title: 'Write File',
      description:
        'Create a new file or completely replace an existing one with the given text. An existing file is ' +
        'overwritten without warning, so read it first or use edit_file for targeted changes. Missing parent ' +
        'directories are created. The write is atomic: the file never appears half-written.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args, { signal }) => {
      const real = await ctx.sandbox.resolve(args.path, { mustExist: false, forWrite: true });
      const bytes = Buffer.byteLength(args.content, 'utf8');
      return withFsErrors(real, async () => {
        const existed = await stat(real).then(
          () => true,
          () => false,
        );
        await underQuota(
          ctx.quota,
          real,
          () => fileGrowth(real, bytes),
          async () => {
            await mkdir(path.dirname(real), { recursive: true });
            await writeFileAtomic(real, args.content, signal);
          },
        );
        const size = formatSize(bytes);
        const shown = ctx.sandbox.show(real);
        return textResult(`${existed ? 'Replaced' : 'Created'} ${shown} (${size}).`, { path: shown, created: !existed, bytes });
      });
    },
  );
}
