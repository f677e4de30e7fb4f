import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { FilesystemContext } from '../file-io.ts';
import { createExcluder, createGlobMatcher } from '../glob.ts';
import { textOutputSchema } from '../output.ts';
import { searchEntries, unreadableNote, unreadableOutputFields, type SearchOutcome } from '../walk.ts';

const MAX_RESULTS = 1000;
/** Entries examined in one search, so a huge tree cannot keep a call busy indefinitely. */
const MAX_EXAMINED = 100_000;

const inputSchema = z.object({
  path: z.string().describe('Directory to search in: absolute, or relative to the first allowed directory.'),
  pattern: z
    .string()
    .min(1)
    .describe(
      'Glob matched against paths relative to `path`: "*.ts" matches only at the top level, "**/*.ts" at any ' +
        'depth, "**/*.{ts,js}" either extension, "**/" every directory.',
    ),
  excludePatterns: z
    .array(z.string())
    .default([])
    .describe('Glob patterns to skip; a pattern without "/" also matches names at any depth, e.g. "node_modules".'),
  maxResults: z.number().int().min(1).max(MAX_RESULTS).default(200).describe('Stop after this many matches.'),
});

const outputSchema = textOutputSchema.extend({
  matches: z.array(z.string()),
  truncated: z.boolean(),
  examined: z.number().int().optional().describe('Entries examined, when the search stopped early.'),
  ...unreadableOutputFields,
});

/** What a search result says after the matches: why it stopped early, and which directories it skipped. */
export function searchNotes(outcome: SearchOutcome, show: (realPath: string) => string): string[] {
  const notes: string[] = [];
  if (outcome.stoppedBy === 'results') {
    notes.push(`(stopped after ${outcome.matches.length} matches / ${outcome.examined} entries examined)`);
  } else if (outcome.stoppedBy === 'entries') {
    notes.push(
      `(stopped after examining ${outcome.examined} entries, the most one search examines; ` +
        'there may be more matches. Leave out large directories with excludePatterns, e.g. ' +
        '["node_modules", ".git"], or search a subdirectory.)',
    );
  }
  const unreadable = unreadableNote(outcome.unreadable, show);
  if (unreadable) notes.push(unreadable);
  return notes;
}

/** `search_files`: paths under a directory matching a glob, recursively, without following symbolic links. */
export function registerSearchFilesTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'search_files',
      title: 'Search Files',
      description:
        'Recursively find files and directories whose path, relative to the search directory, matches a glob ' +
        'pattern. Supports * and ? (within one path segment), ** (any number of segments), braces ' +
        '({ts,js}) and character classes ([tj]); a pattern ending in "/" matches directories only. Use ' +
        '"**/*.ext" to search all subdirectories. Returns absolute paths, one per line. Symbolic links to ' +
        'directories are not followed; directories that cannot be read are skipped and named.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, { signal }) => {
      const top = await ctx.sandbox.resolve(args.path, { mustExist: true });
      const outcome = await searchEntries({
        top,
        matches: createGlobMatcher(args.pattern),
        excluded: createExcluder(args.excludePatterns),
        maxResults: args.maxResults,
        maxExamined: MAX_EXAMINED,
        signal,
      });
      const show = (real: string) => ctx.sandbox.show(real);
      const matches = outcome.matches.map(show);
      const notes = searchNotes(outcome, show);
      const text = [matches.length > 0 ? matches.join('\n') : 'No matches found', ...notes].join('\n');
      const truncated = outcome.stoppedBy !== undefined;
      const { unreadable } = outcome;
      return textResult(text, {
        matches,
        truncated,
        ...(truncated && { examined: outcome.examined }),
        ...(unreadable.count > 0 && { unreadableDirectories: unreadable.paths.map(show), unreadableCount: unreadable.count }),
      });
    },
  );
}
