import { githubError, ok, type FakeRequest, type FakeResponse, type Route } from './github-http.ts';
import { repoJson, userJson } from './github-json.ts';
import { withRepo } from './github-routes.ts';
import { fakeNow, resolveRef, type FakeRepo } from './github-state.ts';

/** A commit status, as CI reports it through the statuses API. */
export interface FakeStatus {
  context: string;
  state: 'success' | 'failure' | 'error' | 'pending';
  description?: string;
}

/** A check run, as GitHub Actions and other apps report it through the checks API. */
export interface FakeCheckRun {
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required';
  title?: string;
}

interface Reported {
  statuses: Array<FakeStatus & { id: number; at: string }>;
  runs: Array<FakeCheckRun & { id: number; at: string }>;
}

const reports = new WeakMap<FakeRepo, Map<string, Reported>>();
let nextId = 5000;

function reportedOn(repo: FakeRepo, sha: string): Reported {
  let bySha = reports.get(repo);
  if (!bySha) reports.set(repo, (bySha = new Map()));
  let reported = bySha.get(sha);
  if (!reported) bySha.set(sha, (reported = { statuses: [], runs: [] }));
  return reported;
}

/** Reports a status on a commit; a later one of the same context replaces it, as on GitHub. */
export function addStatus(repo: FakeRepo, sha: string, status: FakeStatus): void {
  const reported = reportedOn(repo, sha);
  reported.statuses = [...reported.statuses.filter((s) => s.context !== status.context), { ...status, id: nextId++, at: fakeNow() }];
}

export function addCheckRun(repo: FakeRepo, sha: string, run: FakeCheckRun): void {
  reportedOn(repo, sha).runs.push({ ...run, id: nextId++, at: fakeNow() });
}

/** The first page of a commit's statuses or runs, `per_page` long as GitHub answers; `total_count` counts them all. */
function firstPage<T>(req: FakeRequest, items: readonly T[]): T[] {
  return items.slice(0, Math.min(Number(req.query.get('per_page') ?? 30) || 30, 100));
}

/** The commit a ref names, or GitHub's 422 for one it cannot find. */
function commitOf(repo: FakeRepo, ref: string, doc: string): { sha: string } | FakeResponse {
  const sha = resolveRef(repo, ref)?.commits[0]?.sha;
  return sha ? { sha } : githubError(422, `No commit found for SHA: ${ref}`, doc);
}

/** GitHub's combined state: failure if any failed or erred, pending if any is pending or none reported, else success. */
function combinedState(statuses: readonly FakeStatus[]): string {
  if (statuses.some((s) => s.state === 'failure' || s.state === 'error')) return 'failure';
  return statuses.length === 0 || statuses.some((s) => s.state === 'pending') ? 'pending' : 'success';
}

function combinedStatus(req: FakeRequest, repo: FakeRepo, [ref = '']: string[]): FakeResponse {
  const commit = commitOf(repo, ref, '/commits/statuses#get-the-combined-status-for-a-specific-reference');
  if (!('sha' in commit)) return commit;
  const base = `${req.api}/repos/${repo.owner}/${repo.name}`;
  const { statuses } = reportedOn(repo, commit.sha);
  return ok({
    state: combinedState(statuses),
    statuses: firstPage(req, statuses).map((s) => ({
      url: `${base}/statuses/${commit.sha}`,
      avatar_url: null,
      id: s.id,
      node_id: `SC_${s.id}`,
      state: s.state,
      description: s.description ?? null,
      target_url: `https://ci.example/${s.context}/${s.id}`,
      context: s.context,
      created_at: s.at,
      updated_at: s.at,
    })),
    sha: commit.sha,
    total_count: statuses.length,
    repository: repoJson(req.api, repo),
    commit_url: `${base}/commits/${commit.sha}`,
    url: `${base}/commits/${commit.sha}/status`,
  });
}

function checkRuns(req: FakeRequest, repo: FakeRepo, [ref = '']: string[]): FakeResponse {
  const commit = commitOf(repo, ref, '/checks/runs#list-check-runs-for-a-git-reference');
  if (!('sha' in commit)) return commit;
  const base = `${req.api}/repos/${repo.owner}/${repo.name}`;
  const { runs } = reportedOn(repo, commit.sha);
  return ok({
    total_count: runs.length,
    check_runs: firstPage(req, runs).map((r) => ({
      id: r.id,
      head_sha: commit.sha,
      node_id: `CR_${r.id}`,
      external_id: String(r.id),
      url: `${base}/check-runs/${r.id}`,
      html_url: `https://github.com/${repo.owner}/${repo.name}/runs/${r.id}`,
      details_url: `https://github.com/${repo.owner}/${repo.name}/actions/runs/${r.id}`,
      status: r.status,
      conclusion: r.status === 'completed' ? (r.conclusion ?? 'success') : null,
      started_at: r.at,
      completed_at: r.status === 'completed' ? r.at : null,
      output: { title: r.title ?? null, summary: null, text: null, annotations_count: 0, annotations_url: `${base}/check-runs/${r.id}/annotations` },
      name: r.name,
      check_suite: { id: r.id + 1 },
      app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions', owner: userJson(req.api, 'github') },
      pull_requests: [],
    })),
  });
}

const R = '^/repos/([^/]+)/([^/]+)';

/** A commit's statuses and check runs; before the commit route, whose ref would take the suffix. */
export const statusRoutes: Route[] = [
  { method: 'GET', pattern: new RegExp(`${R}/commits/(.+)/status$`), handle: withRepo('/commits/statuses', combinedStatus) },
  { method: 'GET', pattern: new RegExp(`${R}/commits/(.+)/check-runs$`), handle: withRepo('/checks/runs', checkRuns) },
];
