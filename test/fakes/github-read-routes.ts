import { commentJson, commitJson, pullFileJson } from './github-json.ts';
import { githubError, ok, paginate, type FakeRequest, type FakeResponse, type Route } from './github-http.ts';
import { findIssue, withRepo } from './github-routes.ts';
import { resolveRef, type FakeRepo } from './github-state.ts';

const COMMENTS_DOC = '/issues/comments#list-issue-comments';
const COMMIT_DOC = '/commits/commits#get-a-commit';

/**
 * An issue's or pull request's comments in the order they were posted; `since` keeps those updated
 * at or after it (the fake never edits comments, so that is when they were posted).
 */
function listComments(req: FakeRequest, repo: FakeRepo, [n]: string[]): FakeResponse {
  const issue = findIssue(repo, n);
  if (!issue) return githubError(404, 'Not Found', COMMENTS_DOC);
  const since = req.query.get('since');
  const comments = since === null ? issue.comments : issue.comments.filter((c) => Date.parse(c.createdAt) >= Date.parse(since));
  const { page, headers } = paginate(req, comments);
  return ok((page as typeof comments).map((c) => commentJson(req.api, repo, issue, c)), 200, headers);
}

type Content = string | Uint8Array | undefined;

/**
 * The fake keeps each branch's current files, not each commit's tree. A path exists at a commit when
 * the commit or one before it touched it (the fake deletes nothing); its content there is read from a
 * branch that holds the commit and has not changed the path since (the branch it was made on, or one
 * forked from it later). Undefined when the path existed but every such branch changed it afterwards.
 */
function versionAt(repo: FakeRepo, sha: string, path: string): { content: Content } | undefined {
  for (const branch of repo.branches.values()) {
    const at = branch.commits.findIndex((c) => c.sha === sha);
    if (at < 0) continue;
    if (!branch.commits.slice(at).some((c) => c.paths.includes(path))) return { content: undefined };
    if (!branch.commits.slice(0, at).some((c) => c.paths.includes(path))) return { content: branch.files.get(path) };
  }
  return undefined;
}

/** GitHub lists a commit's files 300 to a response, with `Link` headers to the rest; each page repeats the commit. */
const FILES_PER_PAGE = 300;

function pageOfFiles<T>(req: FakeRequest, files: T[]): { page: T[]; headers: Record<string, string> } {
  const page = Math.max(Number(req.query.get('page') ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(files.length / FILES_PER_PAGE), 1);
  const link = (p: number, rel: string) => `<${req.api}${req.path}?page=${p}>; rel="${rel}"`;
  const links = [...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []), ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : [])];
  return { page: files.slice((page - 1) * FILES_PER_PAGE, page * FILES_PER_PAGE), headers: links.length > 0 ? { link: links.join(', ') } : {} };
}

/**
 * One commit with its stats and files: each path it touched, its parent's version against its own.
 * A version no branch keeps stands in as the branch's current one (the commit's side) or as the
 * commit's own (the parent's side: the file then reads as modified with no diff).
 */
function getCommit(req: FakeRequest, repo: FakeRepo, [ref = '']: string[]): FakeResponse {
  const branch = resolveRef(repo, ref);
  const commit = branch?.commits[0];
  if (!branch || !commit) return githubError(422, `No commit found for SHA: ${ref}`, COMMIT_DOC);
  const parent = branch.commits[1];
  const files = [...new Set(commit.paths)].sort().map((path) => {
    const own = versionAt(repo, commit.sha, path);
    const after = own ? own.content : branch.files.get(path);
    const before = parent ? (versionAt(repo, parent.sha, path) ?? { content: after }).content : undefined;
    return pullFileJson(repo, commit.sha, path, before, after);
  });
  const additions = files.reduce((sum, f) => sum + f.additions, 0);
  const deletions = files.reduce((sum, f) => sum + f.deletions, 0);
  const { page, headers } = pageOfFiles(req, files);
  return ok({ ...commitJson(req.api, repo, commit, parent), stats: { total: additions + deletions, additions, deletions }, files: page }, 200, headers);
}

const R = '^/repos/([^/]+)/([^/]+)';

/** Further read routes: an issue's comments, one commit with its files. */
export const readRoutes: Route[] = [
  { method: 'GET', pattern: new RegExp(`${R}/issues/(\\d+)/comments$`), handle: withRepo(COMMENTS_DOC, listComments) },
  { method: 'GET', pattern: new RegExp(`${R}/commits/(.+)$`), handle: withRepo(COMMIT_DOC, getCommit) },
];
