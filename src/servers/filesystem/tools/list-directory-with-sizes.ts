import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { ToolError, textResult } from '../../tool-source.ts';
import { formatSize, withFsErrors, type FilesystemContext } from '../file-io.ts';
import { textOutputSchema } from '../output.ts';
import { directoryPath, entryType, entryTypeSchema, listingNotes, MARKERS, MAX_ENTRIES, sortEntries, type EntryType } from './list-directory.ts';

/** Entries measured at most: a larger directory is refused rather than measured at length. */
const MAX_MEASURED = 5000;
/** Entries measured at once. */
const BATCH = 64;

const inputSchema = z.object({
  path: directoryPath,
  sortBy: z.enum(['name', 'size']).default('name').describe('"name" (default), or "size": largest files first.'),
});

const outputSchema = textOutputSchema.extend({
  path: z.string(),
  entries: z.array(z.object({ name: z.string(), type: entryTypeSchema, size: z.number().int().optional() })),
  totalEntries: z.number().int(),
  totals: z.object({ files: z.number().int(), directories: z.number().int(), bytes: z.number().int() }),
  truncated: z.boolean(),
});

interface SizedEntry {
  name: string;
  type: EntryType;
  /** Bytes of a file; absent for directories, links and others. */
  size?: number;
}

/** Each entry's type and, for files, size, without following symbolic links. */
async function measure(directory: string, dirents: Dirent[]): Promise<SizedEntry[]> {
  const sized: SizedEntry[] = [];
  for (let start = 0; start < dirents.length; start += BATCH) {
    const batch = dirents.slice(start, start + BATCH);
    // A file removed meanwhile is listed without a size.
    const sizeOf = async (entry: Dirent) => (entry.isFile() ? (await lstat(path.join(directory, entry.name)).catch(() => undefined))?.size : undefined);
    const sizes = await Promise.all(batch.map(sizeOf));
    batch.forEach((entry, i) => {
      const size = sizes[i];
      sized.push({ name: entry.name, type: entryType(entry), ...(size !== undefined && { size }) });
    });
  }
  return sized;
}

/** `list_directory_with_sizes`: one directory's entries with the size of each file, and the totals. */
export function registerListDirectoryWithSizesTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'list_directory_with_sizes',
      title: 'List Directory with Sizes',
      description:
        'List the files and subdirectories of one directory with the size of each file, sorted by name or by ' +
        'size (largest first), then the number of files and directories and their combined size. Directories ' +
        `are not measured recursively. At most ${MAX_ENTRIES} entries are shown; a directory of more than ` +
        `${MAX_MEASURED} entries is refused: use list_directory or search_files there.`,
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const real = await ctx.sandbox.resolve(args.path, { mustExist: true });
      const dirents = await withFsErrors(real, () => readdir(real, { withFileTypes: true }));
      if (dirents.length > MAX_MEASURED) {
        throw new ToolError(
          `${ctx.sandbox.show(real)} has ${dirents.length} entries, more than the ${MAX_MEASURED} this tool measures. ` +
            'Use list_directory, or search_files with a pattern.',
        );
      }
      const sized = await measure(real, sortEntries(dirents));
      if (args.sortBy === 'size') sized.sort((a, b) => (b.size ?? -1) - (a.size ?? -1));
      const shown = sized.slice(0, MAX_ENTRIES);
      const files = sized.filter((e) => e.type === 'file');
      const totals = {
        files: files.length,
        directories: sized.filter((e) => e.type === 'directory').length,
        bytes: files.reduce((sum, e) => sum + (e.size ?? 0), 0),
      };
      const width = Math.max(0, ...shown.map((e) => e.name.length));
      // Markers padded to one width, so that the sizes line up.
      const lines = shown.map((e) => `${MARKERS[e.type].padEnd(6)} ${e.size === undefined ? e.name : `${e.name.padEnd(width)}  ${formatSize(e.size)}`}`.trimEnd());
      lines.push(...listingNotes(sized.length, shown.length));
      lines.push('', `Total: ${totals.files} files, ${totals.directories} directories`, `Combined size: ${formatSize(totals.bytes)}`);
      return textResult(lines.join('\n'), {
        path: ctx.sandbox.show(real),
        entries: shown,
        totalEntries: sized.length,
        totals,
        truncated: sized.length > shown.length,
      });
    },
  );
}
