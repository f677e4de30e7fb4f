import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { count, labelNames, login, MAX_BODY_CHARS, readOnlyAnnotations, truncate } from '../format.ts';

/** Registers `get_issue`: one issue with its body. */
export function registerGetIssueTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'get_issue',
      title: 'Get issue',
      description: 'Reads one issue: title, state, author, labels, assignees, comment count and body.',
      inputSchema: z.object({
        ...ctx.repoShape,
        issueNumber: z.number().int().positive().describe('The issue number, as in #123.'),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data: i } = await ctx.call(context, `issue #${args.issueNumber} in ${owner}/${repo}`, (request) =>
        ctx.client.rest.issues.get({ owner, repo, issue_number: args.issueNumber, request }),
      );
      const labels = labelNames(i.labels);
      const assignees = (i.assignees ?? []).map((a) => a.login);
      const body = truncate(i.body ?? '', MAX_BODY_CHARS);
      const facts = [
        `by ${login(i.user)} on ${i.created_at}`,
        ...(labels.length > 0 ? [`labels: ${labels.join(', ')}`] : []),
        ...(assignees.length > 0 ? [`assignees: ${assignees.map((a) => `@${a}`).join(', ')}`] : []),
        count(i.comments, 'comment'),
      ];
      const kind = i.pull_request ? 'Pull request' : 'Issue';
      const text = `${kind} #${i.number} [${i.state}] ${i.title}\n${facts.join('; ')}\n${i.html_url}\n\n${body.text || '(no description)'}`;
      return textResult(text, {
        owner,
        repo,
        number: i.number,
        title: i.title,
        state: i.state,
        author: i.user?.login ?? null,
        labels,
        assignees,
        comments: i.comments,
        isPullRequest: i.pull_request !== undefined,
        body: body.text,
        url: i.html_url,
        createdAt: i.created_at,
        updatedAt: i.updated_at,
        closedAt: i.closed_at,
      });
    },
  );
}
