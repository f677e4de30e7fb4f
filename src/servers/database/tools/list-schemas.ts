import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import { formatTable } from '../format.ts';
import { capRows, describeTruncation } from '../row-cap.ts';
import type { DatabaseToolContext } from '../session.ts';

interface SchemaRow {
  name: string;
  owner: string;
  description: string | null;
}

/** Registers `list_schemas`: the schemas that hold user data, without PostgreSQL's own. */
export function registerListSchemasTool(registry: ToolRegistry, ctx: DatabaseToolContext): void {
  const { limits } = ctx;
  registry.registerTool(
    {
      name: 'list_schemas',
      title: 'List schemas',
      description:
        "Lists the database's schemas (namespaces of tables), leaving out PostgreSQL's system schemas " +
        '(pg_catalog, information_schema, pg_toast). Start here when you do not know where the tables are; ' +
        `then call list_tables with a schema name. At most ${limits.rowLimit} schemas are listed (the result says when ` +
        'there are more); pass pattern to list only the schemas whose names match it.',
      inputSchema: z.object({
        pattern: z
          .string()
          .min(1)
          .optional()
          .describe('Only schemas whose names match this pattern, ignoring case (SQL ILIKE: % is any text, _ one character), e.g. "sales%".'),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ pattern }, { signal }) => {
      const fetched = await ctx.readOnly(signal, async (client) => {
        const result = await client.query<SchemaRow>(
          `select n.nspname as name, pg_get_userbyid(n.nspowner) as owner, obj_description(n.oid, 'pg_namespace') as description
             from pg_namespace n
            where n.nspname <> 'information_schema' and n.nspname !~ '^pg_' and ($1::text is null or n.nspname ilike $1)
            order by n.nspname
            limit $2`,
          [pattern ?? null, limits.rowLimit + 1],
        );
        return result.rows;
      });
      const { rows, truncatedBy } = capRows(fetched, limits);
      const matching = pattern === undefined ? '' : ` matching "${pattern}"`;
      const lines = [
        formatTable(
          ['schema', 'owner', 'description'],
          rows.map((r) => [r.name, r.owner, r.description ?? '']),
        ),
        `(${rows.length} schemas${matching})`,
      ];
      if (truncatedBy) {
        const narrow = pattern === undefined ? 'Pass pattern (e.g. "sales%") to list only the schemas whose names match it.' : 'Pass a narrower pattern.';
        lines.push(describeTruncation(truncatedBy, `schemas${matching}`, limits, narrow));
      }
      return textResult(lines.join('\n'), { schemas: rows, truncated: truncatedBy !== undefined, ...(truncatedBy && { truncatedBy }) });
    },
  );
}
