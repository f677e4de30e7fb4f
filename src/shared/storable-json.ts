// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// NUL, or a lone surrogate.
const UNSTORABLE = new RegExp(`\\u0000|${LONE_SURROGATE.source}`, 'g');

/** Text PostgreSQL can store: NUL and lone surrogates become U+FFFD. */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

/**
 * Nesting a stored document may have. Deeper values are refused as input
 * (`unstorableAt`) or cut (`storable`): walking them would overflow the stack.
 */
export const MAX_STORED_DEPTH = 64;

/**
 * A JSON value PostgreSQL's jsonb can store: NUL characters and lone
 * surrogates (from binary tool output, or a client's arguments) in strings and
 * in keys become U+FFFD. jsonb refuses a document holding either. Values
 * nested deeper than `MAX_STORED_DEPTH` become "[nested]".
 */
export function storable(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_STORED_DEPTH) return '[nested]';
  if (Array.isArray(value)) return value.map((item) => storable(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), storable(v, depth + 1)]));
}

/** A value PostgreSQL cannot store, where it is, and why. */
export interface Unstorable {
  path: string;
  reason: string;
}

/**
 * Where a value holds something PostgreSQL cannot store: a NUL character or a
 * lone surrogate in a string or a key (a binary tool result, say), a value
 * JSON does not have (absent values and dates are fine), or nesting deeper than
 * `MAX_STORED_DEPTH`; undefined when storable.
 * For input that is refused rather than repaired (`storable`).
 */
export function unstorableAt(value: unknown, path: string, depth = 0): Unstorable | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { path, reason: 'must not contain the NUL character (\\u0000), which cannot be stored' };
    if (LONE_SURROGATE.test(value)) return { path, reason: 'must not contain a lone UTF-16 surrogate, which cannot be stored' };
    return undefined;
  }
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean' || value instanceof Date) return undefined;
  if (typeof value !== 'object') return { path, reason: 'must hold only JSON values' };
  if (depth >= MAX_STORED_DEPTH) return { path, reason: `is nested deeper than ${MAX_STORED_DEPTH} levels` };
  for (const [key, child] of Object.entries(value)) {
    const found = unstorableAt(key, `${path}.${key}`) ?? unstorableAt(child, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}
