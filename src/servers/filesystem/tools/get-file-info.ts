import { stat } from 'node:fs/promises';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import { withFsErrors, type FilesystemContext } from '../file-io.ts';
import { textOutputSchema } from '../output.ts';

const inputSchema = z.object({
  path: z.string().describe('File or directory: absolute, or relative to the first allowed directory.'),
});

const outputSchema = textOutputSchema.extend({
  path: z.string(),
  size: z.number().int(),
  created: z.string(),
  modified: z.string(),
  accessed: z.string(),
  type: z.enum(['file', 'directory', 'other']),
  isDirectory: z.boolean(),
  isFile: z.boolean(),
  permissions: z.string(),
});

/** `get_file_info`: size, times, type and permission bits of one entry, without reading it. */
export function registerGetFileInfoTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'get_file_info',
      title: 'Get File Info',
      description:
        'Get metadata about a file or directory without reading it: size in bytes, creation, modification ' +
        'and access times (ISO 8601), type ("file", "directory" or "other"; also as the booleans isFile and ' +
        'isDirectory) and permissions (octal, e.g. "644").',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const real = await ctx.sandbox.resolve(args.path, { mustExist: true });
      const stats = await withFsErrors(real, () => stat(real));
      const info = {
        path: ctx.sandbox.show(real),
        size: stats.size,
        created: stats.birthtime.toISOString(),
        modified: stats.mtime.toISOString(),
        accessed: stats.atime.toISOString(),
        type: stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other',
        // The reference server's names for the type, for clients written against it.
        isDirectory: stats.isDirectory(),
        isFile: stats.isFile(),
        permissions: (stats.mode & 0o777).toString(8).padStart(3, '0'),
      };
      const text = Object.entries(info)
        .map(([key, value]) => `${key}: ${value}`)
        .join('\n');
      return textResult(text, info);
    },
  );
}
