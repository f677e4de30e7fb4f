// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// NUL, or a lone surrogate.
const UNSTORABLE = new RegExp(`\\u0000|${LONE_SURROGATE.source}`, 'g');

/** Text PostgreSQL can store: NUL and lone surrogates become U+FFFD. */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

/**
 * A JSON value PostgreSQL's jsonb can store: NUL characters and lone
 * surrogates (from binary tool output, or a client's arguments) in strings and
 * in keys become U+FFFD. jsonb refuses a document holding either.
 */
export function storable(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), storable(v)]));
  }
  return value;
}

/** A value PostgreSQL cannot store, where it is, and why. */
export interface Unstorable {
  path: string;
  reason: string;
}

/**
 * Where a value holds something PostgreSQL cannot store: a NUL character or a
 * lone surrogate in a string or a key (a binary tool result, say), or a value
 * JSON does not have (absent values and dates are fine); undefined when storable.
 * For input that is refused rather than repaired (`storable`).
 */
export function unstorableAt(value: unknown, path: string): Unstorable | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { path, reason: 'must not contain the NUL character (\\u0000), which cannot be stored' };
    if (LONE_SURROGATE.test(value)) return { path, reason: 'must not contain a lone UTF-16 surrogate, which cannot be stored' };
    return undefined;
  }
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean' || value instanceof Date) return undefined;
  if (typeof value !== 'object') return { path, reason: 'must hold only JSON values' };
  for (const [key, child] of Object.entries(value)) {
    const found = unstorableAt(key, `${path}.${key}`) ?? unstorableAt(child, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}
