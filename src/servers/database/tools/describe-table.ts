import type { ClientBase } from 'pg';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { formatTable, renderCell } from '../format.ts';
import { capRows, describeTruncation, type TruncatedBy } from '../row-cap.ts';
import type { DatabaseLimits, DatabaseToolContext } from '../session.ts';

interface Relation {
  oid: number;
  kind: string;
  estimatedRows: number | null;
  description: string | null;
  viewDefinition: string | null;
}

interface Column {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
  description: string | null;
}

interface Constraint {
  name: string;
  type: 'p' | 'f';
  columns: string[];
  referencedTable: string | null;
  referencedColumns: string[] | null;
  definition: string;
}

interface Index {
  name: string;
  unique: boolean;
  primary: boolean;
  definition: string;
}

/** The lists of a description that are cut at the limits. */
type ListName = 'columns' | 'foreignKeys' | 'indexes';

const constraintColumns = (keys: string, table: string) =>
  `array(select a.attname::text from unnest(${keys}) with ordinality k(attnum, ord)
           join pg_attribute a on a.attrelid = ${table} and a.attnum = k.attnum order by k.ord)`;

/** An SQL string literal of `text`, for the queries a truncated description suggests. */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

async function describe(client: ClientBase, schema: string, table: string, limits: DatabaseLimits) {
  const relation = await client.query<Relation>(
    `select c.oid::int8::float8 as oid,
            case c.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'f' then 'foreign table' else 'table' end as kind,
            case when c.relkind in ('v', 'f') or c.reltuples < 0 then null else c.reltuples::bigint::float8 end as "estimatedRows",
            obj_description(c.oid, 'pg_class') as description,
            case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid, true) end as "viewDefinition"
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f')`,
    [schema, table],
  );
  const found = relation.rows[0];
  if (!found) throw new ToolError(`Table "${schema}"."${table}" does not exist; call list_tables to see the tables of a schema.`);
  const oid = found.oid;
  const columns = await client.query<Column>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable,
            pg_get_expr(d.adbin, d.adrelid) as default, col_description(a.attrelid, a.attnum) as description
       from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
      order by a.attnum
      limit $2`,
    [oid, limits.rowLimit + 1],
  );
  const constraints = await client.query<Constraint>(
    `select c.conname as name, c.contype as type, ${constraintColumns('c.conkey', 'c.conrelid')} as columns,
            case when c.contype = 'f' then c.confrelid::regclass::text end as "referencedTable",
            case when c.contype = 'f' then ${constraintColumns('c.confkey', 'c.confrelid')} end as "referencedColumns",
            pg_get_constraintdef(c.oid, true) as definition
       from pg_constraint c
      where c.conrelid = $1 and c.contype in ('p', 'f')
      order by c.contype desc, c.conname
      limit $2`,
    // The primary key first, then one foreign key past the limit.
    [oid, limits.rowLimit + 2],
  );
  const indexes = await client.query<Index>(
    `select i.relname as name, x.indisunique as unique, x.indisprimary as primary, pg_get_indexdef(x.indexrelid) as definition
       from pg_index x join pg_class i on i.oid = x.indexrelid
      where x.indrelid = $1
      order by i.relname
      limit $2`,
    [oid, limits.rowLimit + 1],
  );
  const primaryKey = constraints.rows.find((c) => c.type === 'p')?.columns ?? null;
  const foreignKeyRows = constraints.rows
    .filter((c) => c.type === 'f')
    .map(({ name, columns: cols, referencedTable, referencedColumns, definition }) => ({
      name,
      columns: cols,
      referencedTable,
      referencedColumns,
      definition,
    }));
  // The lists share the byte limit, in the order they are shown.
  const cappedColumns = capRows(columns.rows, limits);
  const cappedForeignKeys = capRows(foreignKeyRows, { ...limits, maxResultBytes: limits.maxResultBytes - cappedColumns.bytes });
  const cappedIndexes = capRows(indexes.rows, { ...limits, maxResultBytes: limits.maxResultBytes - cappedColumns.bytes - cappedForeignKeys.bytes });
  const truncatedLists: Partial<Record<ListName, TruncatedBy>> = {};
  for (const [list, capped] of [['columns', cappedColumns], ['foreignKeys', cappedForeignKeys], ['indexes', cappedIndexes]] as const) {
    if (capped.truncatedBy) truncatedLists[list] = capped.truncatedBy;
  }
  const truncated = Object.keys(truncatedLists).length > 0;
  const { oid: _oid, ...about } = found;
  return {
    schema,
    table,
    ...about,
    columns: cappedColumns.rows,
    primaryKey,
    foreignKeys: cappedForeignKeys.rows,
    indexes: cappedIndexes.rows,
    truncated,
    ...(truncated && { truncatedLists }),
  };
}

type Description = Awaited<ReturnType<typeof describe>>;

/** What a description's lists hold, and the query that reads past the first `shown` entries of one. */
const lists: Record<ListName, { what: string; rest: (d: Description, shown: number) => string }> = {
  columns: {
    what: 'columns',
    rest: (d, shown) =>
      `select column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = ${literal(d.schema)} ` +
      `and table_name = ${literal(d.table)} order by ordinal_position offset ${shown}`,
  },
  foreignKeys: {
    what: 'foreign keys',
    rest: (d, shown) =>
      `select conname, pg_get_constraintdef(oid) from pg_constraint where conrelid = format('%I.%I', ${literal(d.schema)}, ${literal(d.table)})::regclass ` +
      `and contype = 'f' order by conname offset ${shown}`,
  },
  indexes: {
    what: 'indexes',
    rest: (d, shown) =>
      `select indexname, indexdef from pg_indexes where schemaname = ${literal(d.schema)} and tablename = ${literal(d.table)} ` +
      `order by indexname offset ${shown}`,
  },
};

/** The line saying that `list` was cut, if it was, with the query that reads the rest. */
function truncationOf(d: Description, list: ListName, limits: DatabaseLimits): string[] {
  const truncatedBy = d.truncatedLists?.[list];
  if (!truncatedBy) return [];
  const { what, rest } = lists[list];
  return [describeTruncation(truncatedBy, what, limits, `Run query with: ${rest(d, d[list].length)}`)];
}

function describeAsText(d: Description, limits: DatabaseLimits): string {
  const estimate = d.estimatedRows === null ? '' : `, about ${d.estimatedRows} rows`;
  // Names, comments and definitions are one line each, escaped as cells are, so none can fake a line of its own.
  const lines = [`"${renderCell(d.schema)}"."${renderCell(d.table)}" (${d.kind}${estimate})${d.description ? `: ${renderCell(d.description)}` : ''}`, ''];
  lines.push(
    formatTable(
      ['column', 'type', 'nullable', 'default', 'description'],
      d.columns.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no', c.default ?? '', c.description ?? '']),
    ),
    ...truncationOf(d, 'columns', limits),
  );
  if (d.primaryKey) lines.push('', `Primary key: (${d.primaryKey.map(renderCell).join(', ')})`);
  if (d.foreignKeys.length > 0 || d.truncatedLists?.foreignKeys) {
    lines.push('', 'Foreign keys:', ...d.foreignKeys.map((fk) => `  ${renderCell(fk.name)}: ${renderCell(fk.definition)}`), ...truncationOf(d, 'foreignKeys', limits));
  }
  if (d.indexes.length > 0 || d.truncatedLists?.indexes) {
    lines.push('', 'Indexes:', ...d.indexes.map((i) => `  ${renderCell(i.definition)}`), ...truncationOf(d, 'indexes', limits));
  }
  if (d.viewDefinition) lines.push('', 'Definition:', d.viewDefinition.trim());
  return lines.join('\n');
}

/** Registers `describe_table`: columns, primary key, foreign keys and indexes of one table or view. */
export function registerDescribeTableTool(registry: ToolRegistry, ctx: DatabaseToolContext): void {
  const { limits } = ctx;
  registry.registerTool(
    {
      name: 'describe_table',
      title: 'Describe a table',
      description:
        'Describes one table or view: its columns (name, type, nullable, default, comment), primary key, ' +
        'foreign keys (which show how tables join), indexes (which show what can be filtered on cheaply) and, for ' +
        'views, the defining query. Call it before writing a query against a table you have not described yet. ' +
        `At most ${limits.rowLimit} columns, foreign keys and indexes each are listed (the result says when there are more, and how to read them).`,
      inputSchema: z.object({
        table: z.string().min(1).describe('Table or view name as stored (case-sensitive, no quotes or schema prefix).'),
        schema: z.string().min(1).default('public').describe('Schema of the table; default "public".'),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ table, schema }, { signal }) => {
      const description = await ctx.readOnly(signal, (client) => describe(client, schema, table, limits));
      return textResult(describeAsText(description, limits), description);
    },
  );
}
