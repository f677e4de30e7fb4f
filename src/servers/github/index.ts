import type { Logger } from '../../shared/logger.ts';
import type { OutboundFetch } from '../outbound.ts';
import { createToolRegistry } from '../tool-registry.ts';
import type { ToolSource } from '../tool-source.ts';
import { createAttemptLog } from './attempts.ts';
import { createGithubClient } from './client.ts';
import { createGithubToolContext, NAME_PATTERN } from './context.ts';
import { failureOf } from './errors.ts';
import { registerAddIssueCommentTool } from './tools/add-issue-comment.ts';
import { registerCreateBranchTool } from './tools/create-branch.ts';
import { registerCreateIssueTool } from './tools/create-issue.ts';
import { registerCreateOrUpdateFileTool } from './tools/create-or-update-file.ts';
import { registerCreatePullRequestReviewTool } from './tools/create-pull-request-review.ts';
import { registerCreatePullRequestTool } from './tools/create-pull-request.ts';
import { registerGetCommitTool } from './tools/get-commit.ts';
import { registerGetFileContentsTool } from './tools/get-file-contents.ts';
import { registerGetIssueTool } from './tools/get-issue.ts';
import { registerGetPullRequestFilesTool } from './tools/get-pull-request-files.ts';
import { registerGetPullRequestStatusTool } from './tools/get-pull-request-status.ts';
import { registerGetPullRequestTool } from './tools/get-pull-request.ts';
import { registerListBranchesTool } from './tools/list-branches.ts';
import { registerListCommitsTool } from './tools/list-commits.ts';
import { registerListIssueCommentsTool } from './tools/list-issue-comments.ts';
import { registerListIssuesTool } from './tools/list-issues.ts';
import { registerListPullRequestReviewsTool } from './tools/list-pull-request-reviews.ts';
import { registerListPullRequestsTool } from './tools/list-pull-requests.ts';
import { registerMergePullRequestTool } from './tools/merge-pull-request.ts';
import { registerSearchCodeTool } from './tools/search-code.ts';
import { registerSearchIssuesTool } from './tools/search-issues.ts';
import { registerSearchRepositoriesTool } from './tools/search-repositories.ts';
import { registerUpdateIssueTool } from './tools/update-issue.ts';

/** Configuration of one `github` server: one token, optional default repository. */
export interface GithubSourceOptions {
  /** A personal access token or installation token; sent only to `baseUrl`. */
  token: string;
  /** Default repository owner for tools called without one. */
  owner?: string;
  /** Default repository name for tools called without one. */
  repo?: string;
  /** REST API root: `https://api.github.com` (default) or `https://<host>/api/v3` for GitHub Enterprise Server. */
  baseUrl?: string;
  /** Makes every request: the operator's policy-checked fetch, so `baseUrl` reaches only allowed addresses. */
  fetch: OutboundFetch;
  /** Prefix of the User-Agent header GitHub requires; defaults to `botgate`. */
  userAgent?: string;
  /** Longest wait for a rate-limit reset that is retried (once); later resets are reported to the model. Default 10 s. */
  retryAfterCapMs?: number;
  /** Per-request limit, including any retry wait; default 30 s. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

/**
 * The built-in `github` server: repository, issue, pull request, commit and
 * search tools over GitHub's REST API with one token.
 */
export function createGithubSource(options: GithubSourceOptions): ToolSource {
  if (options.token.trim() === '') throw new Error('github source: token must not be empty');
  for (const [field, value] of [['owner', options.owner], ['repo', options.repo]] as const) {
    if (value !== undefined && !NAME_PATTERN.test(value)) throw new Error(`github source: ${field} '${value}' is not a valid GitHub name`);
  }
  const baseUrl = (options.baseUrl ?? 'https://api.github.com').replace(/\/+$/, '');
  const attempts = createAttemptLog();
  const client = createGithubClient({
    token: options.token,
    baseUrl,
    userAgent: options.userAgent ?? 'botgate',
    fetch: options.fetch,
    retryAfterCapMs: options.retryAfterCapMs ?? 10_000,
    attempts,
    ...(options.logger && { logger: options.logger.child({ component: 'github' }) }),
  });
  const ctx = createGithubToolContext({
    client,
    token: options.token,
    baseUrl,
    owner: options.owner,
    repo: options.repo,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    attempts,
  });
  const registry = createToolRegistry();
  registerGetFileContentsTool(registry, ctx);
  registerSearchCodeTool(registry, ctx);
  registerSearchRepositoriesTool(registry, ctx);
  registerSearchIssuesTool(registry, ctx);
  registerListIssuesTool(registry, ctx);
  registerGetIssueTool(registry, ctx);
  registerListIssueCommentsTool(registry, ctx);
  registerGetCommitTool(registry, ctx);
  registerCreateIssueTool(registry, ctx);
  registerUpdateIssueTool(registry, ctx);
  registerAddIssueCommentTool(registry, ctx);
  registerListPullRequestsTool(registry, ctx);
  registerGetPullRequestTool(registry, ctx);
  registerGetPullRequestFilesTool(registry, ctx);
  registerGetPullRequestStatusTool(registry, ctx);
  registerCreatePullRequestTool(registry, ctx);
  registerCreateBranchTool(registry, ctx);
  registerCreateOrUpdateFileTool(registry, ctx);
  registerCreatePullRequestReviewTool(registry, ctx);
  registerListPullRequestReviewsTool(registry, ctx);
  registerMergePullRequestTool(registry, ctx);
  registerListBranchesTool(registry, ctx);
  registerListCommitsTool(registry, ctx);
  return {
    ...registry,
    // GitHub's rate-limit status: any valid token may read it, it costs no request of the quota, and a bad token is refused.
    // A GitHub Enterprise Server without rate limiting answers 404 "Rate limiting is not enabled." instead, after taking the token.
    check: async (signal) => {
      await ctx.call({ signal, progress: async () => {} }, 'the token', async (request) => {
        try {
          await client.rest.rateLimit.get({ request });
        } catch (error) {
          const failure = failureOf(error);
          if (failure?.status !== 404 || !/rate limiting is not enabled/i.test(failure.message)) throw error;
        }
      });
    },
  };
}
