import { describe, expect, it } from 'vitest';
import { matchLinesIgnoringWhitespace, reindentLines } from '../../src/servers/filesystem/line-match.ts';

/** `content` with the one match applied, as edit_file applies it. */
function apply(content: string, oldText: string, newText: string): string {
  const match = matchLinesIgnoringWhitespace(content, { oldText, newText });
  if (match.found !== 'one') throw new Error(`expected one match, got ${JSON.stringify(match)}`);
  return content.slice(0, match.at) + match.newText + content.slice(match.at + match.oldText.length);
}

describe('reindentLines', () => {
  it('puts the first line at the first matched line’s indentation, whatever it was sent with', () => {
    expect(reindentLines(['\t\treturn 2;'], ['return 1;'], ['    return 1;'])).toEqual(['    return 2;']);
  });

  it('shifts a block sent dedented as a whole, nested lines included', () => {
    const file = ['    if (x) {', '        y();', '    }'];
    const old = ['if (x) {', '    y();', '}'];
    expect(reindentLines(['if (x) {', '    z();', '    if (w) {', '        v();', '    }', '}'], old, file)).toEqual([
      '    if (x) {',
      '        z();',
      '        if (w) {',
      '            v();',
      '        }',
      '    }',
    ]);
  });

  it('indents flush-left later lines of a flush-left block to the block', () => {
    expect(reindentLines(['a2();', 'b2();', 'c2();'], ['a();', 'b();'], ['    a();', '    b();'])).toEqual([
      '    a2();',
      '    b2();',
      '    c2();',
    ]);
  });

  it('leaves the later lines where they are when only the first line’s indentation was left out', () => {
    const file = ['    if x:', '        y()', '    return 1'];
    const old = ['if x:', '        y()', '    return 1'];
    expect(reindentLines(['if x:', '        z()', '    return 2'], old, file)).toEqual(['    if x:', '        z()', '    return 2']);
  });

  it('maps each indentation level of oldText to the file’s, tabs for spaces included', () => {
    const file = ['\tif (x) {', '\t\ty();', '\t}'];
    const old = ['    if (x) {', '        y();', '    }'];
    expect(reindentLines(['    if (x) {', '        z();', '    }'], old, file)).toEqual(['\tif (x) {', '\t\tz();', '\t}']);
  });

  it('indents each line to the longest of many oldText levels it starts with', () => {
    // A request may carry thousands of levels: the longest is found by a walk down a trie of them, not level by level.
    const levels = 1900;
    const old = Array.from({ length: levels }, (_, i) => `${' '.repeat(i + 2)}l${i}`);
    const file = Array.from({ length: levels }, (_, i) => `${' '.repeat(i + 1)}l${i}`);
    const lines = ['x', 'x', `${' '.repeat(502)}mid`, `${' '.repeat(levels + 1)}deep`, `${' '.repeat(levels + 5)}deeper`];
    const result = reindentLines(lines, old, file);
    expect(result.slice(1)).toEqual(['x', `${' '.repeat(501)}mid`, `${' '.repeat(levels)}deep`, `${' '.repeat(levels + 4)}deeper`]);
  });

  it('keeps blank lines and lines under no level of oldText as sent', () => {
    const file = ['\tif (x) {', '\t\ty();'];
    const old = ['  if (x) {', '    y();'];
    expect(reindentLines(['', 'if (x) {', ' ', '    z();', ' odd();'], old, file)).toEqual(['', '\tif (x) {', ' ', '\t\tz();', ' odd();']);
  });
});

describe('matchLinesIgnoringWhitespace', () => {
  it('finds lines whose indentation and trailing whitespace differ, and replaces them whole', () => {
    const content = 'function f() {\n    if (x) {  \n        y();\n    }\n    return 1;\n}\n';
    expect(apply(content, 'if (x) {\n    y();\n}', 'if (x) {\n    z();\n} else {\n    w();\n}')).toBe(
      'function f() {\n    if (x) {\n        z();\n    } else {\n        w();\n    }\n    return 1;\n}\n',
    );
  });

  it('keeps a CRLF file’s line endings, in the new lines too, and takes CRLF edits for LF files', () => {
    expect(apply('a\r\n    b();\r\n    c();\r\nd\r\n', 'b();\nc();', 'b2();\nc2();')).toBe('a\r\n    b2();\r\n    c2();\r\nd\r\n');
    expect(apply('a\n    b();\n    c();\nd\n', 'b();\r\nc();', 'b2();\r\nc2();')).toBe('a\n    b2();\n    c2();\nd\n');
    // A last line without a line break: the one before it says which; a file of one line gets LF.
    expect(apply('a\r\nb\n  c', 'c ', 'c\nd')).toBe('a\r\nb\n  c\n  d');
    expect(apply('a\nb\r\n  c', 'c ', 'c\nd')).toBe('a\nb\r\n  c\r\n  d');
    expect(apply('  only', 'only ', 'x\ny')).toBe('  x\n  y');
  });

  it('takes a final line break of oldText as the last line’s own, not as an empty line after it', () => {
    expect(apply('{\n    a();\n    b();\n}\n', '      a();\n', '      a2();\n')).toBe('{\n    a2();\n    b();\n}\n');
    expect(apply('{\n    a();\n    b();\n}\n', '      a();\n', '      a2();')).toBe('{\n    a2();    b();\n}\n');
    expect(apply('{\n    a();\n    b();\n}\n', ' a(); \n', '')).toBe('{\n    b();\n}\n');
    // The last line has no line break to match one.
    expect(matchLinesIgnoringWhitespace('a\n  b', { oldText: 'b \n', newText: 'c' })).toEqual({ found: 'none' });
  });

  it('reports nothing found for lines that are not there, and for an oldText of only whitespace', () => {
    expect(matchLinesIgnoringWhitespace('a\nb\n', { oldText: 'zzz\n  yyy', newText: 'x' })).toEqual({ found: 'none' });
    expect(matchLinesIgnoringWhitespace('a\n\nb\n', { oldText: '  \n', newText: 'x' })).toEqual({ found: 'none' });
    // Whole lines only: part of a line is matched only as sent.
    expect(matchLinesIgnoringWhitespace('const a = 1;\n', { oldText: ' a = 1;', newText: 'x' })).toEqual({ found: 'none' });
  });

  it('reports more than one place by the first two lines (1-based), overlapping runs included', () => {
    const content = 'if (a) {\n    go();\n}\nif (b) {\n    go();\n}\n';
    expect(matchLinesIgnoringWhitespace(content, { oldText: 'go();\n  }', newText: 'x' })).toEqual({ found: 'many', lines: [2, 5] });
    expect(matchLinesIgnoringWhitespace('}\n }\n  }\n', { oldText: '}\n}', newText: 'x' })).toEqual({ found: 'many', lines: [1, 2] });
  });

  it('finds a run after a partial one that shares its start', () => {
    expect(apply('a\na\na\nb\n', ' a\n a\n b', 'x')).toBe('a\nx\n');
  });
});
