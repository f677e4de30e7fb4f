import { readdir } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import { withFsErrors, type FilesystemContext } from '../file-io.ts';
import { createExcluder, globToRegExp } from '../glob.ts';
import { sortEntries } from './list-directory.ts';

const MAX_RESULTS = 1000;
/** Entries examined in one search, so a huge tree cannot keep a call busy indefinitely. */
const MAX_VISITED = 100_000;

const inputSchema = z.object({
  path: z.string().describe('Directory to search in: absolute, or relative to the first allowed directory.'),
  pattern: z
    .string()
    .min(1)
    .describe(
      'Glob matched against paths relative to `path`: "*.ts" matches only at the top level, "**/*.ts" at any depth.',
    ),
  excludePatterns: z
    .array(z.string())
    .default([])
    .describe('Glob patterns to skip; a pattern without "/" also matches names at any depth, e.g. "node_modules".'),
  maxResults: z.number().int().min(1).max(MAX_RESULTS).default(200).describe('Stop after this many matches.'),
});

/** `search_files`: paths under a directory matching a glob, recursively, without following symbolic links. */
export function registerSearchFilesTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'search_files',
      title: 'Search Files',
      description:
        'Recursively find files and directories whose path, relative to the search directory, matches a glob ' +
        'pattern. Supports * (within one path segment), ** (any number of segments) and ?. Use "**/*.ext" to ' +
        'search all subdirectories. Returns absolute paths, one per line. Symbolic links to directories are ' +
        'not followed.',
      inputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, { signal }) => {
      const top = await ctx.sandbox.resolve(args.path, { mustExist: true });
      const matcher = globToRegExp(args.pattern);
      const excluded = createExcluder(args.excludePatterns);
      const matches: string[] = [];
      let visited = 0;
      let truncated = false;

      async function search(dir: string): Promise<void> {
        signal.throwIfAborted();
        const dirents = sortEntries(await withFsErrors(dir, () => readdir(dir, { withFileTypes: true })));
        for (const entry of dirents) {
          if (matches.length >= args.maxResults || visited >= MAX_VISITED) {
            truncated = true;
            return;
          }
          visited++;
          const full = path.join(dir, entry.name);
          const relative = path.relative(top, full).split(path.sep).join('/');
          if (excluded(relative, entry.name)) continue;
          if (matcher.test(relative)) matches.push(ctx.sandbox.show(full));
          if (entry.isDirectory()) await search(full);
        }
      }

      await search(top);
      const note = truncated ? `\n(stopped after ${matches.length} matches / ${visited} entries examined)` : '';
      const text = matches.length > 0 ? matches.join('\n') + note : `No matches found${note}`;
      return textResult(text, truncated ? { matches, truncated, examined: visited } : { matches, truncated });
    },
  );
}
