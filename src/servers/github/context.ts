import * as z from 'zod';
import { findMessageTooLarge } from '../message-limit.ts';
import { findOutboundRefusal } from '../outbound.ts';
import { ToolError, type ToolCallContext } from '../tool-source.ts';
import type { Attempts, AttemptLog } from './attempts.ts';
import { findCrossOriginRedirect, type GithubClient } from './client.ts';
import { describeHttpError, isHttpError } from './errors.ts';

/** GitHub owner and repository names: no slashes and no dot segments, so they cannot reshape the request path. */
export const NAME_PATTERN = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,100}$/;

/** A repository as GitHub's REST paths name it. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** What every GitHub tool gets: the client, repository defaults, and one way to call GitHub. */
export interface GithubToolContext {
  client: GithubClient;
  /** `owner` and `repo` input fields whose descriptions name the configured defaults. */
  repoShape: {
    owner: z.ZodOptional<z.ZodString>;
    repo: z.ZodOptional<z.ZodString>;
  };
  /** The repository from the arguments, falling back field by field to the configured defaults. */
  resolveRepo(args: { owner?: string | undefined; repo?: string | undefined }): RepoRef;
  /** The configured default repository, when both parts are configured. */
  defaultRepo: RepoRef | undefined;
  /**
   * Runs one GitHub request with the caller's cancellation and a timeout;
   * an HTTP failure becomes a `ToolError` whose message never holds the token.
   * `subject` names what was asked for, for "not found" messages.
   */
  call<T>(context: ToolCallContext, subject: string, run: (request: { signal: AbortSignal }) => Promise<T>): Promise<T>;
}

/** Builds the context shared by all GitHub tools of one source. */
export function createGithubToolContext(options: {
  client: GithubClient;
  token: string;
  /** The REST API root, for messages about it. */
  baseUrl: string;
  owner: string | undefined;
  repo: string | undefined;
  requestTimeoutMs: number;
  /** What each call's requests came to: for saying why one ran out of time. */
  attempts: AttemptLog;
}): GithubToolContext {
  const { client, token, baseUrl, owner: defaultOwner, repo: defaultRepo, requestTimeoutMs, attempts } = options;
  const redact = (message: string) => message.replaceAll(token, '[redacted]');
  const seconds = `${requestTimeoutMs / 1000} seconds`;

  /** Why a call ran out of time, from what its requests came to: each calls for a different next step. */
  function timedOut({ sent, lastStatus }: Attempts): ToolError {
    if (!sent) {
      return new ToolError(
        `The request waited ${seconds} for its turn and was not sent: GitHub allows one token about one write a second ` +
          'and one search every two seconds, and this token had others queued. Try again in a little while.',
        { unavailable: true },
      );
    }
    if (lastStatus === 403 || lastStatus === 429) {
      return new ToolError(
        `GitHub limited this token's requests (HTTP ${lastStatus}), and the wait for the limit to reset ran past the call's ${seconds}. ` +
          'Try again in a little while.',
        { unavailable: true },
      );
    }
    return new ToolError(`GitHub did not answer within ${seconds}. Try again later.`, { unavailable: true });
  }
  const name = (what: string, fallback: string | undefined) =>
    z
      .string()
      .regex(NAME_PATTERN, `must be a GitHub ${what} name (letters, digits, '-', '_', '.')`)
      .optional()
      .describe(`${what === 'owner' ? 'Repository owner (user or organization)' : 'Repository name'}.${fallback ? ` Defaults to ${fallback}.` : ''}`);

  return {
    client,
    repoShape: { owner: name('owner', defaultOwner), repo: name('repository', defaultRepo) },
    defaultRepo: defaultOwner && defaultRepo ? { owner: defaultOwner, repo: defaultRepo } : undefined,

    resolveRepo(args) {
      const owner = args.owner ?? defaultOwner;
      const repo = args.repo ?? defaultRepo;
      if (!owner) throw new ToolError('owner is required: pass the repository owner (no default owner is configured).');
      if (!repo) throw new ToolError('repo is required: pass the repository name (no default repository is configured).');
      return { owner, repo };
    },

    async call(context, subject, run) {
      // Octokit retries network failures but not a plain AbortError, so both the
      // caller's cancellation and the timeout abort through one fresh controller.
      const controller = new AbortController();
      const abort = () => controller.abort();
      const timer = setTimeout(abort, requestTimeoutMs);
      context.signal.addEventListener('abort', abort, { once: true });
      if (context.signal.aborted) abort();
      // The signal reaches fetch only once the request leaves the throttling plugin's per-token
      // queues (writes a second apart, searches two) or its wait for a rate-limit reset, and
      // neither watches it: the call ends at the abort, and the request, when its turn comes, is not sent.
      const aborted = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
      try {
        return await Promise.race([run({ signal: controller.signal }), aborted]);
      } catch (error) {
        if (context.signal.aborted) throw new ToolError('The request was cancelled.');
        // A tool's own explanation may quote GitHub, which must not carry the token either.
        if (error instanceof ToolError) throw new ToolError(redact(error.message), { unavailable: error.unavailable });
        if (controller.signal.aborted) throw timedOut(attempts.of(controller.signal));
        const refusal = findOutboundRefusal(error);
        if (refusal) throw new ToolError(`GitHub API host ${refusal.host} is not allowed: ${refusal.reason}`);
        const redirect = findCrossOriginRedirect(error);
        if (redirect) {
          throw new ToolError(
            redact(
              `The GitHub API at ${baseUrl} redirected the request for ${subject} to ${redirect.location}, another scheme, host or port; ` +
                "the redirect was not followed, so neither the token nor the request went there. If the API has moved, the server's baseUrl must be changed to its new address.",
            ),
          );
        }
        const tooLarge = findMessageTooLarge(error);
        if (tooLarge) throw new ToolError(`GitHub's answer about ${subject} was not read: ${tooLarge.message}. Ask for less (a smaller file, fewer results).`);
        // A 5xx, or a network failure Octokit reports as one: GitHub itself was not there to answer.
        if (isHttpError(error)) throw new ToolError(redact(describeHttpError(error, subject)), { unavailable: error.status >= 500 });
        throw error;
      } finally {
        clearTimeout(timer);
        context.signal.removeEventListener('abort', abort);
      }
    },
  };
}
