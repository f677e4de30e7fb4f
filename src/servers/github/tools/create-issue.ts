import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { createAnnotations } from '../format.ts';

/** Registers `create_issue`: opens a new issue. */
export function registerCreateIssueTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'create_issue',
      title: 'Create issue',
      description:
        'Opens a new issue in a repository. Each call creates another issue, so check with list_issues first when a duplicate is possible.',
      inputSchema: z.object({
        ...ctx.repoShape,
        title: z.string().trim().min(1).max(256).describe('Issue title.'),
        body: z.string().max(65_536).optional().describe('Issue description, in GitHub Markdown.'),
        labels: z.array(z.string().min(1)).max(20).optional().describe('Label names to apply.'),
        assignees: z.array(z.string().min(1)).max(10).optional().describe('Logins of users to assign.'),
      }),
      annotations: createAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data: i } = await ctx.call(context, `repository ${owner}/${repo}`, (request) =>
        ctx.client.rest.issues.create({
          owner,
          repo,
          title: args.title,
          ...(args.body !== undefined && { body: args.body }),
          ...(args.labels && { labels: args.labels }),
          ...(args.assignees && { assignees: args.assignees }),
          request,
        }),
      );
      return textResult(`Created issue #${i.number} in ${owner}/${repo}: ${i.title}\n${i.html_url}`, {
        owner,
        repo,
        number: i.number,
        title: i.title,
        state: i.state,
        url: i.html_url,
      });
    },
  );
}
