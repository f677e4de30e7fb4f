import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { createAnnotations } from '../format.ts';

/** Registers `add_issue_comment`: comments on an issue or pull request. */
export function registerAddIssueCommentTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'add_issue_comment',
      title: 'Add issue comment',
      description: 'Adds a comment to an issue or pull request (pull requests take issue comments too). Each call posts another comment.',
      inputSchema: z.object({
        ...ctx.repoShape,
        issueNumber: z.number().int().positive().describe('The issue or pull request number.'),
        body: z.string().trim().min(1).max(65_536).describe('Comment text, in GitHub Markdown.'),
      }),
      annotations: createAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data: c } = await ctx.call(context, `issue #${args.issueNumber} in ${owner}/${repo}`, (request) =>
        ctx.client.rest.issues.createComment({ owner, repo, issue_number: args.issueNumber, body: args.body, request }),
      );
      return textResult(`Commented on #${args.issueNumber} in ${owner}/${repo}.\n${c.html_url}`, {
        owner,
        repo,
        issueNumber: args.issueNumber,
        commentId: c.id,
        url: c.html_url,
        createdAt: c.created_at,
      });
    },
  );
}
