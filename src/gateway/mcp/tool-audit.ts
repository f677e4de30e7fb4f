import { redactSecrets } from '../../tenancy/index.ts';

const MAX_STRING = 256;
const MAX_ITEMS = 32;
const MAX_DEPTH = 4;

/** Tool arguments as the audit trail keeps them: secrets redacted, large values cut. */
export function summarizeArguments(args: unknown, depth = 0): unknown {
  const value = depth === 0 ? redactSecrets(args) : args;
  if (typeof value === 'string') {
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} chars)` : value;
  }
  if (depth >= MAX_DEPTH && value !== null && typeof value === 'object') return '[nested]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => summarizeArguments(v, depth + 1));
    return value.length > MAX_ITEMS ? [...items, `… (${value.length} items)`] : items;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).slice(0, MAX_ITEMS);
    return Object.fromEntries(entries.map(([k, v]) => [k, summarizeArguments(v, depth + 1)]));
  }
  return value;
}
