import type { OutboundFetch } from '../outbound.ts';

/** What became of the requests one call made (those under its signal): sent at all, and GitHub's last answer. */
export interface Attempts {
  sent: boolean;
  /** The HTTP status of GitHub's last answer; undefined while none came. */
  lastStatus?: number;
}

/**
 * Records, per call, what its requests came to, so that a call that runs out of
 * time can say why: still waiting for its turn in the token's queue (never
 * sent), waiting for a rate limit to reset (GitHub answered 403 or 429), or
 * sent and not answered. Calls are told apart by the signal each passes down.
 */
export interface AttemptLog {
  /** `fetch`, recording each request made under a signal. */
  tracking(fetch: OutboundFetch): OutboundFetch;
  of(signal: AbortSignal): Attempts;
}

export function createAttemptLog(): AttemptLog {
  const bySignal = new WeakMap<AbortSignal, Attempts>();
  return {
    tracking: (fetch) => async (input, init) => {
      const signal = init?.signal ?? undefined;
      const attempts: Attempts = signal ? (bySignal.get(signal) ?? { sent: false }) : { sent: false };
      if (signal) bySignal.set(signal, attempts);
      attempts.sent = true;
      const response = await fetch(input, init);
      attempts.lastStatus = response.status;
      return response;
    },
    of: (signal) => bySignal.get(signal) ?? { sent: false },
  };
}
