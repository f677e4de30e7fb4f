import { createHash } from 'node:crypto';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { findCause } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { findMessageTooLarge, withBody } from '../message-limit.ts';
import type { OutboundFetch } from '../outbound.ts';
import type { AttemptLog } from './attempts.ts';

/** GitHub's answer sent the request to another origin (scheme, host or port) than the configured API's; it was not followed. */
export class CrossOriginRedirectError extends Error {
  override readonly name = 'CrossOriginRedirectError';
  constructor(
    /** Where the redirect pointed, without its query (which could carry anything). */
    readonly location: string,
  ) {
    super(`GitHub redirected the request to ${location}, outside the configured API`);
  }
}

/** The redirect refusal behind an error, looking through the causes fetch and Octokit wrap it in. */
export function findCrossOriginRedirect(error: unknown): CrossOriginRedirectError | undefined {
  return findCause(error, CrossOriginRedirectError);
}

/**
 * An answer over the operator's message limit, or a redirect elsewhere, is
 * final: fetched again, it would be the same. Octokit reports it as a failed
 * request (status 500), which the retry plugin would send again; its error
 * hook runs before the retry plugin's (hooks registered earlier run first),
 * and the cause, which is not a request error, is one the retry plugin lets through.
 */
function finalFailures(octokit: Pick<Octokit, 'hook'>): void {
  octokit.hook.error('request', (error) => {
    throw findMessageTooLarge(error) ?? findCrossOriginRedirect(error) ?? error;
  });
}

const GithubOctokit = Octokit.plugin(throttling, finalFailures, retry);

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
  /** Where each call's requests are recorded, for its timeout message. */
  attempts: AttemptLog;
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

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * Follows GitHub's redirects within `origin` only (a renamed repository's 301
 * stays on the API host). fetch would follow one to any host: without the
 * token, which it drops across origins, but with the request's body, and its
 * answer would pass for GitHub's; an API moved from http to https would then
 * answer 401, and the token would be blamed.
 */
function followingRedirectsWithin(origin: string, fetch: OutboundFetch): OutboundFetch {
  return async (input, init = {}) => {
    let url = new URL(input);
    let request: RequestInit = init;
    for (let redirects = 0; ; redirects += 1) {
      const response = await fetch(url, { ...request, redirect: 'manual' });
      const location = REDIRECTS.has(response.status) ? response.headers.get('location') : null;
      if (location === null) return response;
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== origin) throw new CrossOriginRedirectError(`${next.origin}${next.pathname}`);
      if (redirects === MAX_REDIRECTS) throw new Error(`GitHub redirected more than ${MAX_REDIRECTS} times`);
      // As fetch does: a 303, or a 301 or 302 after a POST, goes on as a GET without the body.
      const method = request.method?.toUpperCase() ?? 'GET';
      if ((response.status === 303 && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        const { body: _body, ...rest } = request;
        request = { ...rest, method: 'GET' };
      }
      url = next;
    }
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
    request: { fetch: options.attempts.tracking(readingBodies(followingRedirectsWithin(new URL(options.baseUrl).origin, options.fetch))) },
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
    // leaves out 405 (not mergeable) and 409 (a stale sha), which sending again cannot change, and 429,
    // GitHub's rate limit, which the throttling plugin above retries when its wait is short enough and
    // which sent again a second later would only prolong.
    retry: { retries: 1, doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 429, 451] },
  });
}
