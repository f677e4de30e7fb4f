import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult, ToolError } from '../../tool-source.ts';
import { formatTable } from '../format.ts';
import { capRows, describeTruncation } from '../row-cap.ts';
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
  const { limits } = ctx;
  registry.registerTool(
    {
      name: 'list_tables',
      title: 'List tables',
      description:
        'Lists the tables, views, materialized views and foreign tables of one schema (default "public"), with ' +
        "PostgreSQL's estimated row count (an estimate from the last ANALYZE, empty when unknown) and any comment. " +
        `Then call describe_table for columns and keys. At most ${limits.rowLimit} are listed (the result says when ` +
        'there are more); pass pattern to list only the names that match it.',
      inputSchema: z.object({
        schema: z.string().min(1).default('public').describe('Schema name as stored (case-sensitive, no quotes); see list_schemas.'),
        pattern: z
          .string()
          .min(1)
          .optional()
          .describe('Only tables and views whose names match this pattern, ignoring case (SQL ILIKE: % is any text, _ one character), e.g. "order%".'),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ schema, pattern }, { signal }) => {
      const fetched = await ctx.readOnly(signal, async (client) => {
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
              and ($2::text is null or c.relname ilike $2)
            order by c.relname
            limit $3`,
          [schema, pattern ?? null, limits.rowLimit + 1],
        );
        return result.rows;
      });
      const { rows, truncatedBy } = capRows(fetched, limits);
      const matching = pattern === undefined ? '' : ` matching "${pattern}"`;
      const lines = [
        `Schema "${schema}":`,
        formatTable(
          ['name', 'kind', 'estimated rows', 'description'],
          rows.map((r) => [r.name, r.kind, r.estimatedRows ?? '', r.description ?? '']),
        ),
        `(${rows.length} relations${matching})`,
      ];
      if (truncatedBy) {
        const narrow = pattern === undefined ? 'Pass pattern (e.g. "order%") to list only the names that match it.' : 'Pass a narrower pattern.';
        lines.push(describeTruncation(truncatedBy, `relations in schema "${schema}"${matching}`, limits, narrow));
      }
      return textResult(lines.join('\n'), { schema, tables: rows, truncated: truncatedBy !== undefined, ...(truncatedBy && { truncatedBy }) });
    },
  );
}
