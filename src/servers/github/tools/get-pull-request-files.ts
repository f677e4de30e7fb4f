import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { changedFiles, describeChangedFiles, MAX_PATCH_CHARS, MAX_PATCHES_CHARS } from '../changed-files.ts';
import { moreLine, nextPageFrom, pageShape, pullNumberShape, readOnlyAnnotations } from '../format.ts';

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
        ...pullNumberShape,
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
      const files = changedFiles(data, args.includePatch);
      const nextPage = nextPageFrom(headers);
      const header = `Files changed by pull request #${args.pullNumber} in ${owner}/${repo} (page ${args.page})`;
      const text = files.length > 0 ? `${header}:\n${describeChangedFiles(files, args.includePatch)}${moreLine(nextPage)}` : `${header}: none.`;
      return textResult(text, { owner, repo, pullNumber: args.pullNumber, files, ...(nextPage !== undefined && { nextPage }) });
    },
  );
}
