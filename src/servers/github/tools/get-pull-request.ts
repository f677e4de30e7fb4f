import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { count, login, MAX_BODY_CHARS, pullNumberShape, readOnlyAnnotations, truncate } from '../format.ts';

/** Registers `get_pull_request`: one pull request with branches, merge state, size and body. */
export function registerGetPullRequestTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'get_pull_request',
      title: 'Get pull request',
      description: 'Reads one pull request: title, state, branches, whether it is merged or mergeable, size of the change, and body.',
      inputSchema: z.object({
        ...ctx.repoShape,
        ...pullNumberShape,
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data: p } = await ctx.call(context, `pull request #${args.pullNumber} in ${owner}/${repo}`, (request) =>
        ctx.client.rest.pulls.get({ owner, repo, pull_number: args.pullNumber, request }),
      );
      const body = truncate(p.body ?? '', MAX_BODY_CHARS);
      const status = [p.merged ? 'merged' : p.state, ...(p.draft ? ['draft'] : [])].join(', ');
      const mergeable = p.merged ? '' : p.mergeable === null ? '; mergeability not computed yet' : p.mergeable ? '; mergeable' : '; has conflicts';
      const text =
        `Pull request #${p.number} [${status}] ${p.title}\n` +
        `by ${login(p.user)} on ${p.created_at}; ${p.head.ref} at ${p.head.sha} → ${p.base.ref}${mergeable}\n` +
        `${count(p.commits, 'commit')}, ${count(p.changed_files, 'file')} changed, +${p.additions} −${p.deletions}\n` +
        `${p.html_url}\n\n${body.text || '(no description)'}`;
      return textResult(text, {
        owner,
        repo,
        number: p.number,
        title: p.title,
        state: p.state,
        draft: p.draft ?? false,
        merged: p.merged,
        mergeable: p.mergeable,
        author: p.user.login,
        head: p.head.ref,
        headSha: p.head.sha,
        base: p.base.ref,
        commits: p.commits,
        additions: p.additions,
        deletions: p.deletions,
        changedFiles: p.changed_files,
        body: body.text,
        url: p.html_url,
        createdAt: p.created_at,
        mergedAt: p.merged_at,
      });
    },
  );
}
