import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { MAX_BODY_CHARS, moreLine, nextPageFrom, pageShape, readOnlyAnnotations, truncate } from '../format.ts';

/** The most of all the page's comment bodies together; each one is also cut at MAX_BODY_CHARS. */
const MAX_PAGE_CHARS = 60_000;

/** Registers `list_issue_comments`: an issue's or pull request's conversation, oldest first. */
export function registerListIssueCommentsTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'list_issue_comments',
      title: 'List issue comments',
      description:
        'Lists the comments on an issue or pull request, oldest first, with author, date and text ' +
        `(each comment cut at ${MAX_BODY_CHARS} characters, a page at ${MAX_PAGE_CHARS}). ` +
        'get_issue reads the opening post; review comments on a pull request’s diff are not included.',
      inputSchema: z.object({
        ...ctx.repoShape,
        issueNumber: z.number().int().positive().describe('The issue or pull request number, as in #123.'),
        since: z.iso
          .datetime({ offset: true, error: 'must be an ISO 8601 timestamp such as 2025-01-31T12:00:00Z' })
          .optional()
          .describe('Only comments created or edited at or after this time (ISO 8601, e.g. 2025-01-31T12:00:00Z).'),
        ...pageShape(30),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data, headers } = await ctx.call(context, `issue #${args.issueNumber} in ${owner}/${repo}`, (request) =>
        ctx.client.rest.issues.listComments({
          owner,
          repo,
          issue_number: args.issueNumber,
          ...(args.since && { since: args.since }),
          per_page: args.perPage,
          page: args.page,
          request,
        }),
      );
      let budget = MAX_PAGE_CHARS;
      let pageCut = false;
      const comments = data.map((c) => {
        const text = c.body ?? '';
        const limit = Math.max(0, Math.min(MAX_BODY_CHARS, budget));
        const cut = truncate(text, limit);
        if (cut.truncated && limit < MAX_BODY_CHARS) pageCut = true;
        budget -= cut.text.length;
        return { id: c.id, author: c.user?.login ?? null, createdAt: c.created_at, updatedAt: c.updated_at, body: cut.text, url: c.html_url };
      });
      const nextPage = nextPageFrom(headers);
      const header = `Comments on #${args.issueNumber} in ${owner}/${repo}${args.since ? ` since ${args.since}` : ''} (page ${args.page})`;
      const blocks = comments.map((c) => {
        const edited = c.updatedAt !== c.createdAt ? ` (edited ${c.updatedAt})` : '';
        return `${c.author ? `@${c.author}` : '(unknown)'} on ${c.createdAt}${edited}:\n${c.body || '(empty)'}`;
      });
      const cutNote = pageCut ? `\nThis page reached ${MAX_PAGE_CHARS} characters and later comments were cut: call again with a smaller perPage to read them whole.` : '';
      const text = comments.length > 0 ? `${header}:\n\n${blocks.join('\n\n')}${cutNote}${moreLine(nextPage)}` : `${header}: none.`;
      return textResult(text, {
        owner,
        repo,
        issueNumber: args.issueNumber,
        comments,
        pageTruncated: pageCut,
        ...(nextPage !== undefined && { nextPage }),
      });
    },
  );
}
