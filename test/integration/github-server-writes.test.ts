import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub, type FakeRepo } from '../fakes/github.ts';
import { callTool, seedGithub, sourceFor } from '../fakes/github-fixture.ts';

let fake: FakeGithub;
let widgets: FakeRepo;

beforeEach(async () => {
  fake = await startFakeGithub();
  ({ widgets } = seedGithub(fake));
});
afterEach(() => fake.close());

/** What a failed write must leave alone. */
function snapshot(repo: FakeRepo): string {
  return JSON.stringify(repo.issues);
}

describe('github source: writes', () => {
  it('create_issue opens an issue in the default repository as the token user', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    const seen = await callTool(source, 'create_issue', { title: 'Widgets wobble', body: 'They wobble.', labels: ['bug'], assignees: ['hubot'] });
    expect(seen).toMatchObject({ isError: false, text: 'Created issue #4 in acme/widgets: Widgets wobble\nhttps://github.com/acme/widgets/issues/4' });
    expect(seen.structured).toEqual({ owner: 'acme', repo: 'widgets', number: 4, title: 'Widgets wobble', state: 'open', url: 'https://github.com/acme/widgets/issues/4' });
    expect(widgets.issues.at(-1)).toMatchObject({ number: 4, title: 'Widgets wobble', body: 'They wobble.', author: 'octocat', labels: ['bug'], assignees: ['hubot'] });
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/repos/acme/widgets/issues', body: { title: 'Widgets wobble', body: 'They wobble.', labels: ['bug'], assignees: ['hubot'] } });
  });

  it('add_issue_comment comments on an issue', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    const seen = await callTool(source, 'add_issue_comment', { issueNumber: 1, body: 'Fixed in #3.' });
    const comment = widgets.issues[0]!.comments.at(-1)!;
    expect(comment).toMatchObject({ body: 'Fixed in #3.', author: 'octocat' });
    expect(seen.text).toBe(`Commented on #1 in acme/widgets.\nhttps://github.com/acme/widgets/issues/1#issuecomment-${comment.id}`);
    expect(seen.structured).toMatchObject({ issueNumber: 1, commentId: comment.id });
  });

  it('create_pull_request opens a pull request between existing branches', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    widgets.issues.pop(); // drop the seeded pull request for feature/login
    const seen = await callTool(source, 'create_pull_request', { title: 'Login form', head: 'feature/login', base: 'main', draft: true });
    expect(seen.text).toBe('Created draft pull request #3 in acme/widgets (feature/login → main): Login form\nhttps://github.com/acme/widgets/pull/3');
    expect(seen.structured).toMatchObject({ number: 3, draft: true, head: 'feature/login', base: 'main', state: 'open' });
    expect(widgets.issues.at(-1)?.pull).toMatchObject({ head: 'feature/login', base: 'main', draft: true });
  });

  it('update_issue closes an issue as not planned and replaces its labels and assignees, leaving the rest', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    const seen = await callTool(source, 'update_issue', { issueNumber: 1, state: 'closed', stateReason: 'not_planned', labels: ['wontfix'], assignees: ['hubot'] });
    expect(seen).toMatchObject({ isError: false, text: 'Updated #1 in acme/widgets [closed]: Crash on empty input\nhttps://github.com/acme/widgets/issues/1' });
    expect(seen.structured).toEqual({
      owner: 'acme',
      repo: 'widgets',
      number: 1,
      title: 'Crash on empty input',
      state: 'closed',
      labels: ['wontfix'],
      assignees: ['hubot'],
      url: 'https://github.com/acme/widgets/issues/1',
    });
    expect(widgets.issues[0]).toMatchObject({ state: 'closed', stateReason: 'not_planned', labels: ['wontfix'], assignees: ['hubot'], body: 'Steps:\n1. Submit an empty form' });
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'PATCH',
      path: '/repos/acme/widgets/issues/1',
      body: { state: 'closed', state_reason: 'not_planned', labels: ['wontfix'], assignees: ['hubot'] },
    });

    const reopened = await callTool(source, 'update_issue', { issueNumber: 1, state: 'open', title: 'Crash on empty input (again)' });
    expect(reopened.text).toBe('Updated #1 in acme/widgets [open]: Crash on empty input (again)\nhttps://github.com/acme/widgets/issues/1');
    expect(widgets.issues[0]).toMatchObject({ state: 'open', closedAt: null, labels: ['wontfix'] });
  });

  it('merge_pull_request merges the pull request whose head matches the given sha into its base', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    const headSha = widgets.branches.get('feature/login')!.commits[0]!.sha;
    const seen = await callTool(source, 'merge_pull_request', { pullNumber: 3, mergeMethod: 'squash', sha: headSha, commitTitle: 'Login form (#3)' });
    const main = widgets.branches.get('main')!;
    expect(seen.text).toBe(`Merged pull request #3 in acme/widgets (squash) as ${main.commits[0]!.sha.slice(0, 7)}: Pull Request successfully merged`);
    expect(seen.structured).toEqual({ owner: 'acme', repo: 'widgets', number: 3, merged: true, sha: main.commits[0]!.sha, mergeMethod: 'squash' });
    expect(main.files.get('src/login.ts')).toBe('export const login = () => true;\n');
    expect(main.commits[0]?.message).toBe('Login form (#3)');
    expect(widgets.issues[2]).toMatchObject({ state: 'closed', pull: { merged: true } });
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'PUT',
      path: '/repos/acme/widgets/pulls/3/merge',
      body: { merge_method: 'squash', sha: headSha, commit_title: 'Login form (#3)' },
    });
  });

  it('explicit owner and repo override the defaults; a repository alone keeps the default owner', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    await callTool(source, 'list_issues', { owner: 'octo', repo: 'tools' });
    expect(fake.requests.at(-1)?.path).toMatch(/^\/repos\/octo\/tools\/issues\?/);
    const seen = await callTool(source, 'list_issues', { repo: 'secret-plans' });
    expect(seen.text).toBe('Repository acme/secret-plans not found (or the token cannot see it).');
  });
});

describe('github source: bad input changes nothing', () => {
  it('without defaults, a missing owner or repo is a clear error and sends nothing', async () => {
    const { source } = sourceFor(fake);
    const before = snapshot(widgets);
    expect(await callTool(source, 'create_issue', { title: 'x' })).toEqual({
      isError: true,
      text: 'owner is required: pass the repository owner (no default owner is configured).',
      unavailable: false,
      structured: undefined,
    });
    expect((await callTool(source, 'create_issue', { owner: 'acme', title: 'x' })).text).toBe(
      'repo is required: pass the repository name (no default repository is configured).',
    );
    expect(fake.requests).toHaveLength(0);
    expect(snapshot(widgets)).toBe(before);
  });

  it('rejects names and paths that would reshape the request path', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    const owner = await callTool(source, 'get_issue', { owner: '..', repo: 'user', issueNumber: 1 });
    expect(owner).toMatchObject({ isError: true, text: "Invalid arguments for get_issue: owner: must be a GitHub owner name (letters, digits, '-', '_', '.')" });
    const path = await callTool(source, 'get_file_contents', { path: '../../user' });
    expect(path.text).toBe("Invalid arguments for get_file_contents: path: must not contain '.' or '..' segments");
    const title = await callTool(source, 'create_issue', { title: '   ' });
    expect(title.text).toMatch(/^Invalid arguments for create_issue: title: /);
    expect(fake.requests).toHaveLength(0);
  });

  it('create_issue with an unknown assignee gets GitHub’s 422 details and creates nothing', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    const before = snapshot(widgets);
    const seen = await callTool(source, 'create_issue', { title: 'Assign a ghost', assignees: ['ghost'] });
    expect(seen).toMatchObject({ isError: true, text: "GitHub rejected the request (422 Validation Failed): assignees 'ghost' is invalid. Fix the arguments and try again." });
    expect(snapshot(widgets)).toBe(before);
  });

  it('create_pull_request explains invalid branches, empty and duplicate pull requests, and opens none', async () => {
    // One source per call: Octokit spaces pull request creations by the same token three seconds apart.
    const source = () => sourceFor(fake, { owner: 'acme', repo: 'widgets' }).source;
    const before = snapshot(widgets);
    const noBranch = await callTool(source(), 'create_pull_request', { title: 'x', head: 'nope', base: 'main' });
    expect(noBranch.text).toBe('GitHub rejected the request (422 Validation Failed): head is invalid. Fix the arguments and try again.');
    const empty = await callTool(source(), 'create_pull_request', { title: 'x', head: 'feature/empty', base: 'main' });
    expect(empty.text).toBe('GitHub rejected the request (422 Validation Failed): No commits between main and feature/empty. Fix the arguments and try again.');
    const duplicate = await callTool(source(), 'create_pull_request', { title: 'x', head: 'feature/login', base: 'main' });
    expect(duplicate.text).toContain('A pull request already exists for acme:feature/login.');
    expect(snapshot(widgets)).toBe(before);
  });

  it('update_issue refuses a call that changes nothing, an unknown assignee and a missing issue, and changes nothing', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    const before = snapshot(widgets);
    const nothing = await callTool(source, 'update_issue', { issueNumber: 1 });
    expect(nothing).toMatchObject({ isError: true, text: expect.stringMatching(/^Invalid arguments for update_issue: .*give at least one of title, body, state, labels, assignees to change/) });
    expect(fake.requests).toHaveLength(0);
    const ghost = await callTool(source, 'update_issue', { issueNumber: 1, assignees: ['ghost'], title: 'Renamed' });
    expect(ghost.text).toBe("GitHub rejected the request (422 Validation Failed): assignees 'ghost' is invalid. Fix the arguments and try again.");
    const missing = await callTool(source, 'update_issue', { issueNumber: 99, state: 'closed' });
    expect(missing.text).toBe('Issue #99 in acme/widgets not found (or the token cannot see it).');
    expect(snapshot(widgets)).toBe(before);
  });

  it('merge_pull_request refuses a stale head, a malformed sha, an issue and a merged pull request, and merges nothing more', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    const main = () => JSON.stringify([...widgets.branches.get('main')!.files, ...widgets.branches.get('main')!.commits.map((c) => c.sha)]);
    const before = { issues: snapshot(widgets), main: main() };
    const stale = await callTool(source, 'merge_pull_request', { pullNumber: 3, sha: 'f'.repeat(40) });
    expect(stale).toMatchObject({ isError: true, text: 'GitHub reported a conflict for pull request #3 in acme/widgets (409: Head branch was modified. Review and try the merge again.).' });
    const malformed = await callTool(source, 'merge_pull_request', { pullNumber: 3, sha: 'abc' });
    expect(malformed.text).toBe('Invalid arguments for merge_pull_request: sha: must be a full 40-character commit SHA');
    const notPull = await callTool(source, 'merge_pull_request', { pullNumber: 1 });
    expect(notPull.text).toBe('Pull request #1 in acme/widgets not found (or the token cannot see it).');
    expect({ issues: snapshot(widgets), main: main() }).toEqual(before);

    expect((await callTool(source, 'merge_pull_request', { pullNumber: 3 })).isError).toBe(false);
    const merged = { issues: snapshot(widgets), main: main() };
    const again = await callTool(source, 'merge_pull_request', { pullNumber: 3 });
    expect(again).toMatchObject({
      isError: true,
      text:
        'Pull request #3 in acme/widgets was not merged (405: Pull Request is not mergeable). It may be closed or merged already, conflict with ' +
        'its base branch, lack the approvals or passing checks its branch protection requires, or the repository may not allow "merge" merges. ' +
        'get_pull_request shows whether it is mergeable, get_pull_request_status its checks.',
    });
    expect({ issues: snapshot(widgets), main: main() }).toEqual(merged);
  });

  it('add_issue_comment on a missing issue is a 404 the model can act on', async () => {
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' });
    const before = snapshot(widgets);
    const seen = await callTool(source, 'add_issue_comment', { issueNumber: 99, body: 'hello' });
    expect(seen).toMatchObject({ isError: true, text: 'Issue #99 in acme/widgets not found (or the token cannot see it).' });
    expect(snapshot(widgets)).toBe(before);
  });
});
