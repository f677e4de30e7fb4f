import { readdir } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import { withFsErrors, type FilesystemContext } from '../file-io.ts';
import { createExcluder } from '../glob.ts';
import { entryType, sortEntries, type EntryType } from './list-directory.ts';

/** Entries in one tree, all levels together. */
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
    .describe('Levels to descend; directories at the last level are shown without children.'),
  excludePatterns: z
    .array(z.string())
    .default([])
    .describe(
      'Glob patterns to leave out, e.g. "node_modules" or "*.log" (a pattern without "/" also matches names at any depth).',
    ),
});

interface TreeNode {
  name: string;
  type: EntryType;
  children?: TreeNode[];
}

/** `directory_tree`: a recursive JSON view of a directory, bounded in depth and size. */
export function registerDirectoryTreeTool(registry: ToolRegistry, ctx: FilesystemContext): void {
  registry.registerTool(
    {
      name: 'directory_tree',
      title: 'Directory Tree',
      description:
        'Get a recursive tree of files and directories as JSON: each entry has "name", "type" ' +
        '("file", "directory" or "symlink") and, for directories within maxDepth, "children". Symbolic links ' +
        `are not followed. At most ${MAX_ENTRIES} entries are returned; "truncated" says when some were left out.`,
      inputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, { signal }) => {
      const top = await ctx.sandbox.resolve(args.path, { mustExist: true });
      const excluded = createExcluder(args.excludePatterns);
      let count = 0;
      let truncated = false;

      async function build(dir: string, depth: number): Promise<TreeNode[]> {
        signal.throwIfAborted();
        const dirents = sortEntries(await withFsErrors(dir, () => readdir(dir, { withFileTypes: true })));
        const nodes: TreeNode[] = [];
        for (const entry of dirents) {
          const full = path.join(dir, entry.name);
          if (excluded(path.relative(top, full).split(path.sep).join('/'), entry.name)) continue;
          if (count >= MAX_ENTRIES) {
            truncated = true;
            break;
          }
          count++;
          const node: TreeNode = { name: entry.name, type: entryType(entry) };
          if (node.type === 'directory' && depth < args.maxDepth) node.children = await build(full, depth + 1);
          nodes.push(node);
        }
        return nodes;
      }

      const tree = await build(top, 1);
      const text = JSON.stringify(tree, null, 2) + (truncated ? `\n(truncated after ${MAX_ENTRIES} entries)` : '');
      return textResult(text, { path: ctx.sandbox.show(top), tree, truncated });
    },
  );
}
