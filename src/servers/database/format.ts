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

/**
 * A psql-style aligned table:
 *
 *     id | name
 *     ---+------
 *     1  | alice
 */
export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) => columns.map((_, i) => renderCell(row[i])));
  const widths = columns.map((name, i) => Math.max(name.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line)].join('\n');
}
