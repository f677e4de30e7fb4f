import * as z from 'zod';

/** Page-based paging as GitHub's REST API does it. */
export function pageShape(defaultPerPage: number) {
  return {
    perPage: z.number().int().min(1).max(100).default(defaultPerPage).describe('Results per page (1-100).'),
    page: z.number().int().min(1).default(1).describe('Page number, starting at 1.'),
  };
}

/** The next page number from GitHub's `Link` header, if there is one. */
export function nextPageFrom(headers: { link?: string | undefined }): number | undefined {
  const match = headers.link?.match(/<([^>]+)>;\s*rel="next"/);
  if (!match?.[1]) return undefined;
  const page = Number(new URL(match[1], 'https://api.github.com').searchParams.get('page'));
  return Number.isInteger(page) && page > 0 ? page : undefined;
}

/** GitHub's search API serves the first 1,000 results of a query and refuses pages past them (422). */
export const MAX_SEARCH_RESULTS = 1_000;

/**
 * The next page of a search, if GitHub will serve it: results remain, the
 * page was full, and it would start within the first 1,000 results.
 */
export function nextSearchPage(args: { page: number; perPage: number }, shownOnPage: number, totalCount: number): number | undefined {
  const shown = (args.page - 1) * args.perPage + shownOnPage;
  return shown < Math.min(totalCount, MAX_SEARCH_RESULTS) && shownOnPage === args.perPage ? args.page + 1 : undefined;
}

/** Said when a search found more than GitHub serves, so that the model narrows it rather than pages on. */
export function searchCapLine(totalCount: number): string {
  return totalCount > MAX_SEARCH_RESULTS
    ? `\nGitHub serves only the first ${MAX_SEARCH_RESULTS} results of a search: narrow the query (qualifiers such as repo:, path:, language:) to reach the rest.`
    : '';
}

/** A closing line telling the model how to get more results. */
export function moreLine(nextPage: number | undefined): string {
  return nextPage === undefined ? '' : `\nMore results: call again with page=${nextPage}.`;
}

/** Cuts long text (bodies, files) so one tool result cannot flood the model's context. */
export function truncate(text: string, maxChars: number): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  return { text: `${text.slice(0, maxChars)}\n… [truncated: ${text.length - maxChars} more characters]`, truncated: true };
}

/** Label names from GitHub's label list, where a label is a name or an object. */
export function labelNames(labels: ReadonlyArray<string | { name?: string | null }>): string[] {
  return labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((n) => n !== '');
}

/** `@login`, or a placeholder for deleted users (GitHub sends null). */
export function login(user: { login: string } | null | undefined): string {
  return user ? `@${user.login}` : '(unknown)';
}

/** First line of a commit message or body, for one-line listings. */
export function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

/** Reads change nothing; every GitHub tool reaches outside the gateway. */
export const readOnlyAnnotations = { readOnlyHint: true, openWorldHint: true } as const;
/** Creations add something new and overwrite nothing, and repeating one creates a duplicate. */
export const createAnnotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true } as const;
/** Updates replace what they name (a title, the labels), and repeating one changes nothing more. */
export const updateAnnotations = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true } as const;

/** The pull request a tool acts on. */
export const pullNumberShape = { pullNumber: z.number().int().positive().describe('The pull request number, as in #123.') };

/** Longest issue or pull request body returned to the model. */
export const MAX_BODY_CHARS = 20_000;

/** "1 comment", "3 comments". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
