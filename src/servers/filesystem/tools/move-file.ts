import { lstat, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { measureEntry } from '../area-quota.ts';
import { withFsErrors, type FilesystemContext } from '../file-io.ts';
import { guardMovedLinks } from '../moved-links.ts';
import { textOutputSchema } from '../output.ts';

const inputSchema = z.object({
  source: z.string().describe('File or directory to move: absolute, or relative to the first allowed directory.'),
  destination: z.string().describe('New path; must not exist yet. Its parent directory must exist.'),
});

const outputSchema = textOutputSchema.extend({ source: z.string(), destination: z.string() });

/** `move_file`: rename or move an entry within the sandbox, never over an existing one. */
export function registerMoveFileTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'move_file',
      title: 'Move File',
      description:
        'Move or rename a file or directory. Both paths must be inside the allowed directories. Fails if the ' +
        'destination already exists (nothing is overwritten) or its parent directory is missing (create it ' +
        'with create_directory first). A symbolic link is moved itself, not the file it points to; a move that ' +
        'would leave a link pointing outside the allowed directories is refused.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async (args) => {
      // A symbolic link is moved itself, as rename(2) does, not the file it points to.
      const entry = { forWrite: true, followLastLink: false } as const;
      const source = await ctx.sandbox.resolve(args.source, { mustExist: true, ...entry });
      const destination = await ctx.sandbox.resolve(args.destination, { mustExist: false, ...entry });
      // lstat, so a symbolic link (even a dangling one) at the destination also counts as existing.
      const taken = await lstat(destination).then(
        () => true,
        () => false,
      );
      if (taken)
        throw new ToolError(`Destination already exists: ${destination}. Nothing was moved; choose another name.`);
      const parent = path.dirname(destination);
      const parentIsDirectory = await stat(parent).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!parentIsDirectory) {
        throw new ToolError(
          `The destination's parent ${parent} is not an existing directory; create it with create_directory first.`,
        );
      }
      const links = guardMovedLinks(ctx.sandbox, source, destination);
      const move = async () => {
        await links.before();
        await rename(source, destination);
        await links.after(() => rename(destination, source));
      };
      // Within the tenant's area, or outside it, a move adds nothing there; across its edge it adds or frees the entry.
      const { quota } = ctx;
      const into = quota !== undefined && !quota.covers(source) && quota.covers(destination);
      const outOf = quota !== undefined && quota.covers(source) && !quota.covers(destination);
      await withFsErrors(source, () =>
        quota && (into || outOf) ? quota.change(async () => (into ? 1 : -1) * (await measureEntry(source)), move) : move(),
      );
      const shown = { source: ctx.sandbox.show(source), destination: ctx.sandbox.show(destination) };
      return textResult(`Moved ${shown.source} to ${shown.destination}.`, shown);
    },
  );
}
