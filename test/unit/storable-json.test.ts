import { describe, expect, it } from 'vitest';
import { storable } from '../../src/shared/storable-json.ts';

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
