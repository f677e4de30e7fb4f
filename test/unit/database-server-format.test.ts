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
