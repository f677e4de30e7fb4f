import { describe, expect, it } from 'vitest';
import { quotaRefusal } from '../../src/servers/filesystem/area-quota.ts';
import { createUnifiedDiff } from '../../src/servers/filesystem/diff.ts';
import { createExcluder, globToRegExp } from '../../src/servers/filesystem/glob.ts';
import { checkPathSyntax, isWithin } from '../../src/servers/filesystem/sandbox.ts';
import { applyEdits } from '../../src/servers/filesystem/tools/edit-file.ts';

describe('globToRegExp', () => {
  it.each([
    ['*.ts', 'a.ts', true],
    ['*.ts', 'src/a.ts', false],
    ['**/*.ts', 'a.ts', true],
    ['**/*.ts', 'src/deep/a.ts', true],
    ['**/*.ts', 'src/a.tsx', false],
    ['src/**', 'src/a/b.ts', true],
    ['src/**', 'other/a.ts', false],
    ['src/**/test/*.ts', 'src/test/a.ts', true],
    ['src/**/test/*.ts', 'src/x/y/test/a.ts', true],
    ['**', 'anything/at/all', true],
    ['?.md', 'a.md', true],
    ['?.md', 'ab.md', false],
    ['?.md', '/.md', false],
    ['*', '.env', true],
    ['a.b', 'aXb', false],
    ['file(1)+[x].txt', 'file(1)+[x].txt', true],
    ['a**b', 'aXYb', true],
    ['a**b', 'a/b', false],
  ])('%s against %s → %s', (pattern, path, expected) => {
    expect(globToRegExp(pattern).test(path)).toBe(expected);
  });
});

describe('createExcluder', () => {
  const excluded = createExcluder(['node_modules', '*.log', 'build/out']);

  it('matches a bare name at any depth', () => {
    expect(excluded('a/b/node_modules', 'node_modules')).toBe(true);
    expect(excluded('deep/x.log', 'x.log')).toBe(true);
  });

  it('matches a pattern with a slash against the relative path only', () => {
    expect(excluded('build/out', 'out')).toBe(true);
    expect(excluded('other/out', 'out')).toBe(false);
  });

  it('keeps everything else', () => {
    expect(excluded('src/index.ts', 'index.ts')).toBe(false);
  });
});

describe('createUnifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(createUnifiedDiff('f', 'a\nb\n', 'a\nb\n')).toBe('');
  });

  it('shows one changed line with three lines of context', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n') + '\n';
    const after = before.replace('5', 'five');
    expect(createUnifiedDiff('f.txt', before, after)).toBe(
      [
        '--- f.txt\toriginal',
        '+++ f.txt\tmodified',
        '@@ -2,7 +2,7 @@',
        ' 2',
        ' 3',
        ' 4',
        '-5',
        '+five',
        ' 6',
        ' 7',
        ' 8',
        '',
      ].join('\n'),
    );
  });

  it('splits distant changes into separate hunks', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const after = lines.map((l) => (l === 'line 2' || l === 'line 28' ? `${l}!` : l));
    const diff = createUnifiedDiff('f', lines.join('\n'), after.join('\n'));
    expect(diff.match(/^@@ .* @@$/gm)).toEqual(['@@ -1,5 +1,5 @@', '@@ -25,6 +25,6 @@']);
  });

  it('handles insertions into and deletion of everything', () => {
    expect(createUnifiedDiff('f', '', 'new\n')).toContain('@@ -0,0 +1 @@\n+new\n');
    expect(createUnifiedDiff('f', 'old\n', '')).toContain('@@ -1 +0,0 @@\n-old\n');
  });
});

describe('isWithin', () => {
  it.each([
    ['/x/a', '/x/a', true],
    ['/x/a/b', '/x/a', true],
    ['/x/a-evil', '/x/a', false],
    ['/x/ab', '/x/a', false],
    ['/x', '/x/a', false],
    ['/anything', '/', true],
  ])('%s within %s → %s', (child, parent, expected) => {
    expect(isWithin(child, parent)).toBe(expected);
  });
});

describe('checkPathSyntax', () => {
  it('accepts ordinary paths', () => {
    expect(checkPathSyntax('docs/readme.md')).toBeUndefined();
    expect(checkPathSyntax('x'.repeat(255))).toBeUndefined();
  });

  it.each([
    ['an empty path', '', /empty/],
    ['a NUL byte', 'a\0b', /NUL byte/],
    ['over 4096 characters', 'a/'.repeat(2049), /longer than 4096 characters/],
    ['a 256-byte name', `dir/${'x'.repeat(256)}`, /longer than 255 bytes/],
    ['a name over 255 bytes in UTF-8', 'é'.repeat(128), /longer than 255 bytes/],
  ])('refuses %s', (_why, input, message) => {
    expect(checkPathSyntax(input)).toMatch(message);
  });
});

describe('applyEdits', () => {
  it('applies replacements in order, each seeing the previous result', () => {
    expect(
      applyEdits('alpha beta gamma', [
        { oldText: 'beta', newText: 'BETA' },
        { oldText: 'BETA gamma', newText: 'delta' },
      ]),
    ).toBe('alpha delta');
  });

  it('names the edit whose text is missing', () => {
    expect(() =>
      applyEdits('abc', [
        { oldText: 'a', newText: 'x' },
        { oldText: 'zzz', newText: 'y' },
      ]),
    ).toThrow(/Edit 2 of 2: oldText "zzz" was not found/);
  });

  it('refuses text that occurs more than once, overlapping occurrences included', () => {
    expect(() => applyEdits('one two one', [{ oldText: 'one', newText: '1' }])).toThrow(
      /Edit 1 of 1: .* more than once/,
    );
    expect(() => applyEdits('aaa', [{ oldText: 'aa', newText: 'b' }])).toThrow(/more than once/);
  });

  it('matches LF edits against a CRLF file and keeps CRLF', () => {
    expect(applyEdits('a\r\nb\r\nc\r\n', [{ oldText: 'a\nb', newText: 'x\ny' }])).toBe('x\r\ny\r\nc\r\n');
  });

  it('inserts replacement text literally ($& and friends are not patterns)', () => {
    expect(applyEdits('price', [{ oldText: 'price', newText: '$& $1' }])).toBe('$& $1');
  });
});

describe('quotaRefusal', () => {
  const MIB = 1024 * 1024;

  it.each([
    [0, MIB, MIB],
    [MIB / 2, MIB / 2, MIB],
    [2 * MIB, 0, MIB],
    [2 * MIB, -MIB, MIB],
  ])('lets a change of %d + %d bytes through a %d-byte quota (it fits, or frees)', (used, growth, limit) => {
    expect(quotaRefusal(used, growth, limit)).toBeUndefined();
  });

  it('refuses one byte past the quota, saying what the area holds and what the change needs', () => {
    expect(quotaRefusal(MIB, 1, MIB)).toBe(
      "The tenant's file area is full: it holds 1.00 MiB of its 1.00 MiB quota, and this change needs 1 B more. Nothing was changed. " +
        'Make room by writing shorter content over large files you no longer need, or ask the operator to raise the quota (BOTGATE_FS_QUOTA).',
    );
  });
});
