import { isSecretField, maskUrlPasswords } from '../../tenancy/index.ts';

const MAX_STRING = 256;
const MAX_ITEMS = 32;
const MAX_DEPTH = 4;

const cut = (text: string) => (text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}… (${text.length} chars)` : text);

/**
 * Tool arguments as the audit trail keeps them: secrets (and URLs' passwords) redacted, large values
 * (long strings and keys, long lists, deep nesting) cut. One walk that stops
 * at `MAX_DEPTH`, so arguments nested however deep cost no more than shallow ones.
 */
export function summarizeArguments(args: unknown, depth = 0): unknown {
  if (typeof args === 'string') return cut(maskUrlPasswords(args));
  if (args === null || typeof args !== 'object') return args;
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(args)) {
    const items = args.slice(0, MAX_ITEMS).map((v) => summarizeArguments(v, depth + 1));
    return args.length > MAX_ITEMS ? [...items, `… (${args.length} items)`] : items;
  }
  const entries = Object.entries(args).slice(0, MAX_ITEMS);
  return Object.fromEntries(entries.map(([k, v]) => [cut(k), isSecretField(k) && v !== null && typeof v !== 'boolean' ? '[redacted]' : summarizeArguments(v, depth + 1)]));
}
