import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { githubError, type FakeRequest, type FakeResponse, type Route } from './github-http.ts';
import { resetUserIds } from './github-json.ts';
import { gitRoutes } from './github-git-routes.ts';
import { readRoutes } from './github-read-routes.ts';
import { repoRoutes } from './github-routes.ts';
import { reviewRoutes } from './github-review-routes.ts';
import { searchRoutes } from './github-search.ts';
import { statusRoutes } from './github-status-routes.ts';
import { addToken, createFakeGithubState, type FakeGithubState } from './github-state.ts';

export { addIssue, addRepo, addToken, commitToBranch, type FakeGithubState, type FakeIssue, type FakeRepo } from './github-state.ts';

/** A request as the fake received it. `path` is the raw path (with any `pathPrefix`) and its query string. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** An answer the fake gives instead of running the route. */
export interface FakeFailure {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FakeGithub {
  /** Base URL to pass as Octokit's `baseUrl`. */
  url: string;
  requests: RecordedRequest[];
  state: FakeGithubState;
  /** Answers the next `times` requests matching `method` and `path` (the decoded path, no query) with `failure`. */
  failNext(match: { method?: string; path: string | RegExp }, failure: FakeFailure, times?: number): void;
  /** Holds the next `times` matching requests unanswered until `release()`; `received` settles once all of them have arrived. */
  holdNext(match: { method?: string; path: string | RegExp }, times?: number): { received: Promise<void>; release(): void };
  close(): Promise<void>;
}

/** How the fake differs from github.com. */
export interface FakeGithubOptions {
  /** Where the REST API is mounted: `/api/v3` on GitHub Enterprise Server. */
  pathPrefix?: string;
  /** False as on a GitHub Enterprise Server whose administrator turned rate limiting off: no rate-limit headers, and `GET /rate_limit` is a 404. */
  rateLimiting?: boolean;
}

/** The token the fake accepts from the start, authenticating as `octocat`. */
export const FAKE_GITHUB_TOKEN = 'ghp_fakeTokenForTests0123456789abcdefXYZ';

/** GitHub's primary rate-limit answer: 403 with `x-ratelimit-remaining: 0` and the reset time. */
export function rateLimited(resetAt: Date): FakeFailure {
  const reset = String(Math.floor(resetAt.getTime() / 1000));
  return {
    status: 403,
    headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000', 'x-ratelimit-reset': reset, 'x-ratelimit-resource': 'core' },
    body: {
      message: 'API rate limit exceeded for user ID 100. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:4444.',
      documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      status: '403',
    },
  };
}

/** GitHub's secondary (abuse) rate-limit answer: 403 with `retry-after`. */
export function secondaryRateLimited(retryAfterSeconds: number): FakeFailure {
  return {
    status: 403,
    headers: { 'retry-after': String(retryAfterSeconds) },
    body: {
      message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      status: '403',
    },
  };
}

/** A 422 with GitHub's `errors` details. */
export function validationFailure(errors: unknown[], message = 'Validation Failed'): FakeFailure {
  const { status, body } = githubError(422, message, '/overview/resources-in-the-rest-api#client-errors', errors);
  return { status, body };
}

export function serverError(status = 502): FakeFailure {
  return { status, body: { message: 'Server Error' } };
}

const routes: Route[] = [...repoRoutes, ...reviewRoutes, ...gitRoutes, ...statusRoutes, ...readRoutes, ...searchRoutes];

/** `GET /rate_limit` as GitHub answers it: each resource's limit, use and reset. */
function rateLimitStatus(used: { core: number; search: number }): FakeResponse {
  const reset = Math.floor(Date.now() / 1000) + 3600;
  const of = (limit: number, count: number) => ({ limit, used: count, remaining: Math.max(limit - count, 0), reset });
  const core = of(5000, used.core);
  return { status: 200, body: { resources: { core, search: of(30, used.search) }, rate: core } };
}

async function readJson(req: IncomingMessage): Promise<{ body: unknown } | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return { body: undefined };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

type Match = { method?: string | undefined; path: string | RegExp };

function matches(match: Match, method: string, path: string): boolean {
  return (!match.method || match.method === method) && (typeof match.path === 'string' ? match.path === path : match.path.test(path));
}

/** Starts an in-memory GitHub REST API on 127.0.0.1 speaking GitHub's paths, shapes, status codes and headers. */
export async function startFakeGithub({ pathPrefix = '', rateLimiting = true }: FakeGithubOptions = {}): Promise<FakeGithub> {
  resetUserIds();
  const state = createFakeGithubState();
  addToken(state, FAKE_GITHUB_TOKEN, 'octocat');
  const requests: RecordedRequest[] = [];
  const failures: Array<Match & { failure: FakeFailure; left: number }> = [];
  const holds: Array<Match & { left: number; arrived: () => void; released: Promise<void> }> = [];
  const used = { core: 0, search: 0 };
  let url = '';

  const answer = async (req: IncomingMessage): Promise<FakeResponse> => {
    const target = new URL(req.url ?? '/', url);
    const prefixed = target.pathname.startsWith(`${pathPrefix}/`);
    const path = decodeURIComponent(target.pathname.slice(pathPrefix.length));
    const parsed = await readJson(req);
    const method = req.method ?? 'GET';
    requests.push({ method, path: `${target.pathname}${target.search}`, headers: req.headers, body: parsed?.body });
    if (!prefixed) return githubError(404, 'Not Found', '');
    const hold = holds.find((h) => h.left > 0 && matches(h, method, path));
    if (hold) {
      hold.left -= 1;
      if (hold.left === 0) hold.arrived();
      await hold.released;
    }

    const auth = req.headers.authorization?.match(/^(?:token|bearer) (.+)$/i);
    if (!auth) return githubError(401, 'Requires authentication', '/overview/resources-in-the-rest-api#authentication');
    const login = state.tokens.get(auth[1]!);
    if (!login) return githubError(401, 'Bad credentials', '');
    if (!parsed) return githubError(400, 'Problems parsing JSON', '');

    // GitHub's own rate-limit status: any valid token may read it, and reading it costs nothing.
    if (method === 'GET' && path === '/rate_limit') return rateLimiting ? rateLimitStatus(used) : githubError(404, 'Rate limiting is not enabled.', '');
    const failure = failures.find((f) => f.left > 0 && matches(f, method, path));
    if (failure) {
      failure.left -= 1;
      return failure.failure;
    }
    for (const route of routes) {
      const match = method === route.method ? route.pattern.exec(path) : null;
      if (!match) continue;
      const request: FakeRequest = { method, path, query: target.searchParams, body: parsed.body, login, api: url, headers: req.headers };
      return route.handle(request, match.slice(1).map((m) => m ?? ''), state);
    }
    return githubError(404, 'Not Found', '');
  };

  const send = (req: IncomingMessage, res: ServerResponse, response: FakeResponse) => {
    const route = req.url?.slice(pathPrefix.length);
    const resource = route?.startsWith('/search/') ? 'search' : 'core';
    if (route !== '/rate_limit') used[resource] += 1;
    const limit = resource === 'search' ? 30 : 5000;
    res.writeHead(response.status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': `FAKE:${requests.length}`,
      ...(rateLimiting && {
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(Math.max(limit - used[resource], 0)),
        'x-ratelimit-used': String(used[resource]),
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
        'x-ratelimit-resource': resource,
      }),
      ...response.headers,
    });
    res.end(response.raw ?? (response.body === undefined ? '' : JSON.stringify(response.body)));
  };

  const server = createServer((req, res) => {
    answer(req).then(
      (response) => send(req, res, response),
      (error: unknown) => send(req, res, { status: 500, body: { message: `fake GitHub failed: ${String(error)}` } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${pathPrefix}`;

  return {
    url,
    requests,
    state,
    failNext(match, failure, times = 1) {
      failures.push({ method: match.method, path: match.path, failure, left: times });
    },
    holdNext(match, times = 1) {
      let arrived = () => {};
      let release = () => {};
      const received = new Promise<void>((resolve) => (arrived = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.push({ method: match.method, path: match.path, left: times, arrived, released });
      return { received, release };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
