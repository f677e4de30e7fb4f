import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ToolSource } from '../../src/servers/tool-source.ts';
import { callTool, seedGithub, sourceFor } from '../fakes/github-fixture.ts';
import { addIssue, commitToBranch, startFakeGithub, type FakeGithub, type FakeIssue, type FakeRepo } from '../fakes/github.ts';
import { fakeNow } from '../fakes/github-state.ts';

let fake: FakeGithub;
let source: ToolSource;
let widgets: FakeRepo;
let secret: FakeRepo;

beforeEach(async () => {
  fake = await startFakeGithub();
  ({ widgets, secret } = seedGithub(fake));
  ({ source } = sourceFor(fake, { owner: 'acme', repo: 'widgets' }));
});
afterEach(async () => {
  await source.close();
  await fake.close();
});

/** A comment as if `author` had posted it now. */
function comment(issue: FakeIssue, author: string, body: string) {
  const posted = { id: fake.state.nextId++, body, author, createdAt: fakeNow() };
  issue.comments.push(posted);
  return posted;
}

const issue = (number: number) => widgets.issues.find((i) => i.number === number)!;
const headOf = (branch: string) => widgets.branches.get(branch)!.commits[0]!;

describe('github source: the further read tools', () => {
  it('are listed as read-only', async () => {
    const tools = await source.listTools(new AbortController().signal);
    for (const name of ['list_issue_comments', 'get_commit', 'search_issues']) {
      expect(tools.find((t) => t.name === name)?.annotations).toEqual({ readOnlyHint: true, openWorldHint: true });
    }
  });
});

describe('github source: list_issue_comments', () => {
  it('lists an issue’s comments oldest first, with author, date and body', async () => {
    const first = issue(1).comments[0]!;
    const second = comment(issue(1), 'hubot', 'Fixed on main.\n\nPlease retest.');
    const seen = await callTool(source, 'list_issue_comments', { issueNumber: 1 });
    expect(seen).toMatchObject({
      isError: false,
      text:
        'Comments on #1 in acme/widgets (page 1):\n\n' +
        `@octocat on ${first.createdAt}:\nI can reproduce this.\n\n` +
        `@hubot on ${second.createdAt}:\nFixed on main.\n\nPlease retest.`,
    });
    expect(seen.structured).toEqual({
      owner: 'acme',
      repo: 'widgets',
      issueNumber: 1,
      comments: [
        { id: first.id, author: 'octocat', createdAt: first.createdAt, updatedAt: first.createdAt, body: 'I can reproduce this.', url: `https://github.com/acme/widgets/issues/1#issuecomment-${first.id}` },
        { id: second.id, author: 'hubot', createdAt: second.createdAt, updatedAt: second.createdAt, body: 'Fixed on main.\n\nPlease retest.', url: `https://github.com/acme/widgets/issues/1#issuecomment-${second.id}` },
      ],
      pageTruncated: false,
    });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /repos/acme/widgets/issues/1/comments?per_page=30&page=1']);
  });

  it('reads a pull request’s conversation, and says when there is none', async () => {
    const none = await callTool(source, 'list_issue_comments', { issueNumber: 3 });
    expect(none).toMatchObject({ isError: false, text: 'Comments on #3 in acme/widgets (page 1): none.', structured: { comments: [] } });
    const posted = comment(issue(3), 'hubot', 'LGTM');
    const seen = await callTool(source, 'list_issue_comments', { issueNumber: 3 });
    expect(seen.structured?.['comments']).toMatchObject([{ id: posted.id, body: 'LGTM', url: `https://github.com/acme/widgets/pull/3#issuecomment-${posted.id}` }]);
  });

  it('pages through GitHub’s Link header, and keeps only comments since a time', async () => {
    const later = [comment(issue(1), 'hubot', 'two'), comment(issue(1), 'octocat', 'three'), comment(issue(1), 'hubot', 'four')];
    const page1 = await callTool(source, 'list_issue_comments', { issueNumber: 1, perPage: 3 });
    expect(page1.structured?.['nextPage']).toBe(2);
    expect(page1.text).toMatch(/^Comments on #1 in acme\/widgets \(page 1\):\n\n@octocat on \S+:\nI can reproduce this\.\n\n@hubot on \S+:\ntwo\n\n@octocat on \S+:\nthree\nMore results: call again with page=2\.$/);
    const page2 = await callTool(source, 'list_issue_comments', { issueNumber: 1, perPage: 3, page: 2 });
    expect(page2.structured).not.toHaveProperty('nextPage');
    expect((page2.structured!['comments'] as unknown[]).length).toBe(1);
    expect(page2.text).toBe(`Comments on #1 in acme/widgets (page 2):\n\n@hubot on ${later[2]!.createdAt}:\nfour`);

    const since = later[1]!.createdAt;
    const recent = await callTool(source, 'list_issue_comments', { issueNumber: 1, since });
    expect(recent.text).toMatch(new RegExp(`^Comments on #1 in acme/widgets since ${since} \\(page 1\\):\n\n@octocat on ${since}:\nthree\n\n@hubot on \\S+:\nfour$`));
    expect(fake.requests.at(-1)?.path).toBe(`/repos/acme/widgets/issues/1/comments?since=${encodeURIComponent(since)}&per_page=30&page=1`);
  });

  it('cuts a long comment, bounds the whole page, and says so', async () => {
    const target = addIssue(fake.state, widgets, { title: 'Long thread' });
    comment(target, 'hubot', 'x'.repeat(25_000));
    for (const letter of ['a', 'b', 'c', 'd']) comment(target, 'octocat', letter.repeat(19_000));
    const seen = await callTool(source, 'list_issue_comments', { issueNumber: target.number });
    const bodies = (seen.structured!['comments'] as Array<{ body: string }>).map((c) => c.body);

    // 20,000 of the first; 19,000 each of the next two; what is left of 60,000 (minus the cut marker) of the fourth; none of the fifth.
    expect(bodies[0]).toBe(`${'x'.repeat(20_000)}\n… [truncated: 5000 more characters]`);
    expect(bodies[1]).toBe('a'.repeat(19_000));
    expect(bodies[2]).toBe('b'.repeat(19_000));
    expect(bodies[3]).toMatch(/^c{1900,2000}\n… \[truncated: \d+ more characters\]$/);
    expect(bodies[4]).toBe('\n… [truncated: 19000 more characters]');
    expect(bodies.join('').length).toBeLessThan(60_100);
    expect(seen.text).toContain('\nThis page reached 60000 characters and later comments were cut: call again with a smaller perPage to read them whole.');
    expect(seen.structured?.['pageTruncated']).toBe(true);
  });

  it('reports an unknown issue, and another user’s private repository, as not found', async () => {
    const unknown = await callTool(source, 'list_issue_comments', { issueNumber: 99 });
    expect(unknown).toMatchObject({ isError: true, text: 'Issue #99 in acme/widgets not found (or the token cannot see it).' });

    const hidden = addIssue(fake.state, secret, { title: 'Launch date', author: 'acme' });
    comment(hidden, 'acme', 'Monday.');
    const privateRepo = await callTool(source, 'list_issue_comments', { repo: 'secret-plans', issueNumber: hidden.number });
    expect(privateRepo).toMatchObject({ isError: true, text: 'Issue #1 in acme/secret-plans not found (or the token cannot see it).' });
    expect(privateRepo.text).not.toContain('Monday');
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/repos/acme/widgets/issues/99/comments?per_page=30&page=1',
      '/repos/acme/secret-plans/issues/1/comments?per_page=30&page=1',
    ]);
  });

  it('refuses a malformed since, issue number or page size before any request', async () => {
    const since = await callTool(source, 'list_issue_comments', { issueNumber: 1, since: 'yesterday' });
    expect(since).toMatchObject({ isError: true, text: 'Invalid arguments for list_issue_comments: since: must be an ISO 8601 timestamp such as 2025-01-31T12:00:00Z' });
    const dateOnly = await callTool(source, 'list_issue_comments', { issueNumber: 1, since: '2025-01-31' });
    expect(dateOnly.isError).toBe(true);
    const number = await callTool(source, 'list_issue_comments', { issueNumber: 0 });
    expect(number.text).toMatch(/^Invalid arguments for list_issue_comments: issueNumber: /);
    const perPage = await callTool(source, 'list_issue_comments', { issueNumber: 1, perPage: 101 });
    expect(perPage.text).toMatch(/^Invalid arguments for list_issue_comments: perPage: /);
    expect(fake.requests).toEqual([]);
  });
});

describe('github source: get_commit', () => {
  it('reads a commit by SHA: message, author, parents, stats and each file’s diff', async () => {
    const fix = headOf('main');
    const initial = widgets.branches.get('main')!.commits[1]!;
    const seen = await callTool(source, 'get_commit', { ref: fix.sha });
    const patch = '@@ -1 +1 @@\n-export const add = (a: number, b: number) => a + b;\n+export const add = (a: number, b: number) => Math.round(a + b);';
    expect(seen).toMatchObject({
      isError: false,
      text:
        `Commit ${fix.sha} in acme/widgets\nby hubot (@hubot) on ${fix.date}; parents: ${initial.sha.slice(0, 7)}\n+1 −1 (2 lines changed)\n` +
        `https://github.com/acme/widgets/commit/${fix.sha}\n\nFix math rounding\n\nFiles changed (page 1):\nmodified src/util/math.ts +1 −1\n${patch}`,
    });
    expect(seen.structured).toEqual({
      owner: 'acme',
      repo: 'widgets',
      sha: fix.sha,
      message: 'Fix math rounding',
      author: 'hubot',
      date: fix.date,
      parents: [initial.sha],
      stats: { additions: 1, deletions: 1, total: 2 },
      files: [{ filename: 'src/util/math.ts', status: 'modified', additions: 1, deletions: 1, patch, patchTruncated: false }],
      url: `https://github.com/acme/widgets/commit/${fix.sha}`,
    });
    expect(fake.requests.map((r) => r.path)).toEqual([`/repos/acme/widgets/commits/${fix.sha}?page=1`]);
  });

  it('reads a branch’s newest commit by name, with added, modified and binary files', async () => {
    const docs = commitToBranch(widgets, 'feature/docs', {
      message: 'Docs and a new logo\n\nThe old one was blurry.',
      author: 'octocat',
      files: { 'README.md': '# Widgets\n\nBuild widgets faster.\n', 'assets/logo.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x01]), 'docs/intro.md': 'Hello\n' },
    });
    const seen = await callTool(source, 'get_commit', { ref: 'feature/docs' });
    expect(seen.isError).toBe(false);
    expect(seen.text).toContain(
      'Files changed (page 1):\n' +
        'modified README.md +1 −1\n@@ -1,3 +1,3 @@\n # Widgets\n \n-Build widgets fast.\n+Build widgets faster.\n\n' +
        'modified assets/logo.png +0 −0\n(no diff from GitHub: a binary file, a rename without changes, or a diff too large)\n\n' +
        'added docs/intro.md +1 −0\n@@ -0,0 +1 @@\n+Hello',
    );
    expect(seen.text).toContain(`\n+2 −1 (3 lines changed)\nhttps://github.com/acme/widgets/commit/${docs.sha}\n\nDocs and a new logo\n\nThe old one was blurry.\n\n`);
    expect(seen.structured).toMatchObject({ sha: docs.sha, author: 'octocat', parents: [headOf('main').sha], stats: { additions: 2, deletions: 1, total: 3 } });
    const logo = (seen.structured!['files'] as Array<Record<string, unknown>>)[1];
    expect(logo).toEqual({ filename: 'assets/logo.png', status: 'modified', additions: 0, deletions: 0 });
    expect(fake.requests.at(-1)?.path).toBe('/repos/acme/widgets/commits/feature%2Fdocs?page=1');
  });

  it('cuts long diffs per file and per commit, and leaves them out when asked', async () => {
    const table = (n: number) => Array.from({ length: 3_000 }, (_, i) => `row ${i} of generated table ${n}`).join('\n');
    const big = commitToBranch(widgets, 'feature/tables', { message: 'Tables', files: { 'docs/t1.md': table(1), 'docs/t2.md': table(2), 'docs/t3.md': table(3), 'docs/t4.md': table(4) } });
    const seen = await callTool(source, 'get_commit', { ref: big.sha.slice(0, 7) });
    const files = seen.structured?.['files'] as Array<{ patch: string; patchTruncated: boolean; additions: number }>;
    expect(files.map((f) => [f.additions, f.patchTruncated])).toEqual([[3_000, true], [3_000, true], [3_000, true], [3_000, true]]);
    expect(files[0]!.patch).toMatch(/^@@ -0,0 \+1,3000 @@\n\+row 0 of generated table 1\n[\s\S]{19000,}\n… \[truncated: \d+ more characters\]$/);
    expect(files[0]!.patch.length).toBeLessThan(20_100);
    expect(files[3]!.patch).toMatch(/^\n… \[truncated: \d+ more characters\]$/);
    expect(files.reduce((sum, f) => sum + f.patch.length, 0)).toBeLessThan(60_200);
    expect(seen.text.length).toBeLessThan(61_000);

    const listOnly = await callTool(source, 'get_commit', { ref: big.sha, includePatch: false });
    expect(listOnly.text).toMatch(/\n\nTables\n\nFiles changed \(page 1\):\nadded docs\/t1\.md \+3000 −0\nadded docs\/t2\.md \+3000 −0\nadded docs\/t3\.md \+3000 −0\nadded docs\/t4\.md \+3000 −0$/);
    expect((listOnly.structured!['files'] as object[])[0]).toEqual({ filename: 'docs/t1.md', status: 'added', additions: 3_000, deletions: 0 });
  });

  it('pages a commit’s files 300 at a time, as GitHub does', async () => {
    const files = Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`gen/f${String(i).padStart(3, '0')}.txt`, `${i}\n`]));
    const many = commitToBranch(widgets, 'main', { message: 'Generate files', files });
    const page1 = await callTool(source, 'get_commit', { ref: many.sha, includePatch: false });
    expect((page1.structured!['files'] as object[]).length).toBe(300);
    expect(page1.structured).toMatchObject({ nextPage: 2, stats: { additions: 301, deletions: 0, total: 301 } });
    expect(page1.text).toMatch(/\nadded gen\/f299\.txt \+1 −0\nMore results: call again with page=2\.$/);
    const page2 = await callTool(source, 'get_commit', { ref: many.sha, includePatch: false, page: 2 });
    expect(page2.structured?.['files']).toEqual([{ filename: 'gen/f300.txt', status: 'added', additions: 1, deletions: 0 }]);
    expect(page2.structured).not.toHaveProperty('nextPage');
    expect(fake.requests.at(-1)?.path).toBe(`/repos/acme/widgets/commits/${many.sha}?page=2`);
  });

  it('says no commit was found for an unknown ref, and reports another user’s private repository as not found', async () => {
    const unknown = await callTool(source, 'get_commit', { ref: 'no-such-branch' });
    expect(unknown).toMatchObject({
      isError: true,
      text: "No commit found for ref 'no-such-branch' in acme/widgets. Pass a commit SHA (see list_commits) or a branch name (see list_branches).",
    });
    const sha = await callTool(source, 'get_commit', { ref: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef' });
    expect(sha.text).toMatch(/^No commit found for ref 'deadbeef/);

    const privateRepo = await callTool(source, 'get_commit', { repo: 'secret-plans', ref: 'main' });
    expect(privateRepo).toMatchObject({ isError: true, text: "Commit 'main' in acme/secret-plans not found (or the token cannot see it)." });
    expect(privateRepo.text).not.toContain('plan.md');
    expect(fake.requests).toHaveLength(3);
  });

  it('refuses an empty or dot-segment ref before any request', async () => {
    const empty = await callTool(source, 'get_commit', { ref: '' });
    expect(empty).toMatchObject({ isError: true, text: expect.stringMatching(/^Invalid arguments for get_commit: ref: /) });
    const dots = await callTool(source, 'get_commit', { ref: '..' });
    expect(dots.text).toBe("Invalid arguments for get_commit: ref: must not be '.' or '..'");
    const page = await callTool(source, 'get_commit', { ref: 'main', page: 0 });
    expect(page.text).toMatch(/^Invalid arguments for get_commit: page: /);
    expect(fake.requests).toEqual([]);
  });
});

describe('github source: search_issues', () => {
  /** Each search through a source (and token) of its own: Octokit spaces one token's searches two seconds apart. */
  async function search(args: Record<string, unknown>, defaults: { owner?: string; repo?: string } = {}) {
    const own = sourceFor(fake, defaults).source;
    try {
      return await callTool(own, 'search_issues', args);
    } finally {
      await own.close();
    }
  }

  it('lists issues and pull requests as owner/repo#n with state and a PR mark', async () => {
    const issues = await search({ query: 'is:issue repo:acme/widgets' });
    expect(issues).toMatchObject({
      isError: false,
      text: "2 results for 'is:issue repo:acme/widgets':\nacme/widgets#1 [open] Crash on empty input\nacme/widgets#2 [closed] Add dark mode",
    });
    expect(issues.structured).toEqual({
      query: 'is:issue repo:acme/widgets',
      totalCount: 2,
      incompleteResults: false,
      items: [
        { owner: 'acme', repo: 'widgets', number: 1, title: 'Crash on empty input', state: 'open', isPullRequest: false, author: 'hubot', url: 'https://github.com/acme/widgets/issues/1' },
        { owner: 'acme', repo: 'widgets', number: 2, title: 'Add dark mode', state: 'closed', isPullRequest: false, author: 'acme', url: 'https://github.com/acme/widgets/issues/2' },
      ],
    });
    expect(fake.requests.at(-1)?.path).toBe('/search/issues?q=is%3Aissue%20repo%3Aacme%2Fwidgets&per_page=20&page=1');

    const pulls = await search({ query: 'is:pr login' });
    expect(pulls.text).toBe("1 result for 'is:pr login':\nacme/widgets#3 [open] PR Add login form");
    expect(pulls.structured?.['items']).toMatchObject([{ number: 3, isPullRequest: true, author: 'octocat', url: 'https://github.com/acme/widgets/pull/3' }]);
  });

  it('searches the given or configured repository unless the query names its own scope', async () => {
    addIssue(fake.state, fake.state.repos.find((r) => r.name === 'tools')!, { title: 'Crash in the toolbox', author: 'octo' });
    const configured = await search({ query: 'is:issue crash' }, { owner: 'acme', repo: 'widgets' });
    expect(configured.text).toBe("1 result for 'is:issue crash repo:acme/widgets':\nacme/widgets#1 [open] Crash on empty input");
    expect(configured.structured).toMatchObject({ query: 'is:issue crash repo:acme/widgets' });
    const given = await search({ query: 'is:issue crash', owner: 'octo', repo: 'tools' });
    expect(given.text).toBe("1 result for 'is:issue crash repo:octo/tools':\nocto/tools#1 [open] Crash in the toolbox");
    const own = await search({ query: 'is:issue crash org:octo' }, { owner: 'acme', repo: 'widgets' });
    expect(own.text).toBe("1 result for 'is:issue crash org:octo':\nocto/tools#1 [open] Crash in the toolbox");
    const everywhere = await search({ query: 'is:issue crash' });
    expect(everywhere.structured).toMatchObject({ query: 'is:issue crash', totalCount: 2 });
  });

  it('applies state, label, author and text qualifiers', async () => {
    addIssue(fake.state, widgets, { title: 'Crash when offline', body: 'No network.', labels: ['bug', 'network'], author: 'octocat' });
    const bugs = await search({ query: 'is:issue is:open label:bug crash' });
    expect((bugs.structured!['items'] as Array<{ number: number }>).map((i) => i.number)).toEqual([1, 4]);
    const byAuthor = await search({ query: 'is:issue author:octocat network' });
    expect(byAuthor.text).toBe("1 result for 'is:issue author:octocat network':\nacme/widgets#4 [open] Crash when offline");
    const closed = await search({ query: 'is:issue state:closed' });
    expect(closed.text).toBe("1 result for 'is:issue state:closed':\nacme/widgets#2 [closed] Add dark mode");
    const nothing = await search({ query: 'is:issue label:bug dark' });
    expect(nothing).toMatchObject({ isError: false, text: "0 results for 'is:issue label:bug dark'.", structured: { totalCount: 0, items: [] } });
  });

  it('sorts and pages through the results', async () => {
    for (const title of ['Third', 'Fourth', 'Fifth']) addIssue(fake.state, widgets, { title });
    comment(issue(5), 'hubot', 'one');
    comment(issue(5), 'hubot', 'two');
    const seen = await search({ query: 'is:issue repo:acme/widgets', sort: 'comments', order: 'desc', perPage: 2 });
    expect(seen.text).toBe(
      "5 results for 'is:issue repo:acme/widgets':\nacme/widgets#5 [open] Fourth\nacme/widgets#1 [open] Crash on empty input\nMore results: call again with page=2.",
    );
    expect(seen.structured).toMatchObject({ totalCount: 5, nextPage: 2 });
    expect(fake.requests.at(-1)?.path).toBe('/search/issues?q=is%3Aissue%20repo%3Aacme%2Fwidgets&sort=comments&order=desc&per_page=2&page=1');

    const last = await search({ query: 'is:issue repo:acme/widgets', sort: 'created', order: 'asc', perPage: 2, page: 3 });
    expect(last.text).toBe("5 results for 'is:issue repo:acme/widgets':\nacme/widgets#6 [open] Fifth");
    expect(last.structured).not.toHaveProperty('nextPage');
  });

  it('passes on GitHub’s refusal of a query without is:issue or is:pr, saying what to add', async () => {
    const seen = await search({ query: 'crash repo:acme/widgets' });
    expect(seen).toMatchObject({
      isError: true,
      text: "GitHub rejected the request (422 Query must include 'is:issue' or 'is:pull-request'). Fix the arguments and try again.",
    });
    expect(fake.requests.map((r) => r.path)).toEqual(['/search/issues?q=crash%20repo%3Aacme%2Fwidgets&per_page=20&page=1']);
  });

  it('reads another user’s private repository like one that does not exist, and never lists its issues', async () => {
    addIssue(fake.state, secret, { title: 'Secret crash in widgets 2.0', author: 'acme' });
    const named = await search({ query: 'is:issue repo:acme/secret-plans' });
    const missing = await search({ query: 'is:issue repo:acme/no-such-repo' });
    expect(named).toMatchObject({
      isError: true,
      text:
        "GitHub cannot search 'is:issue repo:acme/secret-plans': a repository or user named by its repo:, org: or user: qualifiers does not exist or the token cannot see it. " +
        'Check those names; search_repositories finds repositories.',
    });
    expect(missing.text).toBe(named.text.replace('secret-plans', 'no-such-repo'));
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/search/issues?q=is%3Aissue%20repo%3Aacme%2Fsecret-plans&per_page=20&page=1',
      '/search/issues?q=is%3Aissue%20repo%3Aacme%2Fno-such-repo&per_page=20&page=1',
    ]);

    const everywhere = await search({ query: 'is:issue crash' });
    expect(everywhere.text).toBe("1 result for 'is:issue crash':\nacme/widgets#1 [open] Crash on empty input");
    const byOwner = await search({ query: 'is:issue org:acme secret' });
    expect(byOwner.text).toBe("0 results for 'is:issue org:acme secret'.");
  });

  it('refuses an empty query or an unknown sort before any request', async () => {
    for (const query of ['', '   ']) {
      expect(await search({ query })).toMatchObject({ isError: true, text: 'Invalid arguments for search_issues: query: must not be empty' });
    }
    const sort = await search({ query: 'is:issue', sort: 'stars' });
    expect(sort.text).toMatch(/^Invalid arguments for search_issues: sort: /);
    expect(fake.requests).toEqual([]);
  });
});
