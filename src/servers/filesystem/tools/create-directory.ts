import { mkdir } from 'node:fs/promises';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import { missingEntriesBytes, underQuota } from '../area-quota.ts';
import { withFsErrors, type FilesystemContext } from '../file-io.ts';
import { textOutputSchema } from '../output.ts';

const inputSchema = z.object({
  path: z.string().describe('Directory to create: absolute, or relative to the first allowed directory.'),
});

const outputSchema = textOutputSchema.extend({ path: z.string(), created: z.boolean() });

/** `create_directory`: `mkdir -p` inside the sandbox. */
export function registerCreateDirectoryTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'create_directory',
      title: 'Create Directory',
      description:
        'Create a directory, including any missing parent directories. Succeeds without change if the ' +
        'directory already exists; fails if a file is in the way.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      // Not forWrite: mkdir -p never replaces an entry, so naming an allowed directory itself is harmless.
      const real = await ctx.sandbox.resolve(args.path, { mustExist: false });
      const created = await withFsErrors(real, () =>
        underQuota(ctx.quota, real, () => missingEntriesBytes(real), () => mkdir(real, { recursive: true })),
      );
      const shown = ctx.sandbox.show(real);
      const text = created === undefined ? `${shown} already exists.` : `Created ${shown}.`;
      return textResult(text, { path: shown, created: created !== undefined });
    },
  );
}
