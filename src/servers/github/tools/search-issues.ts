import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { isHttpError } from '../errors.ts';
import { count, moreLine, nextSearchPage, pageShape, readOnlyAnnotations, searchCapLine } from '../format.ts';
import { scopedQuery, scopeNote } from '../search-scope.ts';

/** Owner and name from a search item's `repository_url` (`…/repos/{owner}/{repo}`, also under GHES's `/api/v3`). */
function repoOf(repositoryUrl: string): { owner: string; repo: string } {
  const [owner = '', repo = ''] = new URL(repositoryUrl).pathname.split('/').slice(-2);
  return { owner, repo };
}

/** GitHub's 422 for a `repo:`, `org:` or `user:` qualifier naming something that does not exist or that the token cannot see. */
function isUnsearchable(error: unknown): boolean {
  if (!isHttpError(error) || error.status !== 422) return false;
  const errors = (error.response?.data as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && errors.some((e: { message?: unknown } | null) => typeof e?.message === 'string' && e.message.includes('cannot be searched'));
}

/** Registers `search_issues`: GitHub issue and pull request search across the repositories the token can see. */
export function registerSearchIssuesTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'search_issues',
      title: 'Search issues and pull requests',
      description:
        "Searches issues and pull requests with GitHub's search syntax, e.g. 'is:issue is:open label:bug repo:acme/widgets crash'. " +
        'The query must include is:issue or is:pr: GitHub refuses a query without one, so search twice to get both. ' +
        `Other qualifiers: repo:, org:, user:, author:, assignee:, label:, state:, in:title. Read a hit with get_issue.${scopeNote(ctx)}`,
      inputSchema: z.object({
        query: z
          .string()
          .trim()
          .min(1, 'must not be empty')
          .max(256)
          .describe("Search terms and qualifiers; must include is:issue or is:pr, e.g. 'is:pr is:open author:octocat'."),
        ...ctx.repoShape,
        sort: z.enum(['comments', 'reactions', 'created', 'updated']).optional().describe('Sort field; best match when omitted.'),
        order: z.enum(['desc', 'asc']).optional().describe('Sort direction (default desc); GitHub ignores it without sort.'),
        ...pageShape(20),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const q = scopedQuery(ctx, args.query, args);
      const { data } = await ctx.call(context, `issues matching '${q}'`, async (request) => {
        try {
          return await ctx.client.rest.search.issuesAndPullRequests({
            q,
            ...(args.sort && { sort: args.sort }),
            ...(args.order && { order: args.order }),
            per_page: args.perPage,
            page: args.page,
            request,
          });
        } catch (error) {
          if (isUnsearchable(error)) {
            throw new ToolError(
              `GitHub cannot search '${q}': a repository or user named by its repo:, org: or user: qualifiers does not exist or the token cannot see it. ` +
                'Check those names; search_repositories finds repositories.',
            );
          }
          throw error;
        }
      });
      const items = data.items.map((i) => ({
        ...repoOf(i.repository_url),
        number: i.number,
        title: i.title,
        state: i.state,
        isPullRequest: i.pull_request !== undefined,
        author: i.user?.login ?? null,
        url: i.html_url,
      }));
      const nextPage = nextSearchPage(args, items.length, data.total_count);
      const header = `${count(data.total_count, 'result')} for '${q}'${data.incomplete_results ? ' (incomplete: the search timed out)' : ''}`;
      const lines = items.map((i) => `${i.owner}/${i.repo}#${i.number} [${i.state}]${i.isPullRequest ? ' PR' : ''} ${i.title}`);
      return textResult(`${header}${items.length > 0 ? `:\n${lines.join('\n')}` : '.'}${searchCapLine(data.total_count)}${moreLine(nextPage)}`, {
        query: q,
        totalCount: data.total_count,
        incompleteResults: data.incomplete_results,
        items,
        ...(nextPage !== undefined && { nextPage }),
      });
    },
  );
}
