import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { FilesystemContext } from '../file-io.ts';
import { createExcluder } from '../glob.ts';
import { textOutputSchema } from '../output.ts';
import { buildTree, treeNodeSchema, unreadableNote, unreadableOutputFields, type TreeOutcome } from '../walk.ts';

/** Entries in one tree, all levels together, taken level by level. */
const MAX_ENTRIES = 1000;
const MAX_DEPTH = 10;

const inputSchema = z.object({
  path: z.string().describe('Directory at the top of the tree: absolute, or relative to the first allowed directory.'),
  maxDepth: z
    .number()
    .int()
    .min(1)
    .max(MAX_DEPTH)
    .default(3)
    .describe('Levels to descend; directories at the last level are marked "maxDepthReached" and shown without children.'),
  excludePatterns: z
    .array(z.string())
    .default([])
    .describe(
      'Glob patterns to leave out, e.g. "node_modules" or "*.log" (a pattern without "/" also matches names at any depth).',
    ),
});

const outputSchema = textOutputSchema.extend({
  path: z.string(),
  tree: z.array(treeNodeSchema),
  truncated: z.boolean(),
  ...unreadableOutputFields,
});

/** What a tree result says after the tree: what was left out, and where to look for it. */
export function treeNotes(outcome: TreeOutcome, maxDepth: number, show: (realPath: string) => string): string[] {
  const notes: string[] = [];
  if (outcome.truncated) {
    const n = outcome.notListed;
    const marked = n === 0 ? '' : ` ${n} ${n === 1 ? 'directory was' : 'directories were'} not listed in full (marked "entryLimitReached").`;
    notes.push(
      `(truncated after ${MAX_ENTRIES} entries, the most one tree shows, taken level by level: every depth before ` +
        `the next.${marked} To see the rest, call directory_tree on a subdirectory or with a lower maxDepth, or ` +
        'leave out large directories with excludePatterns, e.g. ["node_modules", ".git"].)',
    );
  }
  if (outcome.notExpanded > 0) {
    // Past the entry limit, a deeper tree would only be cut sooner.
    const deeper = maxDepth < MAX_DEPTH && !outcome.truncated ? `raise maxDepth (up to ${MAX_DEPTH}) or ` : '';
    notes.push(
      `(${outcome.notExpanded} ${outcome.notExpanded === 1 ? 'directory was' : 'directories were'} not expanded at ` +
        `maxDepth ${maxDepth} (marked "maxDepthReached"): ${deeper}call directory_tree on them to see inside)`,
    );
  }
  const unreadable = unreadableNote(outcome.unreadable, show);
  if (unreadable) notes.push(unreadable);
  return notes;
}

/** `directory_tree`: a recursive JSON view of a directory, bounded in depth and size. */
export function registerDirectoryTreeTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'directory_tree',
      title: 'Directory Tree',
      description:
        'Get a recursive tree of files and directories as JSON: each entry has "name", "type" ' +
        '("file", "directory" or "symlink") and, for directories within maxDepth, "children". A directory at ' +
        'maxDepth is marked "maxDepthReached": true, one that cannot be read "unreadable": true. Symbolic ' +
        `links are not followed. At most ${MAX_ENTRIES} entries are returned, taken level by level (every entry at ` +
        'one depth before any deeper one); when some are left out, "truncated" is true and directories not listed ' +
        'in full are marked "entryLimitReached": true.',
      inputSchema,
      outputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, { signal }) => {
      const top = await ctx.sandbox.resolve(args.path, { mustExist: true });
      const outcome = await buildTree({
        top,
        maxDepth: args.maxDepth,
        maxEntries: MAX_ENTRIES,
        excluded: createExcluder(args.excludePatterns),
        signal,
      });
      const show = (real: string) => ctx.sandbox.show(real);
      const { tree, truncated, unreadable } = outcome;
      const text = [JSON.stringify(tree, null, 2), ...treeNotes(outcome, args.maxDepth, show)].join('\n');
      return textResult(text, {
        path: show(top),
        tree,
        truncated,
        ...(unreadable.count > 0 && { unreadableDirectories: unreadable.paths.map(show), unreadableCount: unreadable.count }),
      });
    },
  );
}
