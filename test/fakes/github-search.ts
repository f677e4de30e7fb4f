import { blobSha, issueJson, repoJson } from './github-json.ts';
import { githubError, ok, paginate, validationFailed, type FakeRequest, type FakeResponse, type Route } from './github-http.ts';
import { canSee, findRepo, type FakeGithubState, type FakeIssue, type FakeRepo } from './github-state.ts';

/** GitHub's search query: free terms (quoted phrases kept whole) and `key:value` qualifiers. */
function parseQuery(q: string): { terms: string[]; qualifiers: Map<string, string[]> } {
  const terms: string[] = [];
  const qualifiers = new Map<string, string[]>();
  for (const [, phrase, word] of q.matchAll(/"([^"]*)"|(\S+)/g)) {
    const qualifier = word?.match(/^([a-z]+):(.+)$/i);
    if (qualifier) qualifiers.set(qualifier[1]!.toLowerCase(), [...(qualifiers.get(qualifier[1]!.toLowerCase()) ?? []), qualifier[2]!]);
    else terms.push((phrase ?? word ?? '').toLowerCase());
  }
  return { terms, qualifiers };
}

const EXTENSIONS: Record<string, string[]> = { typescript: ['ts', 'tsx'], javascript: ['js', 'mjs', 'cjs'], markdown: ['md'], python: ['py'], go: ['go'] };

function inScope(repo: FakeRepo, qualifiers: Map<string, string[]>): boolean {
  const full = `${repo.owner}/${repo.name}`.toLowerCase();
  const repos = qualifiers.get('repo');
  const owners = [...(qualifiers.get('org') ?? []), ...(qualifiers.get('user') ?? [])];
  return (!repos || repos.some((r) => r.toLowerCase() === full)) && (owners.length === 0 || owners.some((o) => o.toLowerCase() === repo.owner.toLowerCase()));
}

function searchResult(req: FakeRequest, items: unknown[]): FakeResponse {
  const { page, headers } = paginate(req, items);
  return ok({ total_count: items.length, incomplete_results: false, items: page }, 200, headers);
}

function missingQuery(req: FakeRequest): FakeResponse | undefined {
  return req.query.get('q')?.trim() ? undefined : validationFailed('/search/search', [{ resource: 'Search', field: 'q', code: 'missing' }]);
}

function searchCode(req: FakeRequest, _params: string[], state: FakeGithubState): FakeResponse {
  const missing = missingQuery(req);
  if (missing) return missing;
  const { terms, qualifiers } = parseQuery(req.query.get('q')!);
  const extensions = [...(qualifiers.get('extension') ?? []), ...(qualifiers.get('language') ?? []).flatMap((l) => EXTENSIONS[l.toLowerCase()] ?? [l])];
  const paths = qualifiers.get('path') ?? [];
  const items = state.repos
    .filter((r) => canSee(r, req.login) && inScope(r, qualifiers))
    .flatMap((repo) =>
      [...repo.branches.get(repo.defaultBranch)!.files]
        .filter(([path, content]) => {
          if (typeof content !== 'string') return false;
          if (extensions.length > 0 && !extensions.some((e) => path.endsWith(`.${e}`))) return false;
          if (paths.length > 0 && !paths.some((p) => path.startsWith(p.replace(/^\//, '')))) return false;
          const text = `${path}\n${content}`.toLowerCase();
          return terms.every((t) => text.includes(t));
        })
        .map(([path, content]) => ({
          name: path.split('/').pop(),
          path,
          sha: blobSha(content),
          url: `${req.api}/repos/${repo.owner}/${repo.name}/contents/${path}?ref=${repo.defaultBranch}`,
          git_url: `${req.api}/repos/${repo.owner}/${repo.name}/git/blobs/${blobSha(content)}`,
          html_url: `https://github.com/${repo.owner}/${repo.name}/blob/${repo.defaultBranch}/${path}`,
          repository: repoJson(req.api, repo),
          score: 1,
        })),
    );
  return searchResult(req, items);
}

function searchRepositories(req: FakeRequest, _params: string[], state: FakeGithubState): FakeResponse {
  const missing = missingQuery(req);
  if (missing) return missing;
  const { terms, qualifiers } = parseQuery(req.query.get('q')!);
  const languages = (qualifiers.get('language') ?? []).map((l) => l.toLowerCase());
  const matching = state.repos
    .filter((r) => canSee(r, req.login) && inScope(r, qualifiers))
    .filter((r) => languages.length === 0 || languages.includes((r.language ?? '').toLowerCase()))
    .filter((r) => terms.every((t) => `${r.name} ${r.description ?? ''}`.toLowerCase().includes(t)));
  if (req.query.get('sort') === 'stars') matching.sort((a, b) => b.stars - a.stars);
  return searchResult(req, matching.map((r) => repoJson(req.api, r)));
}

const ISSUES_DOC = '/search/search#search-issues-and-pull-requests';

/**
 * GitHub's 422 when a `repo:`, `user:` or `org:` qualifier names something that does not exist or
 * the token cannot see: the same answer for both, so a search cannot confirm a private repository.
 */
function unsearchable(req: FakeRequest, qualifiers: Map<string, string[]>, state: FakeGithubState): FakeResponse | undefined {
  const hiddenRepo = (qualifiers.get('repo') ?? []).some((full) => {
    const [owner = '', name = ''] = full.split('/');
    const repo = findRepo(state, owner, name);
    return !repo || !canSee(repo, req.login);
  });
  const logins = [...state.users].map((u) => u.toLowerCase());
  const unknownOwner = [...(qualifiers.get('user') ?? []), ...(qualifiers.get('org') ?? [])].some((o) => !logins.includes(o.toLowerCase()));
  if (!hiddenRepo && !unknownOwner) return undefined;
  const message = 'The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.';
  return validationFailed('/search/search', [{ message, resource: 'Search', field: 'q', code: 'invalid' }]);
}

const SORT_KEYS: Record<string, (i: FakeIssue) => number> = {
  comments: (i) => i.comments.length,
  created: (i) => Date.parse(i.createdAt),
  updated: (i) => Date.parse(i.updatedAt),
  reactions: () => 0, // the fake keeps no reactions
};

/**
 * Issue and pull request search. GitHub now refuses a query that does not say which kind it
 * wants (`is:issue` or `is:pull-request`; `is:pr` and `type:` work too). Every hit scores 1, so best
 * match keeps the fake's order: repositories as added, issues by number.
 */
function searchIssues(req: FakeRequest, _params: string[], state: FakeGithubState): FakeResponse {
  const missing = missingQuery(req);
  if (missing) return missing;
  const { terms, qualifiers } = parseQuery(req.query.get('q')!);
  const is = [...(qualifiers.get('is') ?? []), ...(qualifiers.get('type') ?? [])].map((v) => v.toLowerCase());
  const issues = is.includes('issue');
  const pulls = is.includes('pr') || is.includes('pull-request');
  if (!issues && !pulls) return githubError(422, "Query must include 'is:issue' or 'is:pull-request'", ISSUES_DOC);
  const refused = unsearchable(req, qualifiers, state);
  if (refused) return refused;
  const states = [...is.filter((v) => v === 'open' || v === 'closed'), ...(qualifiers.get('state') ?? []).map((v) => v.toLowerCase())];
  const labels = (qualifiers.get('label') ?? []).map((l) => l.toLowerCase());
  const authors = (qualifiers.get('author') ?? []).map((a) => a.toLowerCase());
  const hits = state.repos
    .filter((r) => canSee(r, req.login) && inScope(r, qualifiers))
    .flatMap((repo) => repo.issues.map((issue) => ({ repo, issue })))
    .filter(({ issue: i }) => (i.pull ? pulls : issues))
    .filter(({ issue: i }) => states.length === 0 || states.includes(i.state))
    .filter(({ issue: i }) => labels.every((l) => i.labels.some((have) => have.toLowerCase() === l)))
    .filter(({ issue: i }) => authors.length === 0 || authors.includes(i.author.toLowerCase()))
    .filter(({ issue: i }) => terms.every((t) => `${i.title}\n${i.body ?? ''}`.toLowerCase().includes(t)));
  const key = SORT_KEYS[req.query.get('sort') ?? ''];
  const direction = req.query.get('order') === 'asc' ? 1 : -1;
  if (key) hits.sort((a, b) => (key(a.issue) - key(b.issue)) * direction);
  return searchResult(req, hits.map(({ repo, issue }) => ({ ...issueJson(req.api, repo, issue), score: 1 })));
}

/** `GET /search/code`, `GET /search/repositories` and `GET /search/issues`. */
export const searchRoutes: Route[] = [
  { method: 'GET', pattern: /^\/search\/code$/, handle: searchCode },
  { method: 'GET', pattern: /^\/search\/repositories$/, handle: searchRepositories },
  { method: 'GET', pattern: /^\/search\/issues$/, handle: searchIssues },
];
