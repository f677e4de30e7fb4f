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

/** A value as one line of a text table. */
export function renderCell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t');
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
  const cells = rows.map((row) => columns.map((_, i) => renderCell(row[i])));
  const widths = columns.map((name, i) => Math.min(MAX_PADDED_WIDTH, Math.max(name.length, ...cells.map((row) => row[i]?.length ?? 0))));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  const lines = [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-')];
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
