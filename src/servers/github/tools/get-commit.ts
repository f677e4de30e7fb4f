import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { failureOf } from '../errors.ts';
import { changedFiles, describeChangedFiles, MAX_PATCH_CHARS, MAX_PATCHES_CHARS } from '../changed-files.ts';
import { MAX_BODY_CHARS, moreLine, nextPageFrom, readOnlyAnnotations, truncate } from '../format.ts';

/** GitHub answers an unknown ref with 422 "No commit found for SHA: <ref>", which reads better said plainly. */
function isUnknownRef(error: unknown): boolean {
  const failure = failureOf(error);
  return failure?.status === 422 && failure.message.startsWith('No commit found');
}

/** Registers `get_commit`: one commit with its message, stats and changed files. */
export function registerGetCommitTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'get_commit',
      title: 'Get commit',
      description:
        'Reads one commit by SHA or branch name (a branch gives its newest commit): message, author, date, parents, ' +
        'lines added and removed, and the files it changed, each with its status and, unless includePatch is false, ' +
        `its unified diff (cut at ${MAX_PATCH_CHARS} characters per file and ${MAX_PATCHES_CHARS} per page). ` +
        'GitHub lists up to 300 files per page. Find SHAs with list_commits.',
      inputSchema: z.object({
        ...ctx.repoShape,
        ref: z
          .string()
          .min(1)
          .max(255)
          .refine((r) => r !== '.' && r !== '..', "must not be '.' or '..'")
          .describe('Commit SHA (full or abbreviated), branch or tag name.'),
        includePatch: z.boolean().default(true).describe('Include each file’s diff (default true); false lists the files only.'),
        page: z.number().int().min(1).default(1).describe('Page of the changed files, starting at 1.'),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const { data: c, headers } = await ctx.call(context, `commit '${args.ref}' in ${owner}/${repo}`, async (request) => {
        try {
          return await ctx.client.rest.repos.getCommit({ owner, repo, ref: args.ref, page: args.page, request });
        } catch (error) {
          if (isUnknownRef(error)) {
            throw new ToolError(`No commit found for ref '${args.ref}' in ${owner}/${repo}. Pass a commit SHA (see list_commits) or a branch name (see list_branches).`);
          }
          throw error;
        }
      });
      const files = changedFiles(c.files ?? [], args.includePatch);
      const authorLogin = c.author && 'login' in c.author ? c.author.login : undefined;
      const author = authorLogin ?? c.commit.author?.name ?? null;
      const date = c.commit.author?.date ?? null;
      const parents = c.parents.map((p) => p.sha);
      const stats = { additions: c.stats?.additions ?? 0, deletions: c.stats?.deletions ?? 0, total: c.stats?.total ?? 0 };
      const message = truncate(c.commit.message, MAX_BODY_CHARS).text;
      const nextPage = nextPageFrom(headers);

      const byline = `by ${c.commit.author?.name ?? '(unknown)'}${authorLogin ? ` (@${authorLogin})` : ''}${date ? ` on ${date}` : ''}`;
      const parentLine = parents.length > 0 ? `parents: ${parents.map((p) => p.slice(0, 7)).join(', ')}` : 'no parents (a root commit)';
      const filesHeader = `Files changed (page ${args.page})`;
      const filesText = files.length > 0 ? `${filesHeader}:\n${describeChangedFiles(files, args.includePatch)}` : `${filesHeader}: none.`;
      const text =
        `Commit ${c.sha} in ${owner}/${repo}\n${byline}; ${parentLine}\n+${stats.additions} −${stats.deletions} (${stats.total} lines changed)\n${c.html_url}\n\n` +
        `${message}\n\n${filesText}${moreLine(nextPage)}`;
      return textResult(text, {
        owner,
        repo,
        sha: c.sha,
        message,
        author,
        date,
        parents,
        stats,
        files,
        url: c.html_url,
        ...(nextPage !== undefined && { nextPage }),
      });
    },
  );
}
