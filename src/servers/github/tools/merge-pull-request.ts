import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { failureOf } from '../errors.ts';
import { pullNumberShape } from '../format.ts';

/** Merging changes the base branch for everyone and cannot be undone from here; repeating it fails. */
const mergeAnnotations = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true } as const;

/** Registers `merge_pull_request`: merges an open pull request into its base branch. */
export function registerMergePullRequestTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'merge_pull_request',
      title: 'Merge pull request',
      description:
        'Merges an open pull request into its base branch, with a merge commit ("merge", the default), as one squashed ' +
        'commit ("squash") or rebased ("rebase"). Pass sha, the head commit get_pull_request showed, so that a pull ' +
        'request changed since you read it is not merged. A merge cannot be undone from here.',
      inputSchema: z.object({
        ...ctx.repoShape,
        ...pullNumberShape,
        mergeMethod: z.enum(['merge', 'squash', 'rebase']).default('merge').describe('How to merge; "merge" unless the repository prefers another.'),
        sha: z
          .string()
          .regex(/^[0-9a-f]{40}$/, 'must be a full 40-character commit SHA')
          .optional()
          .describe('The head commit the merge must match (headSha from get_pull_request).'),
        commitTitle: z.string().min(1).max(256).optional().describe('Title of the merge or squash commit; GitHub’s default when omitted.'),
        commitMessage: z.string().max(65_536).optional().describe('Message body of the merge or squash commit.'),
      }),
      annotations: mergeAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data } = await ctx.call(context, `pull request #${args.pullNumber} in ${owner}/${repo}`, async (request) => {
        try {
          return await ctx.client.rest.pulls.merge({
            owner,
            repo,
            pull_number: args.pullNumber,
            merge_method: args.mergeMethod,
            ...(args.sha !== undefined && { sha: args.sha }),
            ...(args.commitTitle !== undefined && { commit_title: args.commitTitle }),
            ...(args.commitMessage !== undefined && { commit_message: args.commitMessage }),
            request,
          });
        } catch (error) {
          // GitHub's 405 says only that it will not merge ("Pull Request is not mergeable"), or which rule stops it.
          const failure = failureOf(error);
          if (failure?.status !== 405) throw error;
          throw new ToolError(
            `Pull request #${args.pullNumber} in ${owner}/${repo} was not merged (405: ${failure.message.slice(0, 1_000) || 'Method Not Allowed'}). ` +
              'It may be closed or merged already, conflict with its base branch, lack the approvals or passing checks its branch protection ' +
              `requires, or the repository may not allow "${args.mergeMethod}" merges. get_pull_request shows whether it is mergeable, ` +
              'get_pull_request_status its checks.',
          );
        }
      });
      return textResult(`Merged pull request #${args.pullNumber} in ${owner}/${repo} (${args.mergeMethod}) as ${data.sha.slice(0, 7)}: ${data.message}`, {
        owner,
        repo,
        number: args.pullNumber,
        merged: data.merged,
        sha: data.sha,
        mergeMethod: args.mergeMethod,
      });
    },
  );
}
