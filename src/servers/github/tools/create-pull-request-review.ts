import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { count, createAnnotations, pullNumberShape } from '../format.ts';

/** The most inline comments one review may carry here: a review is posted whole or not at all. */
const MAX_COMMENTS = 50;
const MAX_BODY = 65_536;

const VERBS = { APPROVE: 'Approved', REQUEST_CHANGES: 'Requested changes on', COMMENT: 'Commented on' } as const;

const commentShape = z.object({
  path: z.string().min(1).describe('A file the pull request changes, as get_pull_request_files names it.'),
  line: z.number().int().positive().describe('The line the comment is on, numbered as in the file; it must be within one of the diff’s hunks.'),
  side: z
    .enum(['RIGHT', 'LEFT'])
    .default('RIGHT')
    .describe('RIGHT: a line of the new version (added or unchanged); LEFT: a line of the old version (removed).'),
  body: z.string().min(1).max(MAX_BODY).describe('The comment, in Markdown.'),
});

/** Registers `create_pull_request_review`: approves a pull request, requests changes or comments, optionally on lines of its diff. */
export function registerCreatePullRequestReviewTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'create_pull_request_review',
      title: 'Review pull request',
      description:
        'Submits a review of a pull request: APPROVE, REQUEST_CHANGES or COMMENT, with a summary and optionally comments on ' +
        'lines of its diff (read them with get_pull_request_files first; a line outside the diff’s hunks is refused and then ' +
        'nothing is posted). Pass commitId, the head commit you reviewed (headSha from get_pull_request), so that a pull request ' +
        'changed since is not approved unseen. GitHub does not let the author of a pull request approve it or request changes on it.',
      inputSchema: z.object({
        ...ctx.repoShape,
        ...pullNumberShape,
        event: z.enum(['APPROVE', 'REQUEST_CHANGES', 'COMMENT']).describe('The verdict.'),
        body: z.string().max(MAX_BODY).optional().describe('The review’s summary, in Markdown; required to request changes, and to comment without line comments.'),
        commitId: z
          .string()
          .regex(/^[0-9a-f]{40}$/, 'must be a full 40-character commit SHA')
          .optional()
          .describe('The head commit you reviewed; the review is refused if the pull request has moved on since.'),
        comments: z.array(commentShape).max(MAX_COMMENTS).optional().describe(`Comments on lines of the diff, up to ${MAX_COMMENTS}.`),
      }),
      annotations: createAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const body = args.body?.trim() ? args.body : undefined;
      const comments = args.comments ?? [];
      if (args.event === 'REQUEST_CHANGES' && body === undefined) {
        throw new ToolError('Requesting changes needs a body saying what to change. Nothing was posted.');
      }
      if (args.event === 'COMMENT' && body === undefined && comments.length === 0) {
        throw new ToolError('A COMMENT review needs a body or at least one line comment. Nothing was posted.');
      }
      const subject = `pull request #${args.pullNumber} in ${owner}/${repo}`;
      if (args.commitId !== undefined) {
        const { data: pull } = await ctx.call(context, subject, (request) => ctx.client.rest.pulls.get({ owner, repo, pull_number: args.pullNumber, request }));
        if (pull.head.sha !== args.commitId) {
          throw new ToolError(
            `The pull request's head is now ${pull.head.sha.slice(0, 7)}, not ${args.commitId.slice(0, 7)}: it changed since you reviewed it. ` +
              'Read it again (get_pull_request, get_pull_request_files) before reviewing. Nothing was posted.',
          );
        }
      }
      const { data: review } = await ctx.call(context, subject, (request) =>
        ctx.client.rest.pulls.createReview({
          owner,
          repo,
          pull_number: args.pullNumber,
          event: args.event,
          ...(body !== undefined && { body }),
          ...(args.commitId !== undefined && { commit_id: args.commitId }),
          ...(comments.length > 0 && { comments: comments.map((c) => ({ path: c.path, line: c.line, side: c.side, body: c.body })) }),
          request,
        }),
      );
      const withComments = comments.length > 0 ? ` with ${count(comments.length, 'line comment')}` : '';
      return textResult(`${VERBS[args.event]} pull request #${args.pullNumber} in ${owner}/${repo}${withComments}.\n${review.html_url}`, {
        owner,
        repo,
        number: args.pullNumber,
        reviewId: review.id,
        state: review.state,
        commitId: review.commit_id,
        comments: comments.length,
        url: review.html_url,
      });
    },
  );
}
