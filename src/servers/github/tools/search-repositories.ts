import * as z from 'zod';
import type { ToolRegistry } from '../../tool-registry.ts';
import { textResult } from '../../tool-source.ts';
import type { GithubToolContext } from '../context.ts';
import { count, moreLine, nextSearchPage, pageShape, readOnlyAnnotations, searchCapLine } from '../format.ts';

/** Registers `search_repositories`: GitHub repository search. */
export function registerSearchRepositoriesTool(registry: ToolRegistry, ctx: GithubToolContext): void {
  registry.registerTool(
    {
      name: 'search_repositories',
      title: 'Search repositories',
      description:
        "Searches GitHub repositories with GitHub's search syntax, e.g. 'mcp gateway language:typescript stars:>10' or 'org:acme'. " +
        'Returns names, descriptions, stars and languages.',
      inputSchema: z.object({
        query: z.string().min(1).max(256).describe('Search terms and qualifiers (user:, org:, language:, stars:, topic:).'),
        sort: z.enum(['stars', 'forks', 'updated']).optional().describe('Sort order; best match when omitted.'),
        ...pageShape(20),
      }),
      annotations: readOnlyAnnotations,
    },
    async (args, context) => {
      const { data } = await ctx.call(context, `repositories matching '${args.query}'`, (request) =>
        ctx.client.rest.search.repos({ q: args.query, ...(args.sort && { sort: args.sort }), per_page: args.perPage, page: args.page, request }),
      );
      const items = data.items.map((r) => ({
        fullName: r.full_name,
        description: r.description,
        stars: r.stargazers_count,
        language: r.language ?? null,
        private: r.private,
        defaultBranch: r.default_branch,
        url: r.html_url,
        updatedAt: r.updated_at,
      }));
      const nextPage = nextSearchPage(args, items.length, data.total_count);
      const lines = items.map(
        (r) => `${r.fullName} ★${r.stars}${r.language ? ` [${r.language}]` : ''}${r.private ? ' (private)' : ''}${r.description ? ` — ${r.description}` : ''}`,
      );
      const header = `${count(data.total_count, 'repository').replace(/ys$/, 'ies')} for '${args.query}'`;
      return textResult(`${header}${items.length > 0 ? `:\n${lines.join('\n')}` : '.'}${searchCapLine(data.total_count)}${moreLine(nextPage)}`, {
        totalCount: data.total_count,
        items,
        ...(nextPage !== undefined && { nextPage }),
      });
    },
  );
}
