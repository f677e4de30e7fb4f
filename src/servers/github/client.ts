import { createHash } from 'node:crypto';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Logger } from '../../shared/logger.ts';
import { findMessageTooLarge, withBody } from '../message-limit.ts';
import type { OutboundFetch } from '../outbound.ts';

/**
 * An answer over the operator's message limit is final: fetched again, it
 * would be as large. Octokit reports it as a failed request (status 500),
 * which the retry plugin would send again; its error hook runs before the
 * retry plugin's (hooks registered earlier run first), and the limit's own
 * error, which is not a request error, is one the retry plugin lets through.
 */
function overLimitIsFinal(octokit: Pick<Octokit, 'hook'>): void {
  octokit.hook.error('request', (error) => {
    throw findMessageTooLarge(error) ?? error;
  });
}

const GithubOctokit = Octokit.plugin(throttling, overLimitIsFinal, retry);

/** The Octokit instance the GitHub tools call: REST methods plus throttling and retry. */
export type GithubClient = InstanceType<typeof GithubOctokit>;

/** What the client needs; the defaults live in `createGithubSource`. */
export interface GithubClientOptions {
  token: string;
  baseUrl: string;
  userAgent: string;
  /** Every request goes through it: the operator's policy-checked fetch. */
  fetch: OutboundFetch;
  /** Longest wait for a rate-limit reset worth retrying once; a later reset is reported to the model instead. */
  retryAfterCapMs: number;
  logger?: Logger;
}

const noop = (): void => {};

/**
 * Octokit takes a body it fails to read for empty data, which a tool would
 * report as an odd answer. Read here first, a body over the operator's limit
 * (see message-limit.ts) fails the request instead, with the limit as cause.
 */
function readingBodies(fetch: OutboundFetch): OutboundFetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    return response.body ? withBody(response, await response.arrayBuffer()) : response;
  };
}

/**
 * Builds the Octokit client. The throttling plugin keeps module-wide request
 * queues keyed by `id` (one write per second, one search per two seconds);
 * keying them by a hash of the token gives each credential its own queues, as
 * GitHub's limits are per token, so one tenant's writes never wait on another's.
 */
export function createGithubClient(options: GithubClientOptions): GithubClient {
  const { logger } = options;
  // Retry a rate-limited request once, and only when the reset is near enough that the model is better off waiting.
  const retryOnce = (kind: string) => (retryAfterSeconds: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
    const retrying = retryCount < 1 && retryAfterSeconds * 1000 <= options.retryAfterCapMs;
    logger?.warn({ method: request.method, url: request.url, retryAfterSeconds, retrying }, `GitHub ${kind} rate limit`);
    return retrying;
  };
  return new GithubOctokit({
    auth: options.token,
    baseUrl: options.baseUrl,
    userAgent: options.userAgent,
    request: { fetch: readingBodies(options.fetch) },
    log: {
      debug: noop,
      info: noop,
      warn: (message: string) => logger?.warn(message),
      error: (message: string) => logger?.error(message),
    },
    throttle: {
      id: createHash('sha256').update(options.token).digest('hex').slice(0, 16),
      onRateLimit: retryOnce('primary'),
      onSecondaryRateLimit: retryOnce('secondary'),
    },
    // 5xx and network failures: one retry after a second. 4xx answers are final: the plugin's own list
    // leaves out 405 (not mergeable) and 409 (a stale sha), which sending again cannot change.
    retry: { retries: 1, doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 451] },
  });
}
