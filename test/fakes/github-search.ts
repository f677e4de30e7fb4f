import { blobSha, repoJson } from './github-json.ts';
import { ok, paginate, validationFailed, type FakeRequest, type FakeResponse, type Route } from './github-http.ts';
import { canSee, type FakeGithubState, type FakeRepo } from './github-state.ts';

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
  const { page } = paginate(req, items);
  return ok({ total_count: items.length, incomplete_results: false, items: page });
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

/** `GET /search/code` and `GET /search/repositories`. */
export const searchRoutes: Route[] = [
  { method: 'GET', pattern: /^\/search\/code$/, handle: searchCode },
  { method: 'GET', pattern: /^\/search\/repositories$/, handle: searchRepositories },
];
