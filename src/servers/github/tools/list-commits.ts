import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { firstLine, moreLine, nextPageFrom, pageShape, readOnlyAnnotations, truncate } from '../format.ts';

/** The most of each commit's message listed (get_commit shows more), and of its first line in the text. */
const MAX_MESSAGE_CHARS = 2_000;
const MAX_SUMMARY_CHARS = 200;

/** Registers `list_commits`: a branch's history, newest first. */
export function registerListCommitsTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'list_commits',
      title: 'List commits',
      description:
        'Lists commits on a branch (the default branch unless sha is given), newest first, optionally only those touching a path or by an author. ' +
        `Each message is cut at ${MAX_MESSAGE_CHARS} characters; get_commit shows more of one.`,
      inputSchema: z.object({
        ...ctx.repoShape,
        sha: z.string().min(1).max(255).optional().describe('Branch, tag or commit SHA to start from. Defaults to the default branch.'),
        path: z.string().min(1).max(1000).optional().describe('Only commits touching this file or directory.'),
        author: z.string().min(1).max(255).optional().describe('Only commits by this GitHub login or email address.'),
        ...pageShape(30),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { owner, repo } = ctx.resolveRepo(args);
      const subject = args.sha ? `ref '${args.sha}' in ${owner}/${repo}` : `repository ${owner}/${repo}`;
      const { data, headers } = await ctx.call(context, subject, (request) =>
        ctx.client.rest.repos.listCommits({
          owner,
          repo,
          ...(args.sha && { sha: args.sha }),
          ...(args.path && { path: args.path }),
          ...(args.author && { author: args.author }),
          per_page: args.perPage,
          page: args.page,
          request,
        }),
      );
      const commits = data.map((c) => ({
        sha: c.sha,
        message: truncate(c.commit.message, MAX_MESSAGE_CHARS).text,
        author: c.author?.login ?? c.commit.author?.name ?? null,
        date: c.commit.author?.date ?? null,
        url: c.html_url,
      }));
      const nextPage = nextPageFrom(headers);
      const summary = (message: string) => {
        const line = firstLine(message);
        return line.length > MAX_SUMMARY_CHARS ? `${line.slice(0, MAX_SUMMARY_CHARS)}…` : line;
      };
      const lines = commits.map((c) => `${c.sha} ${c.date?.slice(0, 10) ?? ''} ${c.author ?? '(unknown)'}: ${summary(c.message)}`);
      const header = `Commits in ${owner}/${repo}${args.sha ? `@${args.sha}` : ''}${args.path ? ` touching ${args.path}` : ''} (page ${args.page})`;
      const text = commits.length > 0 ? `${header}:\n${lines.join('\n')}${moreLine(nextPage)}` : `${header}: none.`;
      return textResult(text, { owner, repo, commits, ...(nextPage !== undefined && { nextPage }) });
    },
  );
}
