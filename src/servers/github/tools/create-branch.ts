import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError, type ToolCallContext } from '../../tool-source.ts';
import type { GithubToolContext, RepoRef } from '../context.ts';
import { failureOf } from '../errors.ts';
import { createAnnotations } from '../format.ts';

const FULL_SHA = /^[0-9a-f]{40}$/i;
const SHORT_SHA = /^[0-9a-f]{7,39}$/i;

/** Why git, and so GitHub, would refuse `name` as a branch name; undefined when it is acceptable. */
function branchNameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.length > 255) return `must be at most 255 characters (it has ${name.length})`;
  // oxlint-disable-next-line no-control-regex -- spaces and control characters are what is refused
  if (/[\x00-\x20\x7f]/.test(name)) return 'must not contain spaces or control characters';
  const special = /[~^:?*[\\]/.exec(name)?.[0];
  if (special) return `must not contain '${special}'`;
  if (name.includes('..')) return "must not contain '..'";
  if (name.includes('//')) return "must not contain '//'";
  if (name.includes('@{')) return "must not contain '@{'";
  if (name === '@') return "must not be '@'";
  if (name.startsWith('-')) return "must not start with '-'";
  if (name.startsWith('/')) return "must not start with '/'";
  if (name.startsWith('refs/')) return "must be the branch name alone, without 'refs/heads/'";
  if (name.endsWith('/')) return "must not end with '/'";
  if (name.endsWith('.')) return "must not end with '.'";
  if (name.endsWith('.lock')) return "must not end with '.lock'";
  if (name.split('/').some((part) => part.startsWith('.'))) return "must not have a part (between '/') starting with '.'";
  if (name.split('/').some((part) => part.endsWith('.lock'))) return "must not have a part (between '/') ending with '.lock'";
  return undefined;
}

function branchName(description: string) {
  return z
    .string()
    .superRefine((name, check) => {
      const problem = branchNameProblem(name);
      if (problem) check.addIssue({ code: 'custom', message: problem });
    })
    .describe(description);
}

/** Where the new branch starts. */
interface Source {
  kind: 'branch' | 'commit';
  /** The branch name, or the commit SHA as given. */
  name: string;
  sha: string;
}

/** The commit `from` names: a full SHA as given (GitHub checks it exists), else the head of that branch, the default branch when absent. */
async function resolveSource(ctx: GithubToolContext, context: ToolCallContext, { owner, repo }: RepoRef, from: string | undefined): Promise<Source> {
  if (from !== undefined && FULL_SHA.test(from)) return { kind: 'commit', name: from.toLowerCase(), sha: from.toLowerCase() };
  const source =
    from ??
    (await ctx.call(context, `repository ${owner}/${repo}`, (request) => ctx.client.rest.repos.get({ owner, repo, request }))).data.default_branch;
  const { data } = await ctx.call(context, `branch '${source}' in ${owner}/${repo}`, async (request) => {
    try {
      return await ctx.client.rest.git.getRef({ owner, repo, ref: `heads/${source}`, request });
    } catch (error) {
      if (failureOf(error)?.status !== 404) throw error;
      throw new ToolError(
        `Source branch '${source}' not found in ${owner}/${repo} (or the token cannot see the repository); no branch was created. list_branches shows its branches.`,
      );
    }
  });
  return { kind: 'branch', name: source, sha: data.object.sha };
}

/** Registers `create_branch`: a new branch at the head of another branch or at a commit. */
export function registerCreateBranchTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'create_branch',
      title: 'Create branch',
      description:
        "Creates a branch in a repository, starting at the head of another branch (the repository's default branch unless from is given) " +
        'or at a commit (from as a full 40-character SHA, as list_commits returns it). Use it before create_or_update_file to make ' +
        'changes away from the default branch, then create_pull_request to propose them. An existing branch is never moved.',
      inputSchema: z.object({
        ...ctx.repoShape,
        branch: branchName("Name of the new branch, e.g. 'fix/login-crash'; git's branch name rules apply."),
        from: z
          .string()
          .min(1)
          .superRefine((from, check) => {
            if (SHORT_SHA.test(from)) {
              check.addIssue({ code: 'custom', message: 'looks like an abbreviated commit SHA; GitHub needs the full 40-character SHA (list_commits returns it)' });
              return;
            }
            const problem = FULL_SHA.test(from) ? undefined : branchNameProblem(from);
            if (problem) check.addIssue({ code: 'custom', message: `is not a possible branch name: it ${problem}` });
          })
          .optional()
          .describe('Branch to start from, or a full 40-character commit SHA. Defaults to the default branch.'),
      }),
      annotations: createAnnotations,
    },
    async (args, context) => {
      const where = ctx.resolveRepo(args);
      const { owner, repo } = where;
      const source = await resolveSource(ctx, context, where, args.from);
      const { data } = await ctx.call(context, `repository ${owner}/${repo}`, async (request) => {
        try {
          return await ctx.client.rest.git.createRef({ owner, repo, ref: `refs/heads/${args.branch}`, sha: source.sha, request });
        } catch (error) {
          const failure = failureOf(error);
          if (failure?.status === 422 && failure.message === 'Reference already exists') {
            throw new ToolError(`Branch '${args.branch}' already exists in ${owner}/${repo}; nothing was changed. Pick another name, or use the existing branch.`);
          }
          if (failure?.status === 422 && failure.message === 'Reference update failed') {
            throw new ToolError(
              `GitHub could not create branch '${args.branch}' in ${owner}/${repo} (422 Reference update failed); nothing was changed. ` +
                "Git cannot hold both 'a' and 'a/b' as branches: check list_branches for one whose name contains this one, or is contained in it, and pick another name.",
            );
          }
          if (failure?.status === 422 && failure.message === 'Object does not exist') {
            throw new ToolError(`Commit ${source.sha} does not exist in ${owner}/${repo}; no branch was created. list_commits shows its commits.`);
          }
          throw error;
        }
      });
      const sha = data.object.sha;
      const from = source.kind === 'commit' ? `commit ${source.name.slice(0, 7)}` : `branch ${source.name}`;
      return textResult(`Created branch ${args.branch} in ${owner}/${repo} at ${sha.slice(0, 7)}, from ${from}.`, {
        owner,
        repo,
        branch: args.branch,
        sha,
        from: source.name,
      });
    },
  );
}
