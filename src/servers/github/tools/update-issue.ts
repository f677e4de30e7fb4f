import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { labelNames, updateAnnotations } from '../format.ts';

const CHANGES = ['title', 'body', 'state', 'labels', 'assignees'] as const;

/** Registers `update_issue`: edits, closes or reopens an issue (or a pull request's issue fields). */
export function registerUpdateIssueTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'update_issue',
      title: 'Update issue',
      description:
        'Changes an existing issue: its title or body, closes or reopens it (state, with stateReason "completed" or ' +
        '"not_planned" when closing), or sets its labels or assignees, which replace the current ones (read them with ' +
        'get_issue first to add to them). Fields left out stay as they are. Works on pull requests too, for these fields.',
      inputSchema: z
        .object({
          ...ctx.repoShape,
          issueNumber: z.number().int().positive().describe('The issue number, as in #123.'),
          title: z.string().trim().min(1).max(256).optional().describe('New title.'),
          body: z.string().max(65_536).optional().describe('New description, in GitHub Markdown; replaces the old one.'),
          state: z.enum(['open', 'closed']).optional().describe('"closed" to close the issue, "open" to reopen it.'),
          stateReason: z.enum(['completed', 'not_planned', 'reopened']).optional().describe('Why it was closed or reopened.'),
          labels: z.array(z.string().min(1)).max(20).optional().describe('The labels it should have, replacing the current ones; [] removes all.'),
          assignees: z.array(z.string().min(1)).max(10).optional().describe('The logins it should be assigned to, replacing the current ones; [] unassigns all.'),
        })
        .refine((args) => CHANGES.some((field) => args[field] !== undefined), {
          message: `give at least one of ${CHANGES.join(', ')} to change`,
        }),
      annotations: updateAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data: i } = await ctx.call(context, `issue #${args.issueNumber} in ${owner}/${repo}`, (request) =>
        ctx.client.rest.issues.update({
          owner,
          repo,
          issue_number: args.issueNumber,
          ...(args.title !== undefined && { title: args.title }),
          ...(args.body !== undefined && { body: args.body }),
          ...(args.state !== undefined && { state: args.state }),
          ...(args.stateReason !== undefined && { state_reason: args.stateReason }),
          ...(args.labels !== undefined && { labels: args.labels }),
          ...(args.assignees !== undefined && { assignees: args.assignees }),
          request,
        }),
      );
      const labels = labelNames(i.labels);
      const assignees = (i.assignees ?? []).map((a) => a.login);
      return textResult(`Updated #${i.number} in ${owner}/${repo} [${i.state}]: ${i.title}\n${i.html_url}`, {
        owner,
        repo,
        number: i.number,
        title: i.title,
        state: i.state,
        labels,
        assignees,
        url: i.html_url,
      });
    },
  );
}
