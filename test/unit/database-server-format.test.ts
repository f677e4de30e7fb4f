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
