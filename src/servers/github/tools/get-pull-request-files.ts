import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { moreLine, nextPageFrom, pageShape, readOnlyAnnotations, truncate } from '../format.ts';

/** The most of one file's patch returned, and of all the page's patches together. */
const MAX_PATCH_CHARS = 20_000;
const MAX_PATCHES_CHARS = 60_000;

/** Registers `get_pull_request_files`: the files a pull request changes, with their patches. */
export function registerGetPullRequestFilesTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'get_pull_request_files',
      title: 'Get pull request files',
      description:
        'Lists the files a pull request changes: each one added, modified, removed or renamed, with lines added and ' +
        `removed and, unless includePatch is false, its unified diff (cut at ${MAX_PATCH_CHARS} characters per file and ` +
        `${MAX_PATCHES_CHARS} per page). Use it to review a pull request; get_file_contents reads a whole file at a ref.`,
      inputSchema: z.object({
        ...ctx.repoShape,
        pullNumber: z.number().int().positive().describe('The pull request number, as in #123.'),
        includePatch: z.boolean().default(true).describe('Include each file’s diff (default true); false lists the files only.'),
        ...pageShape(30),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data, headers } = await ctx.call(context, `pull request #${args.pullNumber} in ${owner}/${repo}`, (request) =>
        ctx.client.rest.pulls.listFiles({ owner, repo, pull_number: args.pullNumber, per_page: args.perPage, page: args.page, request }),
      );
      let budget = MAX_PATCHES_CHARS;
      const files = data.map((f) => {
        const cut = args.includePatch && f.patch !== undefined ? truncate(f.patch, Math.max(0, Math.min(MAX_PATCH_CHARS, budget))) : undefined;
        if (cut) budget -= cut.text.length;
        return {
          filename: f.filename,
          status: f.status,
          additions: f.additions,
          deletions: f.deletions,
          ...(f.previous_filename !== undefined && { previousFilename: f.previous_filename }),
          ...(cut && { patch: cut.text, patchTruncated: cut.truncated }),
        };
      });
      const nextPage = nextPageFrom(headers);
      const header = `Files changed by pull request #${args.pullNumber} in ${owner}/${repo} (page ${args.page})`;
      const blocks = files.map((f) => {
        const renamed = f.previousFilename ? ` (from ${f.previousFilename})` : '';
        const line = `${f.status} ${f.filename}${renamed} +${f.additions} −${f.deletions}`;
        if (!args.includePatch) return line;
        return f.patch === undefined ? `${line}\n(no diff from GitHub: a binary file, a rename without changes, or a diff too large)` : `${line}\n${f.patch}`;
      });
      const text = files.length > 0 ? `${header}:\n${blocks.join(args.includePatch ? '\n\n' : '\n')}${moreLine(nextPage)}` : `${header}: none.`;
      return textResult(text, { owner, repo, pullNumber: args.pullNumber, files, ...(nextPage !== undefined && { nextPage }) });
    },
  );
}
