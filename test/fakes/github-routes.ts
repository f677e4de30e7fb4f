import { commentJson, commitJson, contentJson, issueJson, pullFileJson, pullJson } from './github-json.ts';
import { addIssue, canSee, commitToBranch, fakeNow, findRepo, resolveRef, type FakeGithubState, type FakeIssue, type FakeRepo } from './github-state.ts';
import { githubError, ok, paginate, validationFailed, type FakeRequest, type FakeResponse, type Route } from './github-http.ts';

const NOT_FOUND = (doc: string) => githubError(404, 'Not Found', doc);

/** The repository named by the first two params, or a 404 the way GitHub answers for repositories the token cannot see. */
export function withRepo(doc: string, handle: (req: FakeRequest, repo: FakeRepo, rest: string[], state: FakeGithubState) => FakeResponse): Route['handle'] {
  return (req, [owner = '', name = '', ...rest], state) => {
    const repo = findRepo(state, owner, name);
    return repo && canSee(repo, req.login) ? handle(req, repo, rest, state) : NOT_FOUND(doc);
  };
}

export function findIssue(repo: FakeRepo, n: string | undefined): FakeIssue | undefined {
  return repo.issues.find((i) => i.number === Number(n));
}

function stringField(body: unknown, field: string): string | undefined {
  const value = (body as Record<string, unknown> | null)?.[field];
  return typeof value === 'string' ? value : undefined;
}

function stringArray(body: unknown, field: string): string[] {
  const value = (body as Record<string, unknown> | null)?.[field];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

const CONTENTS_DOC = '/repos/contents#get-repository-content';

function getContents(req: FakeRequest, repo: FakeRepo, [rawPath = '']: string[]): FakeResponse {
  const path = rawPath.replace(/^\/+|\/+$/g, '');
  const ref = req.query.get('ref');
  const branch = resolveRef(repo, ref);
  if (!branch) return githubError(404, `No commit found for the ref ${ref}`, CONTENTS_DOC);
  const refName = ref ?? repo.defaultBranch;
  const file = branch.files.get(path);
  if (file !== undefined) {
    const { entry, bytes = Buffer.alloc(0) } = contentJson(req.api, repo, refName, path, file);
    // GitHub wraps base64 at 60 columns and leaves `content` empty (encoding "none") over 1 MB.
    const tooLarge = bytes.length > 1024 * 1024;
    const content = tooLarge ? '' : (bytes.toString('base64').match(/.{1,60}/g) ?? []).join('\n') + (bytes.length > 0 ? '\n' : '');
    return ok({ ...entry, encoding: tooLarge ? 'none' : 'base64', content });
  }
  const prefix = path === '' ? '' : `${path}/`;
  const children = new Map<string, string | Uint8Array | undefined>();
  for (const [p, content] of branch.files) {
    if (!p.startsWith(prefix)) continue;
    const [child = '', ...deeper] = p.slice(prefix.length).split('/');
    children.set(child, deeper.length > 0 ? undefined : content);
  }
  if (children.size === 0) return NOT_FOUND(CONTENTS_DOC);
  const entries = [...children]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([child, content]) => contentJson(req.api, repo, refName, `${prefix}${child}`, content).entry);
  return ok(entries);
}

function listIssues(req: FakeRequest, repo: FakeRepo): FakeResponse {
  const state = req.query.get('state') ?? 'open';
  const labels = req.query.get('labels')?.split(',').filter(Boolean) ?? [];
  const matching = repo.issues
    .filter((i) => state === 'all' || i.state === state)
    .filter((i) => labels.every((l) => i.labels.includes(l)))
    .sort((a, b) => b.number - a.number);
  const { page, headers } = paginate(req, matching);
  return ok((page as FakeIssue[]).map((i) => issueJson(req.api, repo, i)), 200, headers);
}

function createIssue(req: FakeRequest, repo: FakeRepo, _rest: string[], state: FakeGithubState): FakeResponse {
  const doc = '/issues/issues#create-an-issue';
  const title = stringField(req.body, 'title');
  if (!title) return validationFailed(doc, [{ resource: 'Issue', field: 'title', code: 'missing_field' }]);
  const assignees = stringArray(req.body, 'assignees');
  const unknown = assignees.find((a) => !state.users.has(a));
  if (unknown) return validationFailed(doc, [{ value: unknown, resource: 'Issue', field: 'assignees', code: 'invalid' }]);
  const body = stringField(req.body, 'body');
  const issue = addIssue(state, repo, { title, author: req.login, labels: stringArray(req.body, 'labels'), assignees, ...(body !== undefined && { body }) });
  return ok(issueJson(req.api, repo, issue), 201, { location: `${req.api}/repos/${repo.owner}/${repo.name}/issues/${issue.number}` });
}

function addComment(req: FakeRequest, repo: FakeRepo, [n]: string[], state: FakeGithubState): FakeResponse {
  const doc = '/issues/comments#create-an-issue-comment';
  const issue = findIssue(repo, n);
  if (!issue) return NOT_FOUND(doc);
  const body = stringField(req.body, 'body');
  if (!body) return validationFailed(doc, [{ resource: 'IssueComment', field: 'body', code: 'missing_field' }]);
  const comment = { id: state.nextId++, body, author: req.login, createdAt: fakeNow() };
  issue.comments.push(comment);
  issue.updatedAt = comment.createdAt;
  return ok(commentJson(req.api, repo, issue, comment), 201);
}

const STATE_REASONS = ['completed', 'not_planned', 'reopened'] as const;

/** Applies the fields given, as GitHub's PATCH does: what is left out stays; labels and assignees are replaced. */
function updateIssue(req: FakeRequest, repo: FakeRepo, [n]: string[], state: FakeGithubState): FakeResponse {
  const doc = '/issues/issues#update-an-issue';
  const issue = findIssue(repo, n);
  if (!issue) return NOT_FOUND(doc);
  const fields = (req.body ?? {}) as Record<string, unknown>;
  const invalid = (field: string, code = 'invalid') => validationFailed(doc, [{ resource: 'Issue', field, code }]);
  if ('title' in fields && !stringField(fields, 'title')) return invalid('title', 'missing_field');
  if (fields['state'] !== undefined && fields['state'] !== 'open' && fields['state'] !== 'closed') return invalid('state');
  const reason = fields['state_reason'];
  if (reason !== undefined && reason !== null && !STATE_REASONS.includes(reason as (typeof STATE_REASONS)[number])) return invalid('state_reason');
  const assignees = stringArray(fields, 'assignees');
  const unknown = assignees.find((a) => !state.users.has(a));
  if (unknown) return validationFailed(doc, [{ value: unknown, resource: 'Issue', field: 'assignees', code: 'invalid' }]);

  const now = fakeNow();
  const title = stringField(fields, 'title');
  if (title !== undefined) issue.title = title;
  if (typeof fields['body'] === 'string' || fields['body'] === null) issue.body = fields['body'];
  if ('labels' in fields) issue.labels = stringArray(fields, 'labels');
  if ('assignees' in fields) issue.assignees = assignees;
  if (fields['state'] !== undefined && fields['state'] !== issue.state) {
    issue.state = fields['state'];
    issue.closedAt = issue.state === 'closed' ? now : null;
    issue.stateReason = issue.state === 'open' ? 'reopened' : 'completed';
  }
  if (reason !== undefined) issue.stateReason = reason as FakeIssue['stateReason'];
  issue.updatedAt = now;
  return ok(issueJson(req.api, repo, issue));
}

/** How many commits `head` has that `base` lacks, and the paths they touch. */
function compare(repo: FakeRepo, base: string, head: string): { commits: number; files: number } {
  const baseShas = new Set(repo.branches.get(base)?.commits.map((c) => c.sha));
  const ahead = repo.branches.get(head)?.commits.filter((c) => !baseShas.has(c.sha)) ?? [];
  return { commits: ahead.length, files: new Set(ahead.flatMap((c) => c.paths)).size };
}

function listPulls(req: FakeRequest, repo: FakeRepo): FakeResponse {
  const state = req.query.get('state') ?? 'open';
  const head = req.query.get('head')?.replace(/^[^:]+:/, '');
  const base = req.query.get('base');
  const matching = repo.issues
    .filter((i) => i.pull && (state === 'all' || i.state === state))
    .filter((i) => (!head || i.pull?.head === head) && (!base || i.pull?.base === base))
    .sort((a, b) => b.number - a.number);
  const { page, headers } = paginate(req, matching);
  return ok((page as FakeIssue[]).map((i) => pullJson(req.api, repo, i, undefined)), 200, headers);
}

function getPull(req: FakeRequest, repo: FakeRepo, [n]: string[]): FakeResponse {
  const issue = findIssue(repo, n);
  if (!issue?.pull) return NOT_FOUND('/pulls/pulls#get-a-pull-request');
  return ok(pullJson(req.api, repo, issue, compare(repo, issue.pull.base, issue.pull.head)));
}

function createPull(req: FakeRequest, repo: FakeRepo, _rest: string[], state: FakeGithubState): FakeResponse {
  const doc = '/pulls/pulls#create-a-pull-request';
  const title = stringField(req.body, 'title');
  const head = stringField(req.body, 'head')?.replace(/^[^:]+:/, '');
  const base = stringField(req.body, 'base');
  if (!title) return validationFailed(doc, [{ resource: 'PullRequest', field: 'title', code: 'missing_field' }]);
  for (const [field, branch] of [['base', base], ['head', head]] as const) {
    if (!branch || !repo.branches.has(branch)) return validationFailed(doc, [{ resource: 'PullRequest', field, code: 'invalid' }]);
  }
  if (repo.issues.some((i) => i.state === 'open' && i.pull?.head === head && i.pull?.base === base)) {
    return validationFailed(doc, [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner}:${head}.` }]);
  }
  const diff = compare(repo, base!, head!);
  if (diff.commits === 0) return validationFailed(doc, [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${head}` }]);
  const body = stringField(req.body, 'body');
  const headSha = repo.branches.get(head!)!.commits[0]!.sha;
  const draft = (req.body as { draft?: unknown }).draft === true;
  const issue = addIssue(state, repo, { title, author: req.login, pull: { head: head!, base: base!, draft, merged: false, headSha }, ...(body !== undefined && { body }) });
  return ok(pullJson(req.api, repo, issue, diff), 201);
}

/**
 * The files a pull request changes: those its head's own commits touched, each against the base
 * branch's version (the fake keeps no history of contents, so the base's current one stands in
 * for the merge base's).
 */
export function pullFiles(repo: FakeRepo, pull: NonNullable<FakeIssue['pull']>): Array<ReturnType<typeof pullFileJson>> {
  const base = repo.branches.get(pull.base);
  const head = repo.branches.get(pull.head);
  const baseShas = new Set(base?.commits.map((c) => c.sha));
  const touched = new Set(head?.commits.filter((c) => !baseShas.has(c.sha)).flatMap((c) => c.paths));
  return [...touched].sort().map((path) => pullFileJson(repo, pull.head, path, base?.files.get(path), head?.files.get(path)));
}

function listPullFiles(req: FakeRequest, repo: FakeRepo, [n]: string[]): FakeResponse {
  const issue = findIssue(repo, n);
  if (!issue?.pull) return NOT_FOUND('/pulls/pulls#list-pull-requests-files');
  const { page, headers } = paginate(req, pullFiles(repo, issue.pull));
  return ok(page, 200, headers);
}

const MERGE_METHODS = ['merge', 'squash', 'rebase'];

/** Merges as GitHub does for a clean pull request: the head's files into the base, one new commit on it, the pull request closed as merged. */
function mergePull(req: FakeRequest, repo: FakeRepo, [n]: string[]): FakeResponse {
  const doc = '/pulls/pulls#merge-a-pull-request';
  const issue = findIssue(repo, n);
  const pull = issue?.pull;
  if (!issue || !pull) return NOT_FOUND(doc);
  const method = stringField(req.body, 'merge_method') ?? 'merge';
  if (!MERGE_METHODS.includes(method)) return validationFailed(doc, [{ resource: 'PullRequest', field: 'merge_method', code: 'invalid' }]);
  if (pull.merged || issue.state === 'closed') return githubError(405, 'Pull Request is not mergeable', doc);
  const head = repo.branches.get(pull.head);
  const base = repo.branches.get(pull.base);
  const headSha = head?.commits[0]?.sha;
  const sha = stringField(req.body, 'sha');
  if (sha !== undefined && sha !== headSha) return githubError(409, 'Head branch was modified. Review and try the merge again.', doc);
  const title = stringField(req.body, 'commit_title') ?? `Merge pull request #${issue.number} from ${repo.owner}/${pull.head}`;
  const baseShas = new Set(base?.commits.map((c) => c.sha));
  const changed = Object.fromEntries(
    (head?.commits ?? [])
      .filter((c) => !baseShas.has(c.sha))
      .flatMap((c) => c.paths)
      .map((path) => [path, head?.files.get(path) ?? '']),
  );
  const merge = commitToBranch(repo, pull.base, { message: title, author: req.login, files: changed });
  pull.merged = true;
  issue.state = 'closed';
  issue.closedAt = merge.date;
  issue.updatedAt = merge.date;
  return ok({ sha: merge.sha, merged: true, message: 'Pull Request successfully merged' });
}

/** A repository's branches in name order, as GitHub lists them; `protected=true` keeps the protected ones. */
function listBranches(req: FakeRequest, repo: FakeRepo): FakeResponse {
  const onlyProtected = req.query.get('protected') === 'true';
  const branches = [...repo.branches]
    .map(([name, branch]) => ({ name, sha: branch.commits[0]?.sha ?? '', protected: (repo.protectedBranches ?? []).includes(name) }))
    .filter((b) => !onlyProtected || b.protected)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((b) => ({ name: b.name, commit: { sha: b.sha, url: `${req.api}/repos/${repo.owner}/${repo.name}/commits/${b.sha}` }, protected: b.protected }));
  const { page, headers } = paginate(req, branches);
  return ok(page, 200, headers);
}

function listCommits(req: FakeRequest, repo: FakeRepo): FakeResponse {
  const sha = req.query.get('sha');
  const branch = resolveRef(repo, sha);
  if (!branch) return githubError(404, `No commit found for SHA: ${sha}`, '/commits/commits#list-commits');
  const path = req.query.get('path');
  const author = req.query.get('author');
  const matching = branch.commits
    .map((c, n) => ({ c, parent: branch.commits[n + 1] }))
    .filter(({ c }) => !path || c.paths.some((p) => p === path || p.startsWith(`${path}/`)))
    .filter(({ c }) => !author || c.author.login === author || c.author.email === author);
  const { page, headers } = paginate(req, matching);
  return ok((page as typeof matching).map(({ c, parent }) => commitJson(req.api, repo, c, parent)), 200, headers);
}

const R = '^/repos/([^/]+)/([^/]+)';

/** The repository routes the GitHub tools call. */
export const repoRoutes: Route[] = [
  { method: 'GET', pattern: new RegExp(`${R}/contents(?:/(.*))?$`), handle: withRepo(CONTENTS_DOC, getContents) },
  { method: 'GET', pattern: new RegExp(`${R}/issues$`), handle: withRepo('/issues/issues#list-repository-issues', listIssues) },
  { method: 'POST', pattern: new RegExp(`${R}/issues$`), handle: withRepo('/issues/issues#create-an-issue', createIssue) },
  {
    method: 'GET',
    pattern: new RegExp(`${R}/issues/(\\d+)$`),
    handle: withRepo('/issues/issues#get-an-issue', (req, repo, [n]) => {
      const issue = findIssue(repo, n);
      return issue ? ok(issueJson(req.api, repo, issue)) : NOT_FOUND('/issues/issues#get-an-issue');
    }),
  },
  { method: 'PATCH', pattern: new RegExp(`${R}/issues/(\\d+)$`), handle: withRepo('/issues/issues#update-an-issue', updateIssue) },
  { method: 'POST', pattern: new RegExp(`${R}/issues/(\\d+)/comments$`), handle: withRepo('/issues/comments', addComment) },
  { method: 'GET', pattern: new RegExp(`${R}/pulls$`), handle: withRepo('/pulls/pulls#list-pull-requests', listPulls) },
  { method: 'POST', pattern: new RegExp(`${R}/pulls$`), handle: withRepo('/pulls/pulls#create-a-pull-request', createPull) },
  { method: 'GET', pattern: new RegExp(`${R}/pulls/(\\d+)$`), handle: withRepo('/pulls/pulls#get-a-pull-request', getPull) },
  { method: 'PUT', pattern: new RegExp(`${R}/pulls/(\\d+)/merge$`), handle: withRepo('/pulls/pulls#merge-a-pull-request', mergePull) },
  { method: 'GET', pattern: new RegExp(`${R}/pulls/(\\d+)/files$`), handle: withRepo('/pulls/pulls#list-pull-requests-files', listPullFiles) },
  { method: 'GET', pattern: new RegExp(`${R}/branches$`), handle: withRepo('/branches/branches#list-branches', listBranches) },
  { method: 'GET', pattern: new RegExp(`${R}/commits$`), handle: withRepo('/commits/commits#list-commits', listCommits) },
];
