import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { count, moreLine, nextSearchPage, pageShape, readOnlyAnnotations, searchCapLine } from '../format.ts';
import { scopedQuery, scopeNote } from '../search-scope.ts';

/** Registers `search_code`: GitHub code search, scoped to a repository unless the query says otherwise. */
export function registerSearchCodeTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'search_code',
      title: 'Search code',
      description:
        "Searches file contents on GitHub with GitHub's code search syntax, e.g. 'createServer language:typescript path:src'. " +
        `Returns matching file paths; read one with get_file_contents.${scopeNote(ctx)}`,
      inputSchema: z.object({
        query: z.string().min(1).max(256).describe('Search terms and qualifiers (language:, path:, extension:, repo:, org:).'),
        ...ctx.repoShape,
        ...pageShape(20),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const q = scopedQuery(ctx, args.query, args);
      const { data } = await ctx.call(context, `code matching '${q}'`, (request) =>
        ctx.client.rest.search.code({ q, per_page: args.perPage, page: args.page, request }),
      );
      const items = data.items.map((i) => ({ repository: i.repository.full_name, path: i.path, sha: i.sha, url: i.html_url }));
      const nextPage = nextSearchPage(args, items.length, data.total_count);
      const header = `${count(data.total_count, 'code result')} for '${q}'${data.incomplete_results ? ' (incomplete: the search timed out)' : ''}`;
      const lines = items.map((i) => `${i.repository}: ${i.path}`);
      return textResult(`${header}${items.length > 0 ? `:\n${lines.join('\n')}` : '.'}${searchCapLine(data.total_count)}${moreLine(nextPage)}`, {
        query: q,
        totalCount: data.total_count,
        incompleteResults: data.incomplete_results,
        items,
        ...(nextPage !== undefined && { nextPage }),
      });
    },
  );
}
