import { describe, expect, it } from 'vitest';
import { computeCost, type ModelPrice, type TokenUsage } from '../../src/bots/pricing/index.ts';

function price(rates: Pick<ModelPrice, 'input' | 'output' | 'cacheWrite' | 'cacheRead'>): ModelPrice {
  return { model: 'test-model', aliases: [], source: 'test', asOf: '2026-01-01', ...rates };
}

const sonnet = price({ input: '3', output: '15', cacheWrite: '3.75', cacheRead: '0.30' });
const opus41 = price({ input: '15', output: '75', cacheWrite: '18.75', cacheRead: '1.50' });
const haiku45 = price({ input: '1', output: '5', cacheWrite: '1.25', cacheRead: '0.10' });

function usage(input: number, output: number, cacheWrite: number, cacheRead: number): TokenUsage {
  return { inputTokens: input, outputTokens: output, cacheWriteTokens: cacheWrite, cacheReadTokens: cacheRead };
}

describe('computeCost', () => {
  it('prices each kind of token at its own rate per million', () => {
    // 1234×3 + 567×15 + 2000×3.75 + 10000×0.30 = 3702 + 8505 + 7500 + 3000 = 22707 micro-dollars
    expect(computeCost(sonnet, usage(1234, 567, 2000, 10_000))).toEqual({ priced: true, costUsd: '0.022707' });
  });

  it.each([
    ['one input token', usage(1, 0, 0, 0), '0.000001'],
    ['one output token', usage(0, 1, 0, 0), '0.000005'],
    ['one cache write token', usage(0, 0, 1, 0), '0.00000125'],
    ['one cache read token', usage(0, 0, 0, 1), '0.0000001'],
    ['nothing', usage(0, 0, 0, 0), '0'],
  ])('writes the cost of %s as a plain decimal, never in exponent form', (_what, tokens, expected) => {
    expect(computeCost(haiku45, tokens).costUsd).toBe(expected);
  });

  it('stays exact where binary floating point drifts', () => {
    // In floats 3 × 0.1 is 0.30000000000000004, and 0.1 + 0.2 is not 0.3.
    expect(computeCost(haiku45, usage(0, 0, 0, 3)).costUsd).toBe('0.0000003');
    expect(computeCost(sonnet, usage(0, 0, 0, 1)).costUsd).toBe('0.0000003');
    expect(computeCost(price({ input: '0.1', output: '0.2', cacheWrite: '0', cacheRead: '0' }), usage(1_000_000, 1_000_000, 0, 0)).costUsd).toBe('0.3');
  });

  it('sums the largest token counts a record holds without losing a digit', () => {
    const max = 2_147_483_647;
    // max × (15 + 75 + 18.75 + 1.5) = max × 110.25 = 236760072081.75 micro-dollars
    expect(computeCost(opus41, usage(max, max, max, max))).toEqual({ priced: true, costUsd: '236760.07208175' });
  });

  it('leaves an unknown model unpriced rather than guessing', () => {
    expect(computeCost(undefined, usage(1000, 1000, 0, 0))).toEqual({ priced: false, costUsd: null });
  });

  it.each([
    ['negative', usage(-1, 0, 0, 0), /inputTokens must be a non-negative integer/],
    ['fractional', usage(0, 1.5, 0, 0), /outputTokens must be a non-negative integer/],
    ['not a number', usage(0, 0, Number.NaN, 0), /cacheWriteTokens must be a non-negative integer/],
    ['unsafe', usage(0, 0, 0, 2 ** 53), /cacheReadTokens must be a non-negative integer/],
  ])('refuses a %s token count, priced or not', (_why, tokens, message) => {
    expect(() => computeCost(haiku45, tokens)).toThrow(message);
    expect(() => computeCost(undefined, tokens)).toThrow(message);
  });
});
