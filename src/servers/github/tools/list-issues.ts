import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { count, labelNames, moreLine, nextPageFrom, pageShape, readOnlyAnnotations } from '../format.ts';

// GitHub takes the labels filter as one comma-separated list, so a comma would split a label in two.
const NO_COMMAS = "a label with a comma cannot be filtered on (GitHub's filter splits labels at commas); leave it out and read the labels listed";

/** Registers `list_issues`: a repository's issues, newest first. */
export function registerListIssuesTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'list_issues',
      title: 'List issues',
      description:
        "Lists a repository's issues, most recently created first, filtered by state and labels. " +
        "GitHub counts pull requests as issues: they are listed too, marked 'PR'. Read one with get_issue.",
      inputSchema: z.object({
        ...ctx.repoShape,
        state: z.enum(['open', 'closed', 'all']).default('open').describe('Which issues to list.'),
        labels: z
          .array(z.string().min(1).refine((label) => !label.includes(','), NO_COMMAS))
          .max(20)
          .optional()
          .describe('Only issues carrying all these labels.'),
        ...pageShape(30),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data, headers } = await ctx.call(context, `repository ${owner}/${repo}`, (request) =>
        ctx.client.rest.issues.listForRepo({
          owner,
          repo,
          state: args.state,
          ...(args.labels && { labels: args.labels.join(',') }),
          per_page: args.perPage,
          page: args.page,
          request,
        }),
      );
      const issues = data.map((i) => ({
        number: i.number,
        title: i.title,
        state: i.state,
        author: i.user?.login ?? null,
        labels: labelNames(i.labels),
        comments: i.comments,
        isPullRequest: i.pull_request !== undefined,
        url: i.html_url,
        updatedAt: i.updated_at,
      }));
      const nextPage = nextPageFrom(headers);
      const lines = issues.map((i) => {
        const labels = i.labels.length > 0 ? `, labels: ${i.labels.join(', ')}` : '';
        return `#${i.number} [${i.state}]${i.isPullRequest ? ' PR' : ''} ${i.title} — ${i.author ? `@${i.author}` : '(unknown)'}${labels}, ${count(i.comments, 'comment')}`;
      });
      const header = `${args.state === 'all' ? 'Issues' : `${args.state[0]!.toUpperCase()}${args.state.slice(1)} issues`} in ${owner}/${repo} (page ${args.page})`;
      const text = issues.length > 0 ? `${header}:\n${lines.join('\n')}${moreLine(nextPage)}` : `${header}: none.`;
      return textResult(text, { owner, repo, issues, ...(nextPage !== undefined && { nextPage }) });
    },
  );
}
