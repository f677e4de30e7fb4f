import { truncate } from './format.ts';

/** GitHub's error body: `{ message, documentation_url, errors }`. */
interface GithubErrorBody {
  message?: string;
  errors?: Array<string | { resource?: string; field?: string; code?: string; message?: string; value?: unknown }>;
}

/** The most of GitHub's own words (its message, its validation details) put in an error. */
const MAX_MESSAGE_CHARS = 1_000;

/** What Octokit throws for an HTTP failure (its RequestError, matched by shape to avoid a transitive import). */
interface HttpError extends Error {
  status: number;
  response?: { headers: Record<string, string | undefined>; data: unknown };
}

/** Whether `error` is an HTTP failure from Octokit (a 4xx/5xx answer, or a network failure reported as 500). */
export function isHttpError(error: unknown): error is HttpError {
  return error instanceof Error && error.name === 'HttpError' && typeof (error as { status?: unknown }).status === 'number';
}

const CODE_MEANINGS: Record<string, string> = {
  missing: 'does not exist',
  missing_field: 'is required',
  invalid: 'is invalid',
  already_exists: 'already exists',
  unprocessable: 'cannot be processed',
};

function describeValidationErrors(errors: GithubErrorBody['errors']): string {
  return (errors ?? [])
    .map((e) => {
      if (typeof e === 'string') return e;
      const subject = e.field ?? e.resource ?? 'request';
      if (e.message) return e.field ? `${e.field}: ${e.message}` : e.message;
      // GitHub names the offending value (an unknown assignee among several) when it has one.
      const value = typeof e.value === 'string' || typeof e.value === 'number' ? ` '${e.value}'` : '';
      return `${subject}${value} ${CODE_MEANINGS[e.code ?? ''] ?? `failed (${e.code ?? 'unknown'})`}`;
    })
    .join('; ');
}

/** GitHub's status and message for an HTTP failure, for tools that explain some failures themselves. */
export function failureOf(error: unknown): { status: number; message: string } | undefined {
  if (!isHttpError(error)) return undefined;
  const data = error.response?.data as { message?: unknown } | undefined;
  return { status: error.status, message: typeof data?.message === 'string' ? data.message : '' };
}

function rateLimitedUntil(headers: Record<string, string | undefined>, now: number): string | undefined {
  const reset = Number(headers['x-ratelimit-reset']);
  if (headers['x-ratelimit-remaining'] === '0' && Number.isFinite(reset) && reset > 0) return new Date(reset * 1000).toISOString();
  const retryAfter = Number(headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return new Date(now + retryAfter * 1000).toISOString();
  return undefined;
}

/**
 * Turns a GitHub HTTP failure into a message a model can act on. `subject`
 * names what was asked for ("issue #5 in acme/widgets") for 404s.
 */
export function describeHttpError(error: HttpError, subject: string, now = Date.now()): string {
  const headers = error.response?.headers ?? {};
  const data = error.response?.data;
  const body: GithubErrorBody = typeof data === 'object' && data !== null ? data : {};
  // A message is a sentence on GitHub; one from a proxy or a broken server could be anything.
  const githubMessage = typeof body.message === 'string' ? truncate(body.message.trim(), MAX_MESSAGE_CHARS).text : undefined;
  const { status } = error;

  if (status === 401) {
    return 'GitHub rejected the configured token (401 Bad credentials): it is invalid, expired or revoked. Retrying will not help; the token must be replaced.';
  }
  if (status === 403 || status === 429) {
    const until = rateLimitedUntil(headers, now);
    // GitHub answers 429 only for rate limits: one without the primary limit's headers is the secondary limit.
    const secondary = /secondary rate/i.test(githubMessage ?? '') || (status === 429 && headers['x-ratelimit-remaining'] !== '0');
    if (until || secondary) {
      const kind = secondary ? "GitHub's secondary rate limit" : "GitHub's API rate limit for this token";
      return `${kind} was exceeded: rate limited until ${until ?? 'a minute from now'}. Try again after that time.`;
    }
    return `GitHub refused access to ${subject} (403${githubMessage ? `: ${githubMessage}` : ''}). The token may lack the permission or scope this needs.`;
  }
  // A repository without commits: GitHub answers 404 "This repository is empty." for its contents, 409 "Git Repository is empty." for its history.
  if ((status === 404 || status === 409) && /repository is empty/i.test(githubMessage ?? '')) {
    return `GitHub has nothing for ${subject}: the repository is empty, with no commits, branches or files yet (${status}: ${githubMessage}).`;
  }
  if (status === 404) {
    const detail = githubMessage && githubMessage !== 'Not Found' ? ` GitHub said: ${githubMessage}.` : '';
    return `${capitalize(subject)} not found (or the token cannot see it).${detail}`;
  }
  if (status === 409) return `GitHub reported a conflict for ${subject} (409${githubMessage ? `: ${githubMessage}` : ''}).`;
  if (status === 422) {
    // GitHub's details may end a sentence of their own.
    const details = truncate(describeValidationErrors(body.errors), MAX_MESSAGE_CHARS).text.replace(/\.$/, '');
    return `GitHub rejected the request (422 ${githubMessage ?? 'Unprocessable Entity'})${details ? `: ${details}` : ''}. Fix the arguments and try again.`;
  }
  if (status >= 500 && error.response === undefined) return `Could not reach GitHub: ${error.message}. Try again later.`;
  if (status >= 500) return `GitHub failed with status ${status}. Try again later.`;
  return `GitHub answered ${status}${githubMessage ? `: ${githubMessage}` : ''}.`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
