import { describe, expect, it } from 'vitest';
import { quotaRefusal } from '../../src/servers/filesystem/area-quota.ts';
import { createUnifiedDiff } from '../../src/servers/filesystem/diff.ts';
import { createExcluder, createGlobMatcher } from '../../src/servers/filesystem/glob.ts';
import { checkPathSyntax, isWithin } from '../../src/servers/filesystem/sandbox.ts';
import { applyEdits } from '../../src/servers/filesystem/tools/edit-file.ts';

describe('createGlobMatcher', () => {
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
    ['**', '.git/config', true],
    ['?.md', 'a.md', true],
    ['?.md', 'ab.md', false],
    ['?.md', '/.md', false],
    ['*', '.env', true],
    ['a.b', 'aXb', false],
    ['file(1)+[x].txt', 'file(1)+[x].txt', true],
    ['[id].tsx', '[id].tsx', true],
    ['a**b', 'aXYb', true],
    ['a**b', 'a/b', false],
    ['!x', '!x', true],
    ['!x', 'y', false],
    ['**/*.{ts,js}', 'src/a.js', true],
    ['**/*.{ts,js}', 'a.ts', true],
    ['**/*.{ts,js}', 'a.tsx', false],
    ['*.[tj]s', 'a.js', true],
    ['*.[tj]s', 'a.cs', false],
    ['**/[cz]*.ts', 'src/core.ts', true],
    ['**/[cz]*.ts', 'zed.ts', true],
    ['**/[cz]*.ts', 'src/app.ts', false],
  ])('%s against the file %s → %s', (pattern, path, expected) => {
    expect(createGlobMatcher(pattern)(path, false)).toBe(expected);
  });

  it('matches only directories with a pattern ending in "/"', () => {
    expect(createGlobMatcher('**/')('src/deep', true)).toBe(true);
    expect(createGlobMatcher('**/')('src/deep/a.ts', false)).toBe(false);
    expect(createGlobMatcher('docs/**/')('docs/guides', true)).toBe(true);
    expect(createGlobMatcher('docs/**/')('docs/guides/a.md', false)).toBe(false);
    expect(createGlobMatcher('docs/**/')('src/guides', true)).toBe(false);
  });

  it.each([
    ['src/**/b/**/c.ts', 'src/a/b/x/y/c.ts', true],
    ['src/**/b/**/c.ts', 'src/a/b/c.ts', true],
    ['src/**/b/**/c.ts', 'src/b/c.ts', true],
    ['src/**/b/**/c.ts', 'src/a/c.ts', false],
    ['**/**/*.md', 'a.md', true],
    ['src/**', 'src', true],
    ['*.test.*', 'a.test.ts', true],
  ])('%s against the file %s → %s, "**" taking any run of segments', (pattern, path, expected) => {
    expect(createGlobMatcher(pattern)(path, false)).toBe(expected);
  });

  it('answers in bounded time a pattern built to make a regular expression backtrack', () => {
    // Each of these took seconds to minutes per name as one regular expression over the whole path.
    const name = 'a'.repeat(250);
    const deep = Array.from({ length: 16 }, () => name).join('/');
    for (const pattern of ['**/*a*/**/*a*/**/*b', '**/*a*b', '*a*b', '**/*a*/**/*a*/**/*a*/**/*a*/**/*b']) {
      const matches = createGlobMatcher(pattern);
      expect(matches(deep, false)).toBe(false);
      expect(matches(name, false)).toBe(false);
    }
  });

  it('refuses patterns whose matching could take exponential time, saying what to do', () => {
    expect(() => createGlobMatcher('*a*a*a*b')).toThrow(/at most 2 "\*" \("\*a\*a\*a\*b"\)/);
    expect(() => createExcluder(['{*a*,*b*}*c'])).toThrow(/^Invalid excludePatterns\[0\] .*at most 2 "\*"/);
    expect(() => createGlobMatcher('{src/a,lib}/*.ts')).toThrow(/may not contain "\/"/);
    expect(() => createGlobMatcher('/etc/*')).toThrow(/empty segment/);
    // {…} groups are alternations, which backtrack as stars do: thirteen groups of four "?" took seconds per name.
    expect(() => createGlobMatcher(`${'{?,?,?,?}'.repeat(13)}Z`)).toThrow(/at most 2 "\*" and \{…\} groups together/);
    expect(() => createExcluder(['*{a,b}*'])).toThrow(/^Invalid excludePatterns\[0\] .*at most 2 "\*" and \{…\} groups together/);
    expect(() => createGlobMatcher('{a,b,c,d,e,f,g,h,i}.ts')).toThrow(/at most 8 alternatives/);
    expect(() => createGlobMatcher('{a,{b,c}}.ts')).toThrow(/may not hold another/);
    expect(() => createGlobMatcher(`${'a'.repeat(1024)}*`)).toThrow(/longer than 1024 characters/);
    // Every exclude pattern is tried on every entry a walk meets.
    expect(() => createExcluder(Array.from({ length: 17 }, (_, i) => `skip-${i}`))).toThrow(/^Too many excludePatterns: 17, at most 16/);
    expect(createExcluder(Array.from({ length: 16 }, (_, i) => `skip-${i}`))('skip-15', 'skip-15', false)).toBe(true);
    expect(createGlobMatcher('**/*.{ts,tsx}')('src/a.tsx', false)).toBe(true);
    expect(createGlobMatcher('{src,lib}/*.{ts,js}')('lib/a.js', false)).toBe(true);
    // Extglob syntax is read literally rather than as nested repetition.
    expect(createGlobMatcher('+(a|b).txt')('+(a|b).txt', false)).toBe(true);
    expect(createGlobMatcher('+(a|b).txt')('a.txt', false)).toBe(false);
  });

  it('refuses a pattern that names nothing, naming the argument', () => {
    expect(() => createGlobMatcher('/')).toThrow(/^Invalid pattern "\/": it names no entries/);
    expect(() => createExcluder(['node_modules', ''])).toThrow(/^Invalid excludePatterns\[1\] "": it names no entries/);
  });
});

describe('createExcluder', () => {
  const excluded = createExcluder(['node_modules', '*.log', 'build/out', '*.{tmp,bak}', 'cache/']);

  it('matches a bare name at any depth', () => {
    expect(excluded('a/b/node_modules', 'node_modules', true)).toBe(true);
    expect(excluded('deep/x.log', 'x.log', false)).toBe(true);
    expect(excluded('deep/x.bak', 'x.bak', false)).toBe(true);
  });

  it('matches a pattern with a slash against the relative path only', () => {
    expect(excluded('build/out', 'out', false)).toBe(true);
    expect(excluded('other/out', 'out', false)).toBe(false);
  });

  it('matches a pattern ending in "/" against directories only, at any depth', () => {
    expect(excluded('a/cache', 'cache', true)).toBe(true);
    expect(excluded('a/cache', 'cache', false)).toBe(false);
  });

  it('keeps everything else', () => {
    expect(excluded('src/index.ts', 'index.ts', false)).toBe(false);
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

  // The expected texts are what `diff -u` and `git diff` print for these files.
  it('shows a final newline added, as diff(1) does', () => {
    expect(createUnifiedDiff('f', 'a\nb\nc', 'a\nb\nc\n')).toBe(
      ['--- f\toriginal', '+++ f\tmodified', '@@ -1,3 +1,3 @@', ' a', ' b', '-c', '\\ No newline at end of file', '+c', ''].join('\n'),
    );
  });

  it('shows a final newline removed, as diff(1) does', () => {
    expect(createUnifiedDiff('f', 'a\nb\nc\n', 'a\nb\nc')).toBe(
      ['--- f\toriginal', '+++ f\tmodified', '@@ -1,3 +1,3 @@', ' a', ' b', '-c', '+c', '\\ No newline at end of file', ''].join('\n'),
    );
  });

  it('marks an unchanged last line without a newline in the context', () => {
    expect(createUnifiedDiff('f', 'a\nb\nc', 'A\nb\nc')).toBe(
      ['--- f\toriginal', '+++ f\tmodified', '@@ -1,3 +1,3 @@', '-a', '+A', ' b', ' c', '\\ No newline at end of file', ''].join('\n'),
    );
  });

  it('is empty only for equal texts', () => {
    expect(createUnifiedDiff('f', 'a', 'a')).toBe('');
    expect(createUnifiedDiff('f', 'a', 'a\n')).not.toBe('');
    expect(createUnifiedDiff('f', '', '\n')).toContain('@@ -0,0 +1 @@\n+\n');
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
    expect(checkPathSyntax('./~notes.txt')).toBeUndefined();
    expect(checkPathSyntax('docs/~draft.md')).toBeUndefined();
    expect(checkPathSyntax('C')).toBeUndefined();
    expect(checkPathSyntax('C:notes')).toBeUndefined();
  });

  it.each(['~', '~/notes.txt', '~alice/notes.txt', '~notes.txt'])('refuses %j, which a shell would take for a home directory', (input) => {
    expect(checkPathSyntax(input)).toBe(
      `Invalid path: ${JSON.stringify(input)} starts with "~", which does not mean a home directory here. Paths are relative ` +
        'to the first allowed directory, or absolute within the allowed directories (see list_allowed_directories). ' +
        'For a name that really starts with "~", write "./~…".',
    );
  });

  it.each(['C:\\Users\\me\\notes.txt', 'c:/Users/me/notes.txt', 'D:'])('refuses the Windows drive path %j', (input) => {
    expect(checkPathSyntax(input)).toMatch(
      /^Invalid path: ".*" is a Windows drive path; this server's paths are POSIX paths\. Paths are relative to the first allowed directory, or absolute within the allowed directories \(see list_allowed_directories\)\.$/,
    );
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
  it('matches at most 16 MiB of text line by line in one call, refusing the edit past that and changing nothing', () => {
    // Each whitespace-tolerant match splits and trims the whole file again: a hundred over 10 MiB held the gateway for minutes.
    const content = `${'filler line\n'.repeat(500_000)}  alpha\n  beta\n  gamma\n`;
    const edit = (word: string) => ({ oldText: `${word}   `, newText: word.toUpperCase() });
    expect(applyEdits(content, [edit('alpha'), edit('beta')]).endsWith('  ALPHA\n  BETA\n  gamma\n')).toBe(true);
    expect(() => applyEdits(content, [edit('alpha'), edit('beta'), edit('gamma')])).toThrow(
      /^Edit 3 of 3: oldText "gamma   " is nowhere as sent, and this call has already matched 16\.0 MiB of text line by line .*Nothing was changed/,
    );
    // Exact matches cost no such scan.
    expect(applyEdits(content, ['alpha', 'beta', 'gamma'].map((word) => ({ oldText: `  ${word}`, newText: word })))).toMatch(/\nalpha\nbeta\ngamma\n$/);
  });

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

  it('matches text sent byte for byte in a file with mixed line endings, leaving the other lines as they are', () => {
    expect(applyEdits('a\r\nb\nc\n', [{ oldText: 'b\nc', newText: 'B\nC' }])).toBe('a\r\nB\nC\n');
    expect(applyEdits('a\r\nb\nc\n', [{ oldText: 'a\r\nb', newText: 'A\r\nB' }])).toBe('A\r\nB\nc\n');
  });

  it('adapts line endings only when the text as sent is nowhere, and then newText too', () => {
    expect(applyEdits('a\nb\nc\n', [{ oldText: 'a\r\nb', newText: 'x\r\ny' }])).toBe('x\ny\nc\n');
    expect(applyEdits('a\r\nb\nc\r\nd\n', [{ oldText: 'c\nd', newText: 'C\nD' }])).toBe('a\r\nb\nC\r\nD\n');
  });

  it('refuses text that matches more than once in whichever form matched', () => {
    expect(() => applyEdits('a\r\nb\r\na\r\nb\n', [{ oldText: 'a\nb', newText: 'x' }])).toThrow(/occurs more than once/);
    // Once with CRLF and once with LF: the edit could mean either.
    expect(() => applyEdits('a\r\nb\r\nc\na\nb\nc', [{ oldText: 'a\r\nb\nc', newText: 'x' }])).toThrow(/occurs more than once/);
    expect(applyEdits('a\nb\r\na\r\nb', [{ oldText: 'a\nb', newText: 'x' }])).toBe('x\r\na\r\nb');
  });

  it('gives newText the line ending of the line it goes into when oldText has no line break', () => {
    expect(applyEdits('a\r\nb\r\n', [{ oldText: 'b', newText: 'b\nc' }])).toBe('a\r\nb\r\nc\r\n');
    expect(applyEdits('a\r\nb\nc', [{ oldText: 'c', newText: 'c\r\nd' }])).toBe('a\r\nb\nc\nd');
    expect(applyEdits('one line', [{ oldText: 'one', newText: '1\r\n' }])).toBe('1\r\n line');
  });

  it('looks for lines with whitespace ignored only when oldText is nowhere as sent, in any line-ending form', () => {
    expect(applyEdits('if (a) {\n    b();\n}\n', [{ oldText: 'if (a) {\n  b();', newText: 'if (a) {\n  c();' }])).toBe('if (a) {\n    c();\n}\n');
    expect(applyEdits('x\r\n  y\r\n', [{ oldText: 'x\ny', newText: 'z' }])).toBe('z\r\n');
    // Found as sent, more than once: refused, not looked for line by line.
    expect(() => applyEdits('  a\n  a\nb\n', [{ oldText: 'a', newText: 'c' }])).toThrow(/Edit 1 of 1: oldText "a" occurs more than once/);
    expect(() => applyEdits('  a\n\ta\n', [{ oldText: 'a \n', newText: 'c' }])).toThrow(
      /Edit 1 of 1: .* its lines occur more than once \(from line 1 and from line 2\)/,
    );
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
