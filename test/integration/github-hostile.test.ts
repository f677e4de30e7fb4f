import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callTool, seedGithub, sourceFor } from '../fakes/github-fixture.ts';
import { blobSha } from '../fakes/github-json.ts';
import { addRepo, commitToBranch, startFakeGithub, type FakeGithub, type FakeRepo } from '../fakes/github.ts';

// GitHub answering as it does when things go wrong: rate limits, redirects, empty repositories,
// more search results than it serves, oversized answers; and GitHub Enterprise Server's differences.

let fake: FakeGithub;
let widgets: FakeRepo;
const defaults = { owner: 'acme', repo: 'widgets' };
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

beforeEach(async () => {
  fake = await startFakeGithub();
  ({ widgets } = seedGithub(fake));
});
afterEach(() => fake.close());

const issues = () => JSON.stringify(widgets.issues);

describe('github source: rate limits', () => {
  it('429 secondary rate limit: not sent again a second later, and says until when from retry-after', async () => {
    const { source } = sourceFor(fake, defaults);
    const limited = {
      status: 429,
      headers: { 'retry-after': '60' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        status: '429',
      },
    };
    fake.failNext({ path: '/repos/acme/widgets/issues/1' }, limited);
    const started = Date.now();
    const seen = await callTool(source, 'get_issue', { issueNumber: 1 });
    expect(seen).toMatchObject({ isError: true, unavailable: false });
    expect(seen.text).toMatch(new RegExp(`^GitHub's secondary rate limit was exceeded: rate limited until (${ISO.source})\\. Try again after that time\\.$`));
    expect(Date.parse(ISO.exec(seen.text)![0]) - started).toBeGreaterThanOrEqual(59_000);
    // GitHub asks for a minute's pause; asking again within it only prolongs the limit.
    expect(fake.requests).toHaveLength(1);

    const before = issues();
    fake.failNext({ method: 'POST', path: '/repos/acme/widgets/issues' }, limited);
    expect((await callTool(source, 'create_issue', { title: 'During the limit' })).text).toMatch(/^GitHub's secondary rate limit was exceeded/);
    expect(issues()).toBe(before);
    expect(fake.requests).toHaveLength(2);

    // A 429 is a rate limit even when GitHub says no more than that.
    fake.failNext({ path: '/repos/acme/widgets/issues/1' }, { status: 429, body: { message: 'Too Many Requests' } });
    expect((await callTool(source, 'get_issue', { issueNumber: 1 })).text).toBe(
      "GitHub's secondary rate limit was exceeded: rate limited until a minute from now. Try again after that time.",
    );
    expect(fake.requests).toHaveLength(3);
  });

  it("a call waiting in the token's request queue ends when the caller cancels it, and is never sent", { timeout: 20_000 }, async () => {
    const { source } = sourceFor(fake, defaults);
    // Octokit runs at most ten requests of one token at once; GitHub holds these ten unanswered.
    const hold = fake.holdNext({ method: 'GET', path: '/repos/acme/widgets/issues/1' }, 10);
    const held = Array.from({ length: 10 }, () => callTool(source, 'get_issue', { issueNumber: 1 }));
    await hold.received;

    const controller = new AbortController();
    const queued = callTool(source, 'get_issue', { issueNumber: 1 }, controller.signal);
    controller.abort();
    expect(await queued).toMatchObject({ isError: true, text: 'The request was cancelled.' });
    expect(fake.requests).toHaveLength(10);

    hold.release();
    for (const result of await Promise.all(held)) expect(result.isError).toBe(false);
    // A later call queues behind the cancelled one: once it is answered, the cancelled one has had its turn.
    expect((await callTool(source, 'get_issue', { issueNumber: 1 })).isError).toBe(false);
    expect(fake.requests).toHaveLength(11);
  });
});

describe('github source: redirects', () => {
  let elsewhere: FakeGithub;
  beforeEach(async () => {
    elsewhere = await startFakeGithub();
    seedGithub(elsewhere);
  });
  afterEach(() => elsewhere.close());

  const redirect = (status: number, location: string) => ({ status, headers: { location }, body: { message: 'Moved', documentation_url: 'https://docs.github.com/rest' } });

  it('refuses a redirect to another host or port: neither the token nor the request goes there, and the message says so', async () => {
    const { source, token } = sourceFor(fake, defaults);
    // The second fake takes any token of this test's kind, so a leaked one would be seen to work there.
    elsewhere.state.tokens.set(token, 'octocat');
    fake.failNext({ path: '/repos/acme/widgets/issues/1' }, redirect(302, `${elsewhere.url}/repos/acme/widgets/issues/1?token=x`));
    const read = await callTool(source, 'get_issue', { issueNumber: 1 });
    expect(read).toMatchObject({
      isError: true,
      text:
        `The GitHub API at ${fake.url} redirected the request for issue #1 in acme/widgets to ${elsewhere.url}/repos/acme/widgets/issues/1, ` +
        'another scheme, host or port; the redirect was not followed, so neither the token nor the request went there. ' +
        "If the API has moved, the server's baseUrl must be changed to its new address.",
    });

    const before = issues();
    fake.failNext({ method: 'POST', path: '/repos/acme/widgets/issues' }, redirect(307, `${elsewhere.url}/repos/acme/widgets/issues`));
    const write = await callTool(source, 'create_issue', { title: 'Secret plans', body: 'Only for acme' });
    expect(write.text).toMatch(/^The GitHub API at .* redirected the request for repository acme\/widgets to /);
    expect(elsewhere.requests).toEqual([]);
    // Final: not sent again, to either host.
    expect(fake.requests).toHaveLength(2);
    expect(issues()).toBe(before);
    expect(JSON.stringify([read, write])).not.toContain(token);
  });

  it("follows GitHub's own redirects on its host, such as a renamed repository's, with the token and the request", async () => {
    const { source, token } = sourceFor(fake, defaults);
    fake.failNext({ path: '/repos/acme/old-widgets/issues/1' }, redirect(301, `${fake.url}/repos/acme/widgets/issues/1`));
    const read = await callTool(source, 'get_issue', { repo: 'old-widgets', issueNumber: 1 });
    expect(read.text).toMatch(/^Issue #1 \[open\] Crash on empty input\n/);

    fake.failNext({ method: 'POST', path: '/repos/acme/old-widgets/issues' }, redirect(307, '/repos/acme/widgets/issues'));
    const write = await callTool(source, 'create_issue', { repo: 'old-widgets', title: 'Renamed repositories work' });
    expect(write.text).toMatch(/^Created issue #4 in acme\/old-widgets: Renamed repositories work\n/);
    expect(widgets.issues.at(-1)).toMatchObject({ number: 4, title: 'Renamed repositories work', author: 'octocat' });
    expect(fake.requests.map((r) => [r.method, r.path.split('?')[0], r.headers.authorization])).toEqual([
      ['GET', '/repos/acme/old-widgets/issues/1', `token ${token}`],
      ['GET', '/repos/acme/widgets/issues/1', `token ${token}`],
      ['POST', '/repos/acme/old-widgets/issues', `token ${token}`],
      ['POST', '/repos/acme/widgets/issues', `token ${token}`],
    ]);
    expect(fake.requests.at(-1)?.body).toEqual({ title: 'Renamed repositories work' });
  });
});

describe('github source: GitHub Enterprise Server', () => {
  let ghes: FakeGithub;
  beforeEach(async () => {
    // As https://ghe.example.com/api/v3 with rate limiting turned off by its administrator.
    ghes = await startFakeGithub({ pathPrefix: '/api/v3', rateLimiting: false });
    seedGithub(ghes);
  });
  afterEach(() => ghes.close());

  it('takes a token that a server without rate limiting accepts, and still refuses one it rejects', async () => {
    const signal = new AbortController().signal;
    const { source } = sourceFor(ghes, defaults);
    await expect(source.check!(signal)).resolves.toBeUndefined();
    const { source: revoked } = sourceFor(ghes, { ...defaults, token: 'ghp_revokedTokenThatGitHubDoesNotKnow0123' });
    await expect(revoked.check!(signal)).rejects.toThrow(/^GitHub rejected the configured token \(401 Bad credentials\)/);
    expect(ghes.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v3/rate_limit', 'GET /api/v3/rate_limit']);
  });

  it('sends every request under /api/v3 and pages through its Link headers', async () => {
    const { source } = sourceFor(ghes, defaults);
    const first = await callTool(source, 'list_issues', { state: 'all', perPage: 2 });
    expect(first.structured?.['nextPage']).toBe(2);
    const second = await callTool(source, 'list_issues', { state: 'all', perPage: 2, page: 2 });
    expect(second.text).toBe('Issues in acme/widgets (page 2):\n#1 [open] Crash on empty input — @hubot, labels: bug, 1 comment');
    const found = await callTool(source, 'search_issues', { query: 'is:issue crash' });
    expect(found.structured?.['items']).toMatchObject([{ owner: 'acme', repo: 'widgets', number: 1 }]);
    expect(ghes.requests.map((r) => r.path.split('?')[0])).toEqual(['/api/v3/repos/acme/widgets/issues', '/api/v3/repos/acme/widgets/issues', '/api/v3/search/issues']);
  });
});

describe('github source: what GitHub answers for unusual repositories and files', () => {
  it('an empty repository is said to be empty, not missing', async () => {
    addRepo(fake.state, { owner: 'acme', name: 'fresh', files: {} });
    const { source } = sourceFor(fake, { owner: 'acme', repo: 'fresh' });
    fake.failNext({ path: /^\/repos\/acme\/fresh\/contents/ }, { status: 404, body: { message: 'This repository is empty.', documentation_url: 'https://docs.github.com/rest/repos/contents#get-repository-content', status: '404' } });
    expect((await callTool(source, 'get_file_contents', {})).text).toBe(
      'GitHub has nothing for repository acme/fresh: the repository is empty, with no commits, branches or files yet (404: This repository is empty.).',
    );
    fake.failNext({ path: '/repos/acme/fresh/commits' }, { status: 409, body: { message: 'Git Repository is empty.', documentation_url: 'https://docs.github.com/rest/commits/commits#list-commits', status: '409' } });
    expect((await callTool(source, 'list_commits', {})).text).toBe(
      'GitHub has nothing for repository acme/fresh: the repository is empty, with no commits, branches or files yet (409: Git Repository is empty.).',
    );
  });

  it('a symbolic link and a submodule are described as such', async () => {
    const { source } = sourceFor(fake, defaults);
    const api = `${fake.url}/repos/acme/widgets`;
    const entry = (path: string, sha: string) => ({
      name: path.split('/').pop(), path, sha, url: `${api}/contents/${path}?ref=main`, html_url: `https://github.com/acme/widgets/blob/main/${path}`,
      git_url: `${api}/git/blobs/${sha}`, download_url: null, _links: {},
    });
    // The contents API answers a link to a file with that file; a link to anything else is described.
    fake.failNext({ path: '/repos/acme/widgets/contents/docs' }, { status: 200, body: { type: 'symlink', target: '../site/docs', size: 12, ...entry('docs', 'a'.repeat(40)) } });
    expect((await callTool(source, 'get_file_contents', { path: 'docs' })).text).toBe('docs in acme/widgets is a symlink to ../site/docs.');
    const sha = '6ca3721222109997540bd6d9ccd396902e0ad2f9';
    fake.failNext({ path: '/repos/acme/widgets/contents/vendor/qunit' }, { status: 200, body: { type: 'submodule', submodule_git_url: 'git://github.com/jquery/qunit.git', size: 0, ...entry('vendor/qunit', sha) } });
    const submodule = await callTool(source, 'get_file_contents', { path: 'vendor/qunit' });
    expect(submodule.text).toBe(`vendor/qunit in acme/widgets is a submodule of git://github.com/jquery/qunit.git at ${sha}.`);
    expect(submodule.structured).toMatchObject({ type: 'submodule', url: 'git://github.com/jquery/qunit.git', sha });
  });

  it('a file over 100 MB, which GitHub will not serve, is said to be too large, not forbidden', async () => {
    const { source } = sourceFor(fake, defaults);
    const sha = blobSha('id,value\n'.repeat(120_000));
    fake.failNext({ path: `/repos/acme/widgets/git/blobs/${sha}` }, {
      status: 403,
      body: {
        message: 'This API returns blobs up to 100 MB in size. The requested blob is too large to fetch via the API, but you can always clone the repository via Git to obtain it.',
        errors: [{ resource: 'Blob', field: 'data', code: 'too_large' }],
        documentation_url: 'https://docs.github.com/rest/git/blobs#get-a-blob',
        status: '403',
      },
    });
    const seen = await callTool(source, 'get_file_contents', { path: 'data/huge.csv' });
    expect(seen).toMatchObject({ isError: true, text: "data/huge.csv in acme/widgets is too large to read through GitHub's API (1080000 bytes; it serves files up to 100 MB)." });
  });
});

describe('github source: bounded answers', () => {
  it('search: no next page past the 1,000 results GitHub serves, and says to narrow the query', async () => {
    // A source per search: Octokit spaces one token's searches two seconds apart.
    const source = () => sourceFor(fake, defaults).source;
    const repo = { full_name: 'acme/widgets', description: null, stargazers_count: 1, language: null, private: false, default_branch: 'main', html_url: 'https://github.com/acme/widgets', updated_at: '2025-01-06T09:00:00Z' };
    const page = { status: 200, body: { total_count: 4321, incomplete_results: false, items: Array.from({ length: 100 }, () => repo) } };
    const note = 'GitHub serves only the first 1000 results of a search: narrow the query (qualifiers such as repo:, path:, language:) to reach the rest.';

    fake.failNext({ path: '/search/repositories' }, page);
    const first = await callTool(source(), 'search_repositories', { query: 'widgets', perPage: 100 });
    expect(first.text.split('\n').slice(-2)).toEqual([note, 'More results: call again with page=2.']);
    expect(first.structured?.['nextPage']).toBe(2);

    fake.failNext({ path: '/search/repositories' }, page);
    const last = await callTool(source(), 'search_repositories', { query: 'widgets', perPage: 100, page: 10 });
    expect(last.text.split('\n').at(-1)).toBe(note);
    expect(last.structured?.['nextPage']).toBeUndefined();

    fake.failNext({ path: '/search/code' }, { status: 200, body: { total_count: 1500, incomplete_results: false, items: [] } });
    const code = await callTool(source(), 'search_code', { query: 'widget', perPage: 50, page: 20 });
    expect(code.structured?.['nextPage']).toBeUndefined();
    expect(code.text.split('\n').at(-1)).toBe(note);
  });

  it('list_commits cuts each long message, in the text and the structured content', async () => {
    const { source } = sourceFor(fake, defaults);
    const subject = `Squash: ${'x'.repeat(500)}`;
    commitToBranch(widgets, 'main', { message: `${subject}\n\n${'* change\n'.repeat(10_000)}`, files: { 'CHANGELOG.md': 'changes\n' } });
    const seen = await callTool(source, 'list_commits', { perPage: 1 });
    expect(seen.text.split('\n')[1]).toMatch(new RegExp(`^[0-9a-f]{40} \\S+ acme: ${subject.slice(0, 200)}…$`));
    const [commit] = (seen.structured?.['commits'] ?? []) as Array<{ message: string }>;
    expect(commit!.message).toMatch(/\n… \[truncated: 88510 more characters\]$/);
    expect(commit!.message.length).toBeLessThan(2_100);
  });

  it("GitHub's own words in an error are cut, so an error cannot flood the model", async () => {
    const { source } = sourceFor(fake, defaults);
    fake.failNext({ path: '/repos/acme/widgets/issues/1' }, { status: 404, body: { message: `Not here. ${'blah '.repeat(100_000)}` } });
    const seen = await callTool(source, 'get_issue', { issueNumber: 1 });
    expect(seen.text).toMatch(/^Issue #1 in acme\/widgets not found \(or the token cannot see it\)\. GitHub said: Not here\. (blah )+/);
    expect(seen.text).toContain('[truncated: ');
    expect(seen.text.length).toBeLessThan(1_200);
  });
});
