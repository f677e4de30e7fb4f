import { describe, expect, it } from 'vitest';
import { createCircuitBreaker, createCircuitBreakerRegistry } from '../../src/bots/circuit-breaker.ts';
import { backoffDelayMs, retryAfterMs, sleep } from '../../src/bots/retry.ts';

const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

describe('backoff', () => {
  it('doubles per retry, with jitter in the upper half, capped at the maximum', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n, () => 0))).toEqual([50, 100, 200, 400, 500]);
  });
});

describe('retry-after', () => {
  const headers = (values: Record<string, string>) => new Headers(values);

  it('prefers retry-after-ms, then reads retry-after as seconds or an HTTP date', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': '2' }))).toBe(2_000);
    expect(retryAfterMs(headers({ 'retry-after': '0' }))).toBe(0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3_000);
  });

  it('ignores missing or unreadable values', () => {
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs(headers({}))).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': '-1' }))).toBeUndefined();
  });

  it('sleep rejects with the reason when aborted', async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures and lets one trial through after the cool-down', () => {
    let now = 0;
    const breaker = createCircuitBreaker({ failureThreshold: 3, cooldownMs: 1_000, now: () => now });
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.check()).toBeUndefined();
    breaker.recordFailure();
    expect(breaker.state()).toBe('open');
    now = 400;
    expect(breaker.check()).toBe(600);

    now = 1_000;
    expect(breaker.check()).toBeUndefined(); // the trial
    expect(breaker.check()).toBe(0); // others wait for it
    breaker.recordFailure(); // a failed trial re-opens at once
    expect(breaker.state()).toBe('open');

    now = 2_000;
    expect(breaker.check()).toBeUndefined();
    breaker.recordSuccess();
    expect(breaker.state()).toBe('closed');
    expect(breaker.check()).toBeUndefined();
  });

  it('resets the count on success', () => {
    const breaker = createCircuitBreaker({ failureThreshold: 2, cooldownMs: 1_000 });
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    expect(breaker.state()).toBe('closed');
  });

  it('does not let an abandoned trial wedge the circuit', () => {
    let now = 0;
    const breaker = createCircuitBreaker({ failureThreshold: 1, cooldownMs: 1_000, now: () => now });
    breaker.recordFailure();
    now = 1_000;
    expect(breaker.check()).toBeUndefined(); // trial, whose caller then cancels and reports nothing
    now = 2_000;
    expect(breaker.check()).toBeUndefined();
  });

  it('shares one breaker per API key', () => {
    const registry = createCircuitBreakerRegistry({ failureThreshold: 1, cooldownMs: 1_000 });
    registry.forKey('key-a').recordFailure();
    expect(registry.forKey('key-a').state()).toBe('open');
    expect(registry.forKey('key-b').state()).toBe('closed');
  });
});
