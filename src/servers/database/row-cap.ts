import type { DatabaseLimits } from './session.ts';

/** Why rows were left off a result: more than `rowLimit` rows, or more than `maxResultBytes` bytes of JSON. */
export type TruncatedBy = 'rowLimit' | 'maxResultBytes';

/** The rows kept, the bytes of JSON they take, and why the others were left off, if any were. */
export interface CappedRows<T> {
  rows: T[];
  bytes: number;
  truncatedBy?: TruncatedBy;
}

/**
 * The leading rows of `rows` within the limits, counted as `query` counts
 * them: at most `rowLimit` rows and `maxResultBytes` bytes of JSON. Callers
 * fetch `rowLimit + 1` rows, so that the one past the limit shows there are more.
 */
export function capRows<T>(rows: readonly T[], limits: Pick<DatabaseLimits, 'rowLimit' | 'maxResultBytes'>): CappedRows<T> {
  let bytes = 0;
  for (const [index, row] of rows.entries()) {
    if (index >= limits.rowLimit) return { rows: rows.slice(0, index), bytes, truncatedBy: 'rowLimit' };
    const size = Buffer.byteLength(JSON.stringify(row));
    if (bytes + size > limits.maxResultBytes) return { rows: rows.slice(0, index), bytes, truncatedBy: 'maxResultBytes' };
    bytes += size;
  }
  return { rows: [...rows], bytes };
}

/** The line that says a list was cut: `what` names its entries ("schemas"), `narrow` says how to see the rest. */
export function describeTruncation(
  truncatedBy: TruncatedBy,
  what: string,
  limits: Pick<DatabaseLimits, 'rowLimit' | 'maxResultBytes'>,
  narrow: string,
): string {
  const cut = truncatedBy === 'rowLimit' ? `there are more than ${limits.rowLimit} ${what}` : `the list of ${what} passed ${limits.maxResultBytes} bytes`;
  return `Truncated: ${cut}. ${narrow}`;
}
