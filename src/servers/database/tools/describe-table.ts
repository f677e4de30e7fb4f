import type { ClientBase } from 'pg';
import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { formatTable } from '../format.ts';
import type { DatabaseToolContext } from '../session.ts';

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

const constraintColumns = (keys: string, table: string) =>
  `array(select a.attname::text from unnest(${keys}) with ordinality k(attnum, ord)
           join pg_attribute a on a.attrelid = ${table} and a.attnum = k.attnum order by k.ord)`;

async function describe(client: ClientBase, schema: string, table: string) {
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
      order by a.attnum`,
    [oid],
  );
  const constraints = await client.query<Constraint>(
    `select c.conname as name, c.contype as type, ${constraintColumns('c.conkey', 'c.conrelid')} as columns,
            case when c.contype = 'f' then c.confrelid::regclass::text end as "referencedTable",
            case when c.contype = 'f' then ${constraintColumns('c.confkey', 'c.confrelid')} end as "referencedColumns",
            pg_get_constraintdef(c.oid, true) as definition
       from pg_constraint c
      where c.conrelid = $1 and c.contype in ('p', 'f')
      order by c.contype desc, c.conname`,
    [oid],
  );
  const indexes = await client.query<Index>(
    `select i.relname as name, x.indisunique as unique, x.indisprimary as primary, pg_get_indexdef(x.indexrelid) as definition
       from pg_index x join pg_class i on i.oid = x.indexrelid
      where x.indrelid = $1
      order by i.relname`,
    [oid],
  );
  const primaryKey = constraints.rows.find((c) => c.type === 'p')?.columns ?? null;
  const foreignKeys = constraints.rows
    .filter((c) => c.type === 'f')
    .map(({ name, columns: cols, referencedTable, referencedColumns, definition }) => ({
      name,
      columns: cols,
      referencedTable,
      referencedColumns,
      definition,
    }));
  const { oid: _oid, ...about } = found;
  return { schema, table, ...about, columns: columns.rows, primaryKey, foreignKeys, indexes: indexes.rows };
}

type Description = Awaited<ReturnType<typeof describe>>;

function describeAsText(d: Description): string {
  const estimate = d.estimatedRows === null ? '' : `, about ${d.estimatedRows} rows`;
  const lines = [`"${d.schema}"."${d.table}" (${d.kind}${estimate})${d.description ? `: ${d.description}` : ''}`, ''];
  lines.push(
    formatTable(
      ['column', 'type', 'nullable', 'default', 'description'],
      d.columns.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no', c.default ?? '', c.description ?? '']),
    ),
  );
  if (d.primaryKey) lines.push('', `Primary key: (${d.primaryKey.join(', ')})`);
  if (d.foreignKeys.length > 0) {
    lines.push('', 'Foreign keys:', ...d.foreignKeys.map((fk) => `  ${fk.name}: ${fk.definition}`));
  }
  if (d.indexes.length > 0) lines.push('', 'Indexes:', ...d.indexes.map((i) => `  ${i.definition}`));
  if (d.viewDefinition) lines.push('', 'Definition:', d.viewDefinition.trim());
  return lines.join('\n');
}

/** Registers `describe_table`: columns, primary key, foreign keys and indexes of one table or view. */
export function registerDescribeTableTool(registry: ToolRegistry, ctx: DatabaseToolContext): void {
  registry.registerTool(
    {
      name: 'describe_table',
      title: 'Describe a table',
      description:
        'Describes one table or view: its columns (name, type, nullable, default, comment), primary key, ' +
        'foreign keys (which show how tables join), indexes (which show what can be filtered on cheaply) and, for ' +
        'views, the defining query. Call it before writing a query against a table you have not described yet.',
      inputSchema: z.object({
        table: z.string().min(1).describe('Table or view name as stored (case-sensitive, no quotes or schema prefix).'),
        schema: z.string().min(1).default('public').describe('Schema of the table; default "public".'),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ table, schema }, { signal }) => {
      const description = await ctx.readOnly(signal, (client) => describe(client, schema, table));
      return textResult(describeAsText(description), description);
    },
  );
}
