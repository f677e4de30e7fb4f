import { Decimal } from 'decimal.js';
import type { ModelPrice } from './price-table.ts';

/** Tokens of one model call, by kind, as the Messages API reports them. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
}

/** The cost of one call: exact USD as a decimal string, or unpriced. */
export type Cost = { priced: true; costUsd: string } | { priced: false; costUsd: null };

// Enough digits for any token count times any rate the table admits; no rounding happens.
const Exact = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });
const MILLION = new Exact(1_000_000);

function tokens(name: keyof TokenUsage, value: number): Decimal {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
  return new Exact(value);
}

/**
 * The USD cost of one call at `price` (per million tokens), computed in exact
 * decimals; an unknown model (`price` undefined) is unpriced, never estimated.
 */
export function computeCost(price: ModelPrice | undefined, usage: TokenUsage): Cost {
  const counts = {
    input: tokens('inputTokens', usage.inputTokens),
    output: tokens('outputTokens', usage.outputTokens),
    cacheWrite: tokens('cacheWriteTokens', usage.cacheWriteTokens),
    cacheRead: tokens('cacheReadTokens', usage.cacheReadTokens),
  };
  if (!price) return { priced: false, costUsd: null };
  const perMillion = counts.input
    .times(price.input)
    .plus(counts.output.times(price.output))
    .plus(counts.cacheWrite.times(price.cacheWrite))
    .plus(counts.cacheRead.times(price.cacheRead));
  return { priced: true, costUsd: perMillion.dividedBy(MILLION).toFixed() };
}
