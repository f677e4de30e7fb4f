import type { GithubToolContext } from './context.ts';

/** True when the query already says where to search. */
function hasScopeQualifier(query: string): boolean {
  return /(^|\s)(repo|org|user):\S/i.test(query);
}

/** How a search tool's description says where it searches. */
export function scopeNote(ctx: GithubToolContext): string {
  return ctx.defaultRepo
    ? ` Without owner/repo it searches ${ctx.defaultRepo.owner}/${ctx.defaultRepo.repo}, unless the query has its own repo:, org: or user: qualifier.`
    : ' Pass owner and repo (or a repo:, org: or user: qualifier) to search one place.';
}

/** The query with `repo:` for the given or default repository added, unless it names its own scope or there is none. */
export function scopedQuery(ctx: GithubToolContext, query: string, args: { owner?: string | undefined; repo?: string | undefined }): string {
  if (hasScopeQualifier(query) || !(args.owner || args.repo || ctx.defaultRepo)) return query;
  const { owner, repo } = ctx.resolveRepo(args);
  return `${query} repo:${owner}/${repo}`;
}
