import { userJson } from './github-json.ts';
import { githubError, ok, paginate, validationFailed, type FakeRequest, type FakeResponse, type Route } from './github-http.ts';
import { pullFiles } from './github-routes.ts';
import { canSee, fakeNow, findRepo, type FakeGithubState, type FakeIssue, type FakeRepo } from './github-state.ts';

/** A submitted (or pending) review, as the fake keeps it. */
export interface FakeReview {
  id: number;
  author: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'PENDING';
  body: string;
  commitId: string;
  submittedAt: string | null;
  comments: Array<{ path: string; line: number; side: 'LEFT' | 'RIGHT'; body: string }>;
}

const reviews = new WeakMap<FakeIssue, FakeReview[]>();

/** The reviews of a pull request, oldest first; tests read them back. */
export function reviewsOf(pull: FakeIssue): FakeReview[] {
  let list = reviews.get(pull);
  if (!list) reviews.set(pull, (list = []));
  return list;
}

const DOC = '/pulls/reviews#create-a-review-for-a-pull-request';
const STATES = { APPROVE: 'APPROVED', REQUEST_CHANGES: 'CHANGES_REQUESTED', COMMENT: 'COMMENTED' } as const;

/** GitHub's 422 for a review it will not take: `Unprocessable Entity` with the reasons as plain strings. */
const unprocessable = (reason: string) => githubError(422, 'Unprocessable Entity', DOC, [reason]);

/** The line numbers a file's diff covers on each side, from its patch's hunk headers (`@@ -a,b +c,d @@`). */
function diffLines(patch: string | undefined): { LEFT: Set<number>; RIGHT: Set<number> } {
  const lines = { LEFT: new Set<number>(), RIGHT: new Set<number>() };
  for (const [, left, leftCount = '1', right, rightCount = '1'] of (patch ?? '').matchAll(/^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/gm)) {
    for (let n = Number(left); n < Number(left) + Number(leftCount); n++) lines.LEFT.add(n);
    for (let n = Number(right); n < Number(right) + Number(rightCount); n++) lines.RIGHT.add(n);
  }
  return lines;
}

type ReviewComment = FakeReview['comments'][number];

function readComments(body: Record<string, unknown>): ReviewComment[] | undefined {
  const raw = body['comments'];
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return undefined;
  const comments = raw.map((c: Record<string, unknown>) => ({ path: c['path'], line: c['line'], side: c['side'] ?? 'RIGHT', body: c['body'] }));
  const valid = comments.every(
    (c) => typeof c.path === 'string' && Number.isInteger(c.line) && (c.side === 'LEFT' || c.side === 'RIGHT') && typeof c.body === 'string',
  );
  return valid ? (comments as ReviewComment[]) : undefined;
}

/** Why GitHub would refuse one line comment: its file is not in the pull request, or its line is outside the diff's hunks. */
function commentRefusal(repo: FakeRepo, pull: NonNullable<FakeIssue['pull']>, comment: ReviewComment): string | undefined {
  const file = pullFiles(repo, pull).find((f) => f.filename === comment.path);
  if (!file) return "Pull request review thread path is invalid and Pull request review thread diff hunk can't be blank";
  if (!diffLines(file.patch)[comment.side].has(comment.line)) {
    return "Pull request review thread line must be part of the diff and Pull request review thread diff hunk can't be blank";
  }
  return undefined;
}

function reviewJson(api: string, repo: FakeRepo, issue: FakeIssue, review: FakeReview) {
  const html = `https://github.com/${repo.owner}/${repo.name}/pull/${issue.number}#pullrequestreview-${review.id}`;
  const pullUrl = `${api}/repos/${repo.owner}/${repo.name}/pulls/${issue.number}`;
  return {
    id: review.id,
    node_id: Buffer.from(`PRR_${review.id}`).toString('base64'),
    user: userJson(api, review.author),
    body: review.body,
    state: review.state,
    html_url: html,
    pull_request_url: pullUrl,
    author_association: review.author === repo.owner ? 'OWNER' : 'CONTRIBUTOR',
    _links: { html: { href: html }, pull_request: { href: pullUrl } },
    ...(review.submittedAt !== null && { submitted_at: review.submittedAt }),
    commit_id: review.commitId,
  };
}

/**
 * Creates a review as GitHub does: submitted with an event, pending without
 * one (one pending review per user); the author may only comment; every line
 * comment must sit in the diff, or nothing is posted.
 */
function createReview(req: FakeRequest, [owner = '', name = '', n]: string[], state: FakeGithubState): FakeResponse {
  const repo = findRepo(state, owner, name);
  const issue = repo && canSee(repo, req.login) ? repo.issues.find((i) => i.number === Number(n)) : undefined;
  if (!repo || !issue?.pull) return githubError(404, 'Not Found', DOC);
  const body = (req.body ?? {}) as Record<string, unknown>;
  const event = body['event'];
  if (event !== undefined && event !== 'APPROVE' && event !== 'REQUEST_CHANGES' && event !== 'COMMENT') {
    return validationFailed(DOC, [{ resource: 'PullRequestReview', field: 'event', code: 'invalid' }]);
  }
  const comments = readComments(body);
  if (!comments) return validationFailed(DOC, [{ resource: 'PullRequestReview', field: 'comments', code: 'invalid' }]);
  const list = reviewsOf(issue);
  if (event === undefined && list.some((r) => r.author === req.login && r.state === 'PENDING')) {
    return unprocessable('User can only have one pending review per pull request');
  }
  if (issue.author === req.login && event === 'APPROVE') return unprocessable('Can not approve your own pull request');
  if (issue.author === req.login && event === 'REQUEST_CHANGES') return unprocessable('Can not request changes on your own pull request');
  const refusal = comments.map((c) => commentRefusal(repo, issue.pull!, c)).find((r) => r !== undefined);
  if (refusal) return unprocessable(refusal);
  const review: FakeReview = {
    id: state.nextId++,
    author: req.login,
    state: event === undefined ? 'PENDING' : STATES[event],
    body: typeof body['body'] === 'string' ? body['body'] : '',
    commitId: typeof body['commit_id'] === 'string' ? body['commit_id'] : (repo.branches.get(issue.pull.head)?.commits[0]?.sha ?? ''),
    submittedAt: event === undefined ? null : fakeNow(),
    comments,
  };
  list.push(review);
  return ok(reviewJson(req.api, repo, issue, review));
}

/** A pull request's reviews, oldest first, paged, as GitHub lists them: a pending review only to its author. */
function listReviews(req: FakeRequest, [owner = '', name = '', n]: string[], state: FakeGithubState): FakeResponse {
  const repo = findRepo(state, owner, name);
  const issue = repo && canSee(repo, req.login) ? repo.issues.find((i) => i.number === Number(n)) : undefined;
  if (!repo || !issue?.pull) return githubError(404, 'Not Found', '/pulls/reviews#list-reviews-for-a-pull-request');
  const visible = reviewsOf(issue).filter((r) => r.state !== 'PENDING' || r.author === req.login);
  const { page, headers } = paginate(req, visible.map((r) => reviewJson(req.api, repo, issue, r)));
  return ok(page, 200, headers);
}

const REVIEWS = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/reviews$/;

/** Pull request review routes. */
export const reviewRoutes: Route[] = [
  { method: 'POST', pattern: REVIEWS, handle: createReview },
  { method: 'GET', pattern: REVIEWS, handle: listReviews },
];
