import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitToBranch, startFakeGithub, type FakeGithub, type FakeIssue, type FakeRepo } from '../fakes/github.ts';
import { callTool, newToken, seedGithub, sourceFor } from '../fakes/github-fixture.ts';
import { reviewsOf } from '../fakes/github-review-routes.ts';

let fake: FakeGithub;
let widgets: FakeRepo;
/** Pull request #3, feature/login → main, opened by octocat: it adds src/login.ts, one line. */
let pull: FakeIssue;

beforeEach(async () => {
  fake = await startFakeGithub();
  ({ widgets } = seedGithub(fake));
  pull = widgets.issues.find((i) => i.number === 3)!;
});
afterEach(() => fake.close());

/** The github source as hubot, who did not open the pull request; a token of its own each time, so Octokit does not space writes out. */
function asReviewer() {
  return sourceFor(fake, { token: newToken(fake, 'hubot'), owner: 'acme', repo: 'widgets' }).source;
}

const headSha = () => widgets.branches.get('feature/login')!.commits[0]!.sha;

describe('github source: create_pull_request_review', () => {
  it('approves the head commit the reviewer read, after checking the pull request has not moved on', async () => {
    const seen = await callTool(asReviewer(), 'create_pull_request_review', { pullNumber: 3, event: 'APPROVE', body: 'Looks good.', commitId: headSha() });
    const [review] = reviewsOf(pull);
    expect(review).toMatchObject({ author: 'hubot', state: 'APPROVED', body: 'Looks good.', commitId: headSha(), comments: [] });
    expect(seen).toMatchObject({
      isError: false,
      text: `Approved pull request #3 in acme/widgets.\nhttps://github.com/acme/widgets/pull/3#pullrequestreview-${review!.id}`,
    });
    expect(seen.structured).toEqual({
      owner: 'acme',
      repo: 'widgets',
      number: 3,
      reviewId: review!.id,
      state: 'APPROVED',
      commitId: headSha(),
      comments: 0,
      url: `https://github.com/acme/widgets/pull/3#pullrequestreview-${review!.id}`,
    });
    expect(fake.requests.slice(-2).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /repos/acme/widgets/pulls/3', 'POST /repos/acme/widgets/pulls/3/reviews']);
    expect(fake.requests.at(-1)?.body).toEqual({ event: 'APPROVE', body: 'Looks good.', commit_id: headSha() });
  });

  it('requests changes with a comment on a line of the diff', async () => {
    const seen = await callTool(asReviewer(), 'create_pull_request_review', {
      pullNumber: 3,
      event: 'REQUEST_CHANGES',
      body: 'Login always succeeds.',
      comments: [{ path: 'src/login.ts', line: 1, body: 'Check the password here.' }],
    });
    expect(seen.text).toMatch(/^Requested changes on pull request #3 in acme\/widgets with 1 line comment\.\n/);
    expect(seen.structured).toMatchObject({ state: 'CHANGES_REQUESTED', comments: 1 });
    expect(reviewsOf(pull)).toEqual([
      expect.objectContaining({ state: 'CHANGES_REQUESTED', comments: [{ path: 'src/login.ts', line: 1, side: 'RIGHT', body: 'Check the password here.' }] }),
    ]);
    // Without commitId nothing is read first: one request.
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/repos/acme/widgets/pulls/3/reviews' });
    expect(fake.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/repos/acme/widgets/pulls/3'))).toEqual([]);
  });

  it('comments with line comments alone, no summary needed', async () => {
    const seen = await callTool(asReviewer(), 'create_pull_request_review', {
      pullNumber: 3,
      event: 'COMMENT',
      comments: [{ path: 'src/login.ts', line: 1, body: 'Nit: name it `signIn`.' }],
    });
    expect(seen).toMatchObject({ isError: false, structured: expect.objectContaining({ state: 'COMMENTED', comments: 1 }) });
    expect(fake.requests.at(-1)?.body).not.toHaveProperty('body');
  });

  it('passes on GitHub refusing the author’s own approval, and nothing is posted', async () => {
    // octocat opened #3; each call has a token of its own, so Octokit does not space the writes out.
    const author = () => sourceFor(fake, { owner: 'acme', repo: 'widgets' }).source;
    const seen = await callTool(author(), 'create_pull_request_review', { pullNumber: 3, event: 'APPROVE' });
    expect(seen).toMatchObject({ isError: true });
    expect(seen.text).toBe('GitHub rejected the request (422 Unprocessable Entity): Can not approve your own pull request. Fix the arguments and try again.');
    const changes = await callTool(author(), 'create_pull_request_review', { pullNumber: 3, event: 'REQUEST_CHANGES', body: 'Hmm.' });
    expect(changes.text).toContain('Can not request changes on your own pull request');
    expect(reviewsOf(pull)).toEqual([]);
  });

  it('refuses a review of a head that moved on since it was read, before posting anything', async () => {
    const read = headSha();
    const pushed = commitToBranch(widgets, 'feature/login', { message: 'Skip the check', author: 'octocat', files: { 'src/login.ts': 'export const login = () => true; // always\n' } });
    const seen = await callTool(asReviewer(), 'create_pull_request_review', { pullNumber: 3, event: 'APPROVE', commitId: read });
    expect(seen).toMatchObject({ isError: true });
    expect(seen.text).toBe(
      `The pull request's head is now ${pushed.sha.slice(0, 7)}, not ${read.slice(0, 7)}: it changed since you reviewed it. ` +
        'Read it again (get_pull_request, get_pull_request_files) before reviewing. Nothing was posted.',
    );
    expect(fake.requests.some((r) => r.method === 'POST')).toBe(false);
    expect(reviewsOf(pull)).toEqual([]);
  });

  it('refuses a verdict without what it needs before any request', async () => {
    const source = asReviewer();
    const before = fake.requests.length;
    const changes = await callTool(source, 'create_pull_request_review', { pullNumber: 3, event: 'REQUEST_CHANGES', body: '   ' });
    expect(changes).toMatchObject({ isError: true, text: 'Requesting changes needs a body saying what to change. Nothing was posted.' });
    const comment = await callTool(source, 'create_pull_request_review', { pullNumber: 3, event: 'COMMENT' });
    expect(comment).toMatchObject({ isError: true, text: 'A COMMENT review needs a body or at least one line comment. Nothing was posted.' });
    const badSha = await callTool(source, 'create_pull_request_review', { pullNumber: 3, event: 'APPROVE', commitId: 'abc123' });
    expect(badSha.isError).toBe(true);
    expect(badSha.text).toContain('must be a full 40-character commit SHA');
    expect(fake.requests.length).toBe(before);
  });

  it('posts nothing when one line comment is outside the diff, naming why', async () => {
    const valid = { path: 'src/login.ts', line: 1, body: 'Fine.' };
    const outside = await callTool(asReviewer(), 'create_pull_request_review', {
      pullNumber: 3,
      event: 'COMMENT',
      body: 'A few notes.',
      comments: [valid, { path: 'src/login.ts', line: 2, body: 'Past the end.' }],
    });
    expect(outside.isError).toBe(true);
    expect(outside.text).toContain('Pull request review thread line must be part of the diff');
    const removedSide = await callTool(asReviewer(), 'create_pull_request_review', {
      pullNumber: 3,
      event: 'COMMENT',
      comments: [{ ...valid, side: 'LEFT' }],
    });
    expect(removedSide.text).toContain('line must be part of the diff');
    const otherFile = await callTool(asReviewer(), 'create_pull_request_review', {
      pullNumber: 3,
      event: 'COMMENT',
      comments: [{ path: 'README.md', line: 1, body: 'Not changed here.' }],
    });
    expect(otherFile.text).toContain('Pull request review thread path is invalid');
    expect(reviewsOf(pull)).toEqual([]);
  });

  it('answers not found for an issue that is not a pull request and for a private repository the token cannot see', async () => {
    const issue = await callTool(asReviewer(), 'create_pull_request_review', { pullNumber: 1, event: 'APPROVE' });
    expect(issue).toMatchObject({ isError: true, text: 'Pull request #1 in acme/widgets not found (or the token cannot see it).' });
    const hidden = await callTool(asReviewer(), 'create_pull_request_review', { owner: 'acme', repo: 'secret-plans', pullNumber: 1, event: 'APPROVE' });
    expect(hidden).toMatchObject({ isError: true, text: 'Pull request #1 in acme/secret-plans not found (or the token cannot see it).' });
  });
});

describe('github source: list_pull_request_reviews', () => {
  it('lists who approved, requested changes or commented, on which commit, oldest first; others’ pending reviews stay hidden', async () => {
    const sha = headSha();
    reviewsOf(pull).push(
      { id: 901, author: 'hubot', state: 'CHANGES_REQUESTED', body: 'Check the password.', commitId: sha, submittedAt: '2025-01-07T10:00:00Z', comments: [] },
      { id: 902, author: 'octo', state: 'PENDING', body: 'draft thoughts', commitId: sha, submittedAt: null, comments: [] },
      { id: 903, author: 'hubot', state: 'APPROVED', body: '', commitId: sha, submittedAt: '2025-01-07T11:00:00Z', comments: [] },
    );
    const seen = await callTool(asReviewer(), 'list_pull_request_reviews', { pullNumber: 3 });
    expect(seen).toMatchObject({
      isError: false,
      text:
        'Reviews of pull request #3 in acme/widgets (page 1):\n\n' +
        `@hubot requested changes on ${sha.slice(0, 7)} at 2025-01-07T10:00:00Z:\nCheck the password.\n\n` +
        `@hubot approved on ${sha.slice(0, 7)} at 2025-01-07T11:00:00Z`,
    });
    expect(seen.structured).toMatchObject({
      pullNumber: 3,
      reviews: [
        { id: 901, author: 'hubot', state: 'CHANGES_REQUESTED', commitId: sha, body: 'Check the password.' },
        { id: 903, author: 'hubot', state: 'APPROVED', body: '' },
      ],
    });
    expect(seen.text).not.toContain('draft thoughts');
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/repos/acme/widgets/pulls/3/reviews?per_page=30&page=1' });
  });

  it('says when there are none, and pages through many', async () => {
    expect((await callTool(asReviewer(), 'list_pull_request_reviews', { pullNumber: 3 })).text).toBe('Reviews of pull request #3 in acme/widgets (page 1): none.');
    for (let i = 0; i < 3; i++) {
      reviewsOf(pull).push({ id: 910 + i, author: 'hubot', state: 'COMMENTED', body: `note ${i}`, commitId: headSha(), submittedAt: '2025-01-07T12:00:00Z', comments: [] });
    }
    const first = await callTool(asReviewer(), 'list_pull_request_reviews', { pullNumber: 3, perPage: 2 });
    expect(first.structured).toMatchObject({ nextPage: 2 });
    expect(first.text).toContain('More results: call again with page=2.');
    const second = await callTool(asReviewer(), 'list_pull_request_reviews', { pullNumber: 3, perPage: 2, page: 2 });
    expect(second.structured).toMatchObject({ reviews: [{ body: 'note 2' }] });
    expect(second.structured).not.toHaveProperty('nextPage');
  });

  it('answers not found for an issue that is not a pull request', async () => {
    expect(await callTool(asReviewer(), 'list_pull_request_reviews', { pullNumber: 1 })).toMatchObject({
      isError: true,
      text: 'Pull request #1 in acme/widgets not found (or the token cannot see it).',
    });
  });
});
