import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import { formatTable } from '../format.ts';
import type { DatabaseToolContext } from '../session.ts';

interface SchemaRow {
  name: string;
  owner: string;
  description: string | null;
}

/** Registers `list_schemas`: the schemas that hold user data, without PostgreSQL's own. */
export function registerListSchemasTool(registry: ToolRegistry, ctx: DatabaseToolContext): void {
  registry.registerTool(
    {
      name: 'list_schemas',
      title: 'List schemas',
      description:
        "Lists the database's schemas (namespaces of tables), leaving out PostgreSQL's system schemas " +
        '(pg_catalog, information_schema, pg_toast). Start here when you do not know where the tables are; ' +
        'then call list_tables with a schema name.',
      inputSchema: z.object({}),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (_args, { signal }) => {
      const rows = await ctx.readOnly(signal, async (client) => {
        const result = await client.query<SchemaRow>(
          `select n.nspname as name, pg_get_userbyid(n.nspowner) as owner, obj_description(n.oid, 'pg_namespace') as description
             from pg_namespace n
            where n.nspname <> 'information_schema' and n.nspname !~ '^pg_'
            order by n.nspname`,
        );
        return result.rows;
      });
      const table = formatTable(
        ['schema', 'owner', 'description'],
        rows.map((r) => [r.name, r.owner, r.description ?? '']),
      );
      return textResult(`${table}\n(${rows.length} schemas)`, { schemas: rows });
    },
  );
}
