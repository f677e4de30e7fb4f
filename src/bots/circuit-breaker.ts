import { createHash } from 'node:crypto';

/** Settings of a circuit breaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial call is let through. */
  cooldownMs: number;
  now?: () => number;
}

/** A breaker for one upstream credential. */
export interface CircuitBreaker {
  /** Undefined when a call may go ahead; otherwise the milliseconds until a trial is allowed. */
  check(): number | undefined;
  recordSuccess(): void;
  recordFailure(): void;
  state(): 'closed' | 'open' | 'half_open';
}

/** Breakers keyed by API key, so every client using one key shares one circuit. */
export interface CircuitBreakerRegistry {
  forKey(apiKey: string): CircuitBreaker;
}

/** Defaults: open after 5 consecutive failures, try again after 30 s. */
export const DEFAULT_CIRCUIT_BREAKER: Readonly<CircuitBreakerOptions> = Object.freeze({ failureThreshold: 5, cooldownMs: 30_000 });

/** One closed → open → half-open breaker. */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const now = options.now ?? Date.now;
  let failures = 0;
  let openedAt: number | undefined;
  // A trial whose caller vanished (cancelled) must not wedge the circuit: it expires after a cool-down.
  let trialStartedAt: number | undefined;

  const state = (): 'closed' | 'open' | 'half_open' => {
    if (openedAt === undefined) return 'closed';
    return now() - openedAt >= options.cooldownMs ? 'half_open' : 'open';
  };

  return {
    state,
    check() {
      const current = state();
      if (current === 'closed') return undefined;
      if (current === 'half_open' && (trialStartedAt === undefined || now() - trialStartedAt >= options.cooldownMs)) {
        // One trial call at a time; the others still fail fast until it reports.
        trialStartedAt = now();
        return undefined;
      }
      return Math.max(0, (openedAt ?? 0) + options.cooldownMs - now());
    },
    recordSuccess() {
      failures = 0;
      openedAt = undefined;
      trialStartedAt = undefined;
    },
    recordFailure() {
      failures += 1;
      if (trialStartedAt !== undefined || failures >= options.failureThreshold) openedAt = now();
      trialStartedAt = undefined;
    },
  };
}

/** A registry of breakers; keys are hashed so raw API keys are not kept as map keys. */
export function createCircuitBreakerRegistry(options: CircuitBreakerOptions = DEFAULT_CIRCUIT_BREAKER): CircuitBreakerRegistry {
  const breakers = new Map<string, CircuitBreaker>();
  return {
    forKey(apiKey) {
      const id = createHash('sha256').update(apiKey).digest('hex');
      let breaker = breakers.get(id);
      if (!breaker) {
        breaker = createCircuitBreaker(options);
        breakers.set(id, breaker);
      }
      return breaker;
    },
  };
}
