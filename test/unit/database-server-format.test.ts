import { describe, expect, it } from 'vitest';
import { formatTable, renderCell } from '../../src/servers/database/format.ts';

describe('formatTable', () => {
  it('aligns columns under a header', () => {
    expect(formatTable(['id', 'name'], [[1, 'alice'], [22, null]])).toBe(
      ['id | name', '---+------', '1  | alice', '22 | NULL'].join('\n'),
    );
  });

  it('keeps each row on one line', () => {
    expect(renderCell('a\nb\tc')).toBe('a\\nb\\tc');
    expect(renderCell({ k: [1] })).toBe('{"k":[1]}');
    expect(renderCell(true)).toBe('true');
  });
});

describe('formatTable: cells that cannot be mistaken for columns or rows', () => {
  it('escapes a | in a value, so each row keeps its columns', () => {
    const table = formatTable(['id', 'note'], [[1, 'a | b'], [2, 'c|d|e'], [3, '|']]);
    expect(table).toBe(['id | note', '---+--------', '1  | a \\| b', '2  | c\\|d\\|e', '3  | \\|'].join('\n'));
    // Split where a | is not escaped: every row has its two cells.
    for (const line of table.split('\n').slice(2)) expect(line.split(/(?<!\\)\|/)).toHaveLength(2);
  });

  it('escapes a | in a column name and in JSON', () => {
    expect(formatTable(['a|b', 'j'], [[1, { k: 'x|y' }]])).toBe(['a\\|b | j', '-----+-------------', '1    | {"k":"x\\|y"}'].join('\n'));
  });

  it('keeps a value with line breaks, control characters or line separators on its own line', () => {
    expect(renderCell('a\r\nb\rc\nd')).toBe('a\\nb\\rc\\nd');
    expect(renderCell('bell\u0007 esc\u001b[31m nul\u0000 del\u007f c1\u0085')).toBe(
      'bell\\u0007 esc\\u001b[31m nul\\u0000 del\\u007f c1\\u0085',
    );
    expect(renderCell('line\u2028para\u2029')).toBe('line\\u2028para\\u2029');
    expect(renderCell('abc\u202edef\u2066')).toBe('abc\\u202edef\\u2066');
    const table = formatTable(['v'], [['x\n1  | forged'], ['y\u2028z']]);
    expect(table.split(/\r\n|[\n\r\u2028\u2029\u0085]/)).toEqual(['v', '-'.repeat(15), 'x\\n1  \\| forged', 'y\\u2028z']);
  });

  it('leaves other text alone, backslashes included', () => {
    expect(renderCell('\\x0102 C:\\dir naïve 日本 😀')).toBe('\\x0102 C:\\dir naïve 日本 😀');
  });
});

describe('formatTable: a text table whose size stays near its cells’', () => {
  it('does not pad every row to one long cell', () => {
    // 300 rows of about 1 MB in all, one cell of them long: padded to it, they were 300 MB of text.
    const rows = Array.from({ length: 300 }, (_, i) => [i === 0 ? 'x'.repeat(1_000_000) : '', i]);
    const table = formatTable(['c', 'd'], rows);
    expect(table.length).toBeLessThan(1_000_000 + 300 * 60);
    expect(table.split('\n')[3]).toBe(`${' '.repeat(40)} | 1`);
  });

  it('stops at its character limit, saying so', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ['y'.repeat(100), i]);
    const table = formatTable(['c', 'd'], rows, 2_000);
    expect(table.length).toBeLessThanOrEqual(2_200);
    expect(table.split('\n').at(-1)).toMatch(/^… the text table stops here, at \d+ of 100 rows \(2,000 characters at most\); the structured result holds every row$/);
  });
});
