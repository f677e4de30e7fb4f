/** One SQL statement of a script, without its terminating semicolon. */
export interface Statement {
  text: string;
  /** The first keyword, lower-cased, after any comments and opening parentheses; '' when there is none. */
  keyword: string;
}

const identifierChar = /[A-Za-z0-9_$\u0080-\uffff]/;
const dollarTagSource = String.raw`\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$`;

function isIdentifierChar(char: string | undefined): boolean {
  return char !== undefined && identifierChar.test(char);
}

/** Index just past the quoted text opened at `start` (the opening quote); the end of `sql` when unterminated. */
function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const char = sql[i];
    if (backslashEscapes && char === '\\') i += 2;
    else if (char === quote && sql[i + 1] === quote) i += 2;
    else if (char === quote) return i + 1;
    else i += 1;
  }
  return sql.length;
}

/** Index just past a block comment opened at `start`; PostgreSQL's block comments nest. */
function skipBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else i += 1;
  }
  return sql.length;
}

/**
 * Splits SQL text into statements at the semicolons PostgreSQL would split
 * at: not inside '…', E'…', "…", $tag$…$tag$, -- comments or nested
 * /* comments *\/. Statements made only of whitespace and comments are
 * dropped, so a trailing semicolon or comment adds nothing. Unterminated
 * quotes or comments run to the end, as PostgreSQL reads them.
 */
export function splitStatements(sql: string): Statement[] {
  const statements: Statement[] = [];
  const dollarTag = new RegExp(dollarTagSource, 'y');
  let start = 0;
  let keyword = '';
  let hasContent = false;
  let sawToken = false;
  let i = 0;

  const finish = (end: number) => {
    if (hasContent) statements.push({ text: sql.slice(start, end).trim(), keyword });
    start = end + 1;
    keyword = '';
    hasContent = false;
    sawToken = false;
  };

  while (i < sql.length) {
    const char = sql[i] ?? '';
    const previous = sql[i - 1];
    if (char === ';') {
      finish(i);
      i += 1;
      continue;
    }
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    if (sql.startsWith('--', i)) {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 ? sql.length : newline + 1;
      continue;
    }
    if (sql.startsWith('/*', i)) {
      i = skipBlockComment(sql, i);
      continue;
    }
    hasContent = true;
    if (char === '(') {
      i += 1;
      continue;
    }
    const first = !sawToken;
    sawToken = true;
    if (char === "'" || char === '"') {
      // E'…' strings take backslash escapes; the E is an identifier-looking prefix.
      const escaped = char === "'" && (previous === 'e' || previous === 'E') && !isIdentifierChar(sql[i - 2]);
      i = skipQuoted(sql, i, char, escaped);
      continue;
    }
    if (char === '$' && !isIdentifierChar(previous)) {
      dollarTag.lastIndex = i;
      const tag = dollarTag.exec(sql)?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        i = close === -1 ? sql.length : close + tag.length;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(char) && !isIdentifierChar(previous)) {
      let end = i;
      while (isIdentifierChar(sql[end])) end += 1;
      if (first) keyword = sql.slice(i, end).toLowerCase();
      i = end;
      continue;
    }
    i += 1;
  }
  finish(sql.length);
  return statements;
}
