import { types, type CustomTypesConfig } from 'pg';

const { builtins } = types;
const numeric = new Set<number>([builtins.INT2, builtins.INT4, builtins.OID, builtins.FLOAT4, builtins.FLOAT8]);
const json = new Set<number>([builtins.JSON, builtins.JSONB]);

function parseNumber(text: string): number | string {
  const value = Number(text);
  // NaN and Infinity have no JSON form: keep PostgreSQL's spelling.
  return Number.isFinite(value) ? value : text;
}

function parseValue(oid: number): (text: string) => unknown {
  if (numeric.has(oid)) return parseNumber;
  if (oid === (builtins.BOOL as number)) return (text) => text === 't';
  if (json.has(oid)) return (text) => JSON.parse(text) as unknown;
  // Everything else as PostgreSQL prints it: bigint and numeric keep their
  // precision, dates their time zone, bytea its \x hex.
  return (text) => text;
}

/** Type parsers that give JSON-safe values: numbers, booleans, JSON, and text for everything else. */
export const jsonSafeTypes: CustomTypesConfig = {
  getTypeParser: parseValue as CustomTypesConfig['getTypeParser'],
};

const escapes: Readonly<Record<string, string>> = { '\r\n': '\\n', '\n': '\\n', '\r': '\\r', '\t': '\\t', '|': '\\|' };
/**
 * What would break a row's line or column apart, or reorder what a reader
 * sees: the column separator, control characters (line breaks among them),
 * Unicode's line and paragraph separators, and bidirectional controls.
 */
const unsafe = /\r\n|[|\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * A value as one cell of a text table: on one line, with no `|` but the
 * separators'. `|` becomes `\|`, line breaks and tabs `\n`, `\r` and `\t`,
 * other control characters `\uXXXX`. Backslashes are not doubled, so a cell
 * reads as its value does; the structured result holds values exactly.
 */
export function renderCell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(unsafe, (char) => escapes[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Columns are padded to their widest cell up to this many characters; a longer cell is shown whole, unpadded. */
const MAX_PADDED_WIDTH = 40;
/** The most characters a text table holds: its cells are within the result's byte cap, but padding is not. */
export const MAX_TABLE_CHARS = 4 * 1024 * 1024;

/**
 * A psql-style aligned table:
 *
 *     id | name
 *     ---+------
 *     1  | alice
 *
 * Padding stops at `MAX_PADDED_WIDTH`, so one long cell cannot widen every
 * row; past `maxChars` the table stops with a line saying so.
 */
export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[], maxChars = MAX_TABLE_CHARS): string {
  // Column names are the query's to choose (select 1 as "a|b"): escaped as cells are.
  const header = columns.map(renderCell);
  const cells = rows.map((row) => columns.map((_, i) => renderCell(row[i])));
  const widths = header.map((name, i) => Math.min(MAX_PADDED_WIDTH, Math.max(name.length, ...cells.map((row) => row[i]?.length ?? 0))));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  const lines = [line(header), widths.map((w) => '-'.repeat(w)).join('-+-')];
  let length = lines[0]!.length + lines[1]!.length + 2;
  for (const [index, row] of cells.entries()) {
    const next = line(row);
    if (length + next.length + 1 > maxChars) {
      lines.push(`… the text table stops here, at ${index} of ${cells.length} rows (${maxChars.toLocaleString('en-US')} characters at most); the structured result holds every row`);
      break;
    }
    lines.push(next);
    length += next.length + 1;
  }
  return lines.join('\n');
}
