import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { createAnnotations } from '../format.ts';

/** Registers `create_pull_request`: opens a pull request from an existing branch. */
export function registerCreatePullRequestTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'create_pull_request',
      title: 'Create pull request',
      description:
        'Opens a pull request proposing to merge the head branch into the base branch. Both branches must already exist and differ. ' +
        'Check list_pull_requests first: GitHub refuses a second open pull request for the same branches.',
      inputSchema: z.object({
        ...ctx.repoShape,
        title: z.string().trim().min(1).max(256).describe('Pull request title.'),
        head: z.string().min(1).max(255).describe("Branch with the changes; 'user:branch' for a fork."),
        base: z.string().min(1).max(255).describe("Branch to merge into, e.g. 'main'."),
        body: z.string().max(65_536).optional().describe('Description, in GitHub Markdown.'),
        draft: z.boolean().default(false).describe('Open as a draft.'),
      }),
      annotations: createAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data: p } = await ctx.call(context, `repository ${owner}/${repo}`, (request) =>
        ctx.client.rest.pulls.create({
          owner,
          repo,
          title: args.title,
          head: args.head,
          base: args.base,
          draft: args.draft,
          ...(args.body !== undefined && { body: args.body }),
          request,
        }),
      );
      const draft = p.draft ? 'draft ' : '';
      return textResult(`Created ${draft}pull request #${p.number} in ${owner}/${repo} (${p.head.ref} → ${p.base.ref}): ${p.title}\n${p.html_url}`, {
        owner,
        repo,
        number: p.number,
        title: p.title,
        state: p.state,
        draft: p.draft ?? false,
        head: p.head.ref,
        base: p.base.ref,
        url: p.html_url,
      });
    },
  );
}
