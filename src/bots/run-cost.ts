import { Decimal } from 'decimal.js';

// Sums stay exact: far more digits than any cost stored with 10 decimals needs.
const Exact = Decimal.clone({ precision: 60 });

/** The exact sum of call costs (decimal strings); null entries are unpriced calls, counted apart. */
export function sumCosts(costs: ReadonlyArray<string | null>): { costUsd: string; unpricedCalls: number } {
  let total = new Exact(0);
  let unpricedCalls = 0;
  for (const cost of costs) {
    if (cost === null) unpricedCalls += 1;
    else total = total.plus(cost);
  }
  return { costUsd: total.toFixed(), unpricedCalls };
}
