import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { formatTable } from '../format.ts';
import type { DatabaseToolContext } from '../session.ts';

interface TableRow {
  name: string;
  kind: string;
  /** PostgreSQL's planner estimate; null for views and tables never analyzed. */
  estimatedRows: number | null;
  description: string | null;
}

/** Registers `list_tables`: tables, views and materialized views of one schema with row estimates. */
export function registerListTablesTool(registry: ToolRegistry, ctx: DatabaseToolContext): void {
  registry.registerTool(
    {
      name: 'list_tables',
      title: 'List tables',
      description:
        'Lists the tables, views, materialized views and foreign tables of one schema (default "public"), with ' +
        "PostgreSQL's estimated row count (an estimate from the last ANALYZE, empty when unknown) and any comment. " +
        'Then call describe_table for columns and keys.',
      inputSchema: z.object({
        schema: z.string().min(1).default('public').describe('Schema name as stored (case-sensitive, no quotes); see list_schemas.'),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ schema }, { signal }) => {
      const rows = await ctx.readOnly(signal, async (client) => {
        const exists = await client.query('select 1 from pg_namespace where nspname = $1', [schema]);
        if (exists.rowCount === 0) throw new ToolError(`Schema "${schema}" does not exist; call list_schemas to see the schemas.`);
        const result = await client.query<TableRow>(
          `select c.relname as name,
                  case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view'
                                 when 'm' then 'materialized view' else 'foreign table' end as kind,
                  case when c.relkind in ('v', 'f') or c.reltuples < 0 then null else c.reltuples::bigint::float8 end as "estimatedRows",
                  obj_description(c.oid, 'pg_class') as description
             from pg_class c
             join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
            order by c.relname`,
          [schema],
        );
        return result.rows;
      });
      const table = formatTable(
        ['name', 'kind', 'estimated rows', 'description'],
        rows.map((r) => [r.name, r.kind, r.estimatedRows ?? '', r.description ?? '']),
      );
      return textResult(`Schema "${schema}":\n${table}\n(${rows.length} relations)`, { schema, tables: rows });
    },
  );
}
