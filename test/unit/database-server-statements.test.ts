import { describe, expect, it } from 'vitest';
import { splitStatements } from '../../src/servers/database/statements.ts';

const texts = (sql: string) => splitStatements(sql).map((s) => s.text);

describe('splitStatements', () => {
  it('reads one statement, with or without a trailing semicolon', () => {
    expect(splitStatements('select 1')).toEqual([{ text: 'select 1', keyword: 'select' }]);
    expect(splitStatements('  select 1 ;  ')).toEqual([{ text: 'select 1', keyword: 'select' }]);
    expect(texts('select 1;;')).toEqual(['select 1']);
  });

  it('splits at semicolons outside quotes and comments', () => {
    expect(texts('select 1; delete from t')).toEqual(['select 1', 'delete from t']);
    expect(texts('commit; delete from t')).toEqual(['commit', 'delete from t']);
    expect(texts('select 1;commit;')).toEqual(['select 1', 'commit']);
  });

  it.each([
    ['a single-quoted string', "select 'a;b'"],
    ["a doubled '' inside a string", "select 'it''s; fine'"],
    ['a quoted identifier', 'select 1 as "a;b"'],
    ['a doubled "" inside an identifier', 'select 1 as "a"";b"'],
    ['an E-string with an escaped quote', "select E'a\\';b'"],
    ['a dollar-quoted string', 'select $$a;b$$'],
    ['a tagged dollar-quoted string', 'select $fn$ a; $$ ; b $fn$'],
    ['a line comment', 'select 1 -- ; delete from t'],
    ['a block comment', 'select /* ; delete from t */ 1'],
    ['nested block comments', 'select /* a /* ; */ ; */ 1'],
  ])('does not split inside %s', (_what, sql) => {
    expect(texts(sql)).toEqual([sql]);
  });

  it('ends a line comment at the newline', () => {
    expect(texts('select 1 -- note\n; delete from t')).toEqual(['select 1 -- note', 'delete from t']);
  });

  it('reads a backslash in a standard string as a plain character', () => {
    expect(texts("select 'a\\'; delete from t")).toEqual(["select 'a\\'", 'delete from t']);
  });

  it('does not take $1 or a $ inside an identifier for a dollar quote', () => {
    expect(texts('select $1; select 2')).toEqual(['select $1', 'select 2']);
    expect(texts('select a$b$ from t; delete from t')).toEqual(['select a$b$ from t', 'delete from t']);
  });

  it('keeps an unterminated string or dollar quote running to the end', () => {
    expect(texts("select 'a; delete from t")).toEqual(["select 'a; delete from t"]);
    expect(texts('select $x$ a; delete from t')).toEqual(['select $x$ a; delete from t']);
  });

  it('drops pieces made only of whitespace and comments', () => {
    expect(texts('select 1; -- done')).toEqual(['select 1']);
    expect(texts('/* a */ ; -- b\n;')).toEqual([]);
    expect(texts('')).toEqual([]);
  });

  it('names the first keyword after comments and parentheses, lower-cased', () => {
    expect(splitStatements('-- hi\n/* x */ ((SELECT 1))')[0]?.keyword).toBe('select');
    expect(splitStatements('WITH x AS (select 1) table x')[0]?.keyword).toBe('with');
    expect(splitStatements("'a' select")[0]?.keyword).toBe('');
    expect(splitStatements('Commit')[0]?.keyword).toBe('commit');
  });
});
