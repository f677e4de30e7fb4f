import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { moreLine, nextPageFrom, pageShape, readOnlyAnnotations } from '../format.ts';

/** Registers `list_pull_requests`: a repository's pull requests. */
export function registerListPullRequestsTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'list_pull_requests',
      title: 'List pull requests',
      description:
        "Lists a repository's pull requests, most recently created first, filtered by state and branches. Read one with get_pull_request.",
      inputSchema: z.object({
        ...ctx.repoShape,
        state: z.enum(['open', 'closed', 'all']).default('open').describe('Which pull requests to list; closed includes merged.'),
        head: z.string().min(1).max(255).optional().describe("Only pull requests from this branch, as 'user:branch'."),
        base: z.string().min(1).max(255).optional().describe("Only pull requests into this branch, e.g. 'main'."),
        ...pageShape(30),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data, headers } = await ctx.call(context, `repository ${owner}/${repo}`, (request) =>
        ctx.client.rest.pulls.list({
          owner,
          repo,
          state: args.state,
          ...(args.head && { head: args.head }),
          ...(args.base && { base: args.base }),
          per_page: args.perPage,
          page: args.page,
          request,
        }),
      );
      const pulls = data.map((p) => ({
        number: p.number,
        title: p.title,
        state: p.state,
        draft: p.draft ?? false,
        merged: p.merged_at !== null,
        author: p.user?.login ?? null,
        head: p.head.ref,
        base: p.base.ref,
        url: p.html_url,
        updatedAt: p.updated_at,
      }));
      const nextPage = nextPageFrom(headers);
      const lines = pulls.map((p) => {
        const status = [p.merged ? 'merged' : p.state, ...(p.draft ? ['draft'] : [])].join(', ');
        return `#${p.number} [${status}] ${p.title} — ${p.author ? `@${p.author}` : '(unknown)'}, ${p.head} → ${p.base}`;
      });
      const header = `Pull requests (${args.state}) in ${owner}/${repo} (page ${args.page})`;
      const text = pulls.length > 0 ? `${header}:\n${lines.join('\n')}${moreLine(nextPage)}` : `${header}: none.`;
      return textResult(text, { owner, repo, pullRequests: pulls, ...(nextPage !== undefined && { nextPage }) });
    },
  );
}
