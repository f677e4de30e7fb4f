import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { failureOf } from '../errors.ts';

/** Largest content written, in bytes of UTF-8: GitHub's contents API reads and serves files up to 1 MB. */
const MAX_CONTENT_BYTES = 1024 * 1024;

/** A write may replace a file, and repeating it with the same sha fails once the first has landed. */
const writeAnnotations = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true } as const;

/** Why `path` cannot name a file inside the repository; undefined when it can. */
function pathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'must not contain NUL characters';
  if (path.startsWith('/')) return "must be relative to the repository root, without a leading '/'";
  if (path.endsWith('/')) return "must name a file, not end with '/'";
  const parts = path.split('/');
  if (parts.includes('..')) return "must not contain '..' segments";
  if (parts.includes('.')) return "must not contain '.' segments";
  if (parts.includes('')) return "must not contain empty segments ('//')";
  return undefined;
}

/** Registers `create_or_update_file`: writes one text file to a branch with one commit. */
export function registerCreateOrUpdateFileTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'create_or_update_file',
      title: 'Create or update file',
      description:
        'Writes one text file to a branch as one commit: creates it, or replaces its whole content. To replace an existing file, ' +
        'pass sha, its current blob SHA as get_file_contents returns it (read on the same branch); without it, or with an outdated ' +
        'one, GitHub refuses and nothing is written. Writes to the default branch unless branch is given: to propose a change, ' +
        'create_branch first and create_pull_request after.',
      inputSchema: z.object({
        ...ctx.repoShape,
        path: z
          .string()
          .min(1)
          .max(1000)
          .superRefine((path, check) => {
            const problem = pathProblem(path);
            if (problem) check.addIssue({ code: 'custom', message: problem });
          })
          .describe("Path of the file inside the repository, e.g. 'docs/setup.md'."),
        content: z
          .string()
          .superRefine((content, check) => {
            const bytes = Buffer.byteLength(content, 'utf8');
            if (bytes > MAX_CONTENT_BYTES) check.addIssue({ code: 'custom', message: `is ${bytes} bytes of UTF-8; at most ${MAX_CONTENT_BYTES} (1 MB) can be written` });
          })
          .describe('The whole new content of the file, as text (it replaces the old content entirely).'),
        message: z
          .string()
          .max(65_536)
          .refine((message) => message.trim() !== '', 'must not be empty: say what the commit changes')
          .describe('Commit message.'),
        branch: z.string().min(1).max(255).optional().describe('Branch to commit to; it must exist. Defaults to the default branch.'),
        sha: z
          .string()
          .regex(/^[0-9a-f]{40}$/, "must be the file's 40-character blob SHA, as get_file_contents returns it")
          .optional()
          .describe('Blob SHA of the file being replaced (sha from get_file_contents); required to replace an existing file, left out to create one.'),
      }),
      annotations: writeAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const where = `${owner}/${repo}`;
      const branch =
        args.branch ?? (await ctx.call(context, `repository ${where}`, (request) => ctx.client.rest.repos.get({ owner, repo, request }))).data.default_branch;
      const response = await ctx.call(context, `repository ${where}`, async (request) => {
        try {
          return await ctx.client.rest.repos.createOrUpdateFileContents({
            owner,
            repo,
            path: args.path,
            message: args.message,
            content: Buffer.from(args.content, 'utf8').toString('base64'),
            branch,
            ...(args.sha !== undefined && { sha: args.sha }),
            request,
          });
        } catch (error) {
          const failure = failureOf(error);
          if (failure?.status === 422 && failure.message.includes('"sha" wasn\'t supplied')) {
            throw new ToolError(
              `${args.path} already exists on ${branch} in ${where}; nothing was written. To replace it, read it with get_file_contents ` +
                `(ref '${branch}') and pass the sha it returns.`,
            );
          }
          if (failure?.status === 409 && failure.message.includes('does not match')) {
            throw new ToolError(
              `${args.path} on ${branch} in ${where} is not at blob ${args.sha?.slice(0, 7)} any more (changed, moved or deleted since it was read); ` +
                `nothing was written. Read it again with get_file_contents (ref '${branch}'), make your change to what it holds now, and pass the new sha.`,
            );
          }
          if (failure?.status === 404 && /^Branch .* not found$/.test(failure.message)) {
            throw new ToolError(`Branch '${branch}' not found in ${where}; nothing was written. Create it with create_branch first, or pick one from list_branches.`);
          }
          throw error;
        }
      });
      const created = response.status === 201;
      const sha = response.data.content?.sha ?? null;
      const commit = response.data.commit.sha ?? null;
      const url = response.data.content?.html_url;
      const text = `${created ? 'Created' : 'Updated'} ${args.path} on ${branch} in ${where} with commit ${commit?.slice(0, 7) ?? '(unknown)'}${sha ? `; its blob sha is now ${sha} (pass it as sha to replace the file again)` : ''}.${url ? `\n${url}` : ''}`;
      return textResult(text, { owner, repo, path: args.path, branch, created, sha, commit, url: url ?? null });
    },
  );
}
