import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { moreLine, nextPageFrom, pageShape, readOnlyAnnotations } from '../format.ts';

/** Registers `list_branches`: a repository's branches and the commit each points at. */
export function registerListBranchesTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'list_branches',
      title: 'List branches',
      description:
        'Lists the branches of a repository in name order, with the commit each points at and whether it is protected. ' +
        'Use it to find the head and base for create_pull_request, or a ref for get_file_contents and list_commits.',
      inputSchema: z.object({
        ...ctx.repoShape,
        protectedOnly: z.boolean().optional().describe('Only protected branches.'),
        ...pageShape(30),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data, headers } = await ctx.call(context, `repository ${owner}/${repo}`, (request) =>
        ctx.client.rest.repos.listBranches({
          owner,
          repo,
          ...(args.protectedOnly !== undefined && { protected: args.protectedOnly }),
          per_page: args.perPage,
          page: args.page,
          request,
        }),
      );
      const branches = data.map((b) => ({ name: b.name, sha: b.commit.sha, protected: b.protected }));
      const nextPage = nextPageFrom(headers);
      const header = `Branches of ${owner}/${repo} (page ${args.page})`;
      const lines = branches.map((b) => `${b.name} ${b.sha.slice(0, 7)}${b.protected ? ' (protected)' : ''}`);
      const text = branches.length > 0 ? `${header}:\n${lines.join('\n')}${moreLine(nextPage)}` : `${header}: none.`;
      return textResult(text, { owner, repo, branches, ...(nextPage !== undefined && { nextPage }) });
    },
  );
}
