import { describe, expect, it } from 'vitest';
import { storable, unstorableAt } from '../../src/shared/storable-json.ts';

describe('storable', () => {
  it('replaces NUL characters and lone surrogates in strings and keys, at any depth', () => {
    const value = { 'a\u0000b': ['x\u0000', { deep: 'high \uD800 alone', low: '\uDC00 first' }], plain: 'fine' };
    expect(storable(value)).toEqual({ 'a\uFFFDb': ['x\uFFFD', { deep: 'high \uFFFD alone', low: '\uFFFD first' }], plain: 'fine' });
  });

  it('keeps surrogate pairs, numbers, booleans and null as they are', () => {
    const value = { emoji: 'ok 😀', n: 1.5, yes: true, none: null };
    expect(storable(value)).toEqual(value);
  });
});

describe('nesting', () => {
  const nested = (depth: number) => JSON.parse('['.repeat(depth) + '"x"' + ']'.repeat(depth)) as unknown;

  it('storable keeps 64 levels and cuts what lies deeper, however deep', () => {
    expect(storable(nested(64))).toEqual(nested(64));
    expect(JSON.stringify(storable(nested(50_000)))).toBe('['.repeat(64) + '"[nested]"' + ']'.repeat(64));
  });

  it('unstorableAt refuses nesting deeper than 64 levels, naming where it starts', () => {
    expect(unstorableAt({ a: nested(63) }, 'body')).toBeUndefined();
    expect(unstorableAt({ a: nested(50_000) }, 'body')).toEqual({ path: `body.a${'.0'.repeat(63)}`, reason: 'is nested deeper than 64 levels' });
  });
});
