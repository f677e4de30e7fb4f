import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import { withFsErrors, type FilesystemContext } from '../file-io.ts';
import { textOutputSchema } from '../output.ts';

/** Entries shown by one listing; the rest are counted, not listed. */
export const MAX_ENTRIES = 1000;

/** The directory a listing tool is given. */
export const directoryPath = z
  .string()
  .describe('Directory to list: absolute, or relative to the first allowed directory ("." for the first one).');

const inputSchema = z.object({ path: directoryPath });

/** What a listing of `total` entries showing `shown` says after them: how many were left out, or that there are none. */
export function listingNotes(total: number, shown: number): string[] {
  if (total === 0) return ['(empty directory)'];
  return total > shown ? [`… and ${total - shown} more entries not shown`] : [];
}

/** The kind of a directory entry, as listings name it. */
export const entryTypeSchema = z.enum(['file', 'directory', 'symlink', 'other']);
export type EntryType = z.output<typeof entryTypeSchema>;

/** The kind of a directory entry, without following symbolic links. */
export function entryType(entry: Pick<Dirent, 'isDirectory' | 'isFile' | 'isSymbolicLink'>): EntryType {
  if (entry.isDirectory()) return 'directory';
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** How a listing marks each kind of entry. */
export const MARKERS: Record<EntryType, string> = { file: '[FILE]', directory: '[DIR]', symlink: '[LINK]', other: '[OTHER]' };

/** Entries sorted by name (code point order, so the result is the same everywhere). */
export function sortEntries<T extends { name: string }>(entries: T[]): T[] {
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const outputSchema = textOutputSchema.extend({
  path: z.string(),
  entries: z.array(z.object({ name: z.string(), type: entryTypeSchema })),
  totalEntries: z.number().int(),
  truncated: z.boolean(),
});

/** `list_directory`: the names in one directory, marked [FILE], [DIR] or [LINK]. */
export function registerListDirectoryTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'list_directory',
      title: 'List Directory',
      description:
        'List the files and subdirectories of one directory, sorted by name, each prefixed with [FILE], [DIR] ' +
        `or [LINK] (a symbolic link). At most ${MAX_ENTRIES} entries are shown. Use directory_tree for a ` +
        'recursive view and search_files to find files by name.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const real = await ctx.sandbox.resolve(args.path, { mustExist: true });
      const dirents = await withFsErrors(real, () => readdir(real, { withFileTypes: true }));
      const sorted = sortEntries(dirents);
      const entries = sorted.slice(0, MAX_ENTRIES).map((e) => ({ name: e.name, type: entryType(e) }));
      const lines = entries.map((e) => `${MARKERS[e.type]} ${e.name}`);
      lines.push(...listingNotes(sorted.length, entries.length));
      return textResult(lines.join('\n'), {
        path: ctx.sandbox.show(real),
        entries,
        totalEntries: sorted.length,
        truncated: sorted.length > entries.length,
      });
    },
  );
}
