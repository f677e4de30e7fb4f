import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { MAX_BODY_CHARS, moreLine, nextPageFrom, pageShape, pullNumberShape, readOnlyAnnotations, truncate } from '../format.ts';

/** The most of all the page's review bodies together; each one is also cut at MAX_BODY_CHARS. */
const MAX_PAGE_CHARS = 60_000;

const VERDICTS: Record<string, string> = {
  APPROVED: 'approved',
  CHANGES_REQUESTED: 'requested changes',
  COMMENTED: 'commented',
  DISMISSED: 'dismissed',
  PENDING: 'pending (not submitted)',
};

/** Registers `list_pull_request_reviews`: who approved a pull request or asked for changes, oldest first. */
export function registerListPullRequestReviewsTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'list_pull_request_reviews',
      title: 'List pull request reviews',
      description:
        'Lists the reviews of a pull request, oldest first: who approved it, requested changes or commented, on which commit, ' +
        `and what they wrote (each cut at ${MAX_BODY_CHARS} characters). A reviewer's latest review is their standing verdict; ` +
        'one given on an older commit may not cover what was pushed since.',
      inputSchema: z.object({
        ...ctx.repoShape,
        ...pullNumberShape,
        ...pageShape(30),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data, headers } = await ctx.call(context, `pull request #${args.pullNumber} in ${owner}/${repo}`, (request) =>
        ctx.client.rest.pulls.listReviews({ owner, repo, pull_number: args.pullNumber, per_page: args.perPage, page: args.page, request }),
      );
      let budget = MAX_PAGE_CHARS;
      const reviews = data.map((r) => {
        const cut = truncate(r.body, Math.max(0, Math.min(MAX_BODY_CHARS, budget)));
        budget -= cut.text.length;
        return {
          id: r.id,
          author: r.user?.login ?? null,
          state: r.state,
          commitId: r.commit_id,
          submittedAt: r.submitted_at ?? null,
          body: cut.text,
          url: r.html_url,
        };
      });
      const nextPage = nextPageFrom(headers);
      const header = `Reviews of pull request #${args.pullNumber} in ${owner}/${repo} (page ${args.page})`;
      const blocks = reviews.map((r) => {
        const verdict = VERDICTS[r.state] ?? r.state.toLowerCase();
        const on = r.commitId ? ` on ${r.commitId.slice(0, 7)}` : '';
        return `${r.author ? `@${r.author}` : '(unknown)'} ${verdict}${on}${r.submittedAt ? ` at ${r.submittedAt}` : ''}${r.body ? `:\n${r.body}` : ''}`;
      });
      const text = reviews.length > 0 ? `${header}:\n\n${blocks.join('\n\n')}${moreLine(nextPage)}` : `${header}: none.`;
      return textResult(text, { owner, repo, pullNumber: args.pullNumber, reviews, ...(nextPage !== undefined && { nextPage }) });
    },
  );
}
