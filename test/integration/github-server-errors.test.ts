import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitToBranch, rateLimited, secondaryRateLimited, serverError, startFakeGithub, validationFailure, type FakeGithub, type FakeRepo } from '../fakes/github.ts';
import { createOutboundGuard } from '../../src/servers/outbound.ts';
import { callTool, seedGithub, sourceFor, type SeenResult } from '../fakes/github-fixture.ts';

let fake: FakeGithub;
let widgets: FakeRepo;
const defaults = { owner: 'acme', repo: 'widgets' };

beforeEach(async () => {
  fake = await startFakeGithub();
  ({ widgets } = seedGithub(fake));
});
afterEach(() => fake.close());

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

describe('github source: GitHub errors become results a model can act on', () => {
  it('401: a bad token is reported as such, never echoed, and changes nothing', async () => {
    const token = 'ghp_notARealToken000000000000000000000000';
    const { source } = sourceFor(fake, { ...defaults, token });
    const before = JSON.stringify(widgets.issues);
    for (const [name, args] of [['get_issue', { issueNumber: 1 }], ['create_issue', { title: 'x' }]] as const) {
      const seen = await callTool(source, name, args);
      expect(seen).toMatchObject({
        isError: true,
        // GitHub answered: a refusal, not an outage.
        unavailable: false,
        text: 'GitHub rejected the configured token (401 Bad credentials): it is invalid, expired or revoked. Retrying will not help; the token must be replaced.',
      });
      expect(seen.text).not.toContain(token);
    }
    expect(JSON.stringify(widgets.issues)).toBe(before);
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual([`token ${token}`, `token ${token}`]);
  });

  it('403 rate limit: says until when, does not wait an hour, and a failed write changes nothing', async () => {
    const { source } = sourceFor(fake, defaults);
    const reset = new Date(Date.now() + 3_600_000);
    const until = new Date(Math.floor(reset.getTime() / 1000) * 1000).toISOString();
    fake.failNext({ path: /^\/repos\// }, rateLimited(reset), 2);
    const read = await callTool(source, 'get_issue', { issueNumber: 1 });
    expect(read).toMatchObject({ isError: true, unavailable: false, text: `GitHub's API rate limit for this token was exceeded: rate limited until ${until}. Try again after that time.` });
    const before = JSON.stringify(widgets.issues);
    const write = await callTool(source, 'create_issue', { title: 'During the limit' });
    expect(write.text).toContain(`rate limited until ${until}`);
    expect(JSON.stringify(widgets.issues)).toBe(before);
    expect(fake.requests).toHaveLength(2);
  });

  it('403 rate limit with a reset within retryAfterCapMs: retried once, then given up', async () => {
    const { source } = sourceFor(fake, { ...defaults, retryAfterCapMs: 5_000 });
    fake.failNext({ method: 'GET', path: '/repos/acme/widgets/issues/1' }, rateLimited(new Date()), 1);
    const recovered = await callTool(source, 'get_issue', { issueNumber: 1 });
    expect(recovered.isError).toBe(false);
    expect(fake.requests).toHaveLength(2);

    fake.failNext({ method: 'GET', path: '/repos/acme/widgets/issues/1' }, rateLimited(new Date()), 5);
    const gaveUp = await callTool(source, 'get_issue', { issueNumber: 1 });
    expect(gaveUp.text).toMatch(new RegExp(`^GitHub's API rate limit for this token was exceeded: rate limited until ${ISO.source}\\.`));
    expect(fake.requests).toHaveLength(4);
  });

  it('403 secondary rate limit: says until when, from retry-after', async () => {
    const { source } = sourceFor(fake, defaults);
    fake.failNext({ path: '/search/code' }, secondaryRateLimited(60));
    const started = Date.now();
    const seen = await callTool(source, 'search_code', { query: 'widget' });
    expect(seen.text).toMatch(new RegExp(`^GitHub's secondary rate limit was exceeded: rate limited until (${ISO.source})\\. Try again after that time\\.$`));
    const until = Date.parse(ISO.exec(seen.text)![0]);
    expect(until - started).toBeGreaterThanOrEqual(59_000);
    expect(until - started).toBeLessThan(70_000);
  });

  it('403 without a rate limit: names the refusal', async () => {
    const { source } = sourceFor(fake, defaults);
    fake.failNext({ method: 'POST', path: '/repos/acme/widgets/issues' }, { status: 403, body: { message: 'Resource not accessible by personal access token', documentation_url: 'https://docs.github.com/rest/issues/issues#create-an-issue', status: '403' } });
    const seen = await callTool(source, 'create_issue', { title: 'x' });
    expect(seen.text).toBe('GitHub refused access to repository acme/widgets (403: Resource not accessible by personal access token). The token may lack the permission or scope this needs.');
  });

  it("422: lists GitHub's errors details, and the write changes nothing", async () => {
    const { source } = sourceFor(fake, defaults);
    const before = JSON.stringify(widgets.issues);
    fake.failNext({ method: 'POST', path: '/repos/acme/widgets/issues/1/comments' }, validationFailure([
      { resource: 'IssueComment', field: 'body', code: 'too_long' },
      { resource: 'IssueComment', code: 'custom', message: 'Body is too long (maximum is 65536 characters)' },
    ]));
    const seen = await callTool(source, 'add_issue_comment', { issueNumber: 1, body: 'hello' });
    expect(seen.text).toBe('GitHub rejected the request (422 Validation Failed): body failed (too_long); Body is too long (maximum is 65536 characters). Fix the arguments and try again.');
    expect(JSON.stringify(widgets.issues)).toBe(before);
  });

  it('5xx: retried once, then reported', async () => {
    const { source } = sourceFor(fake, defaults);
    fake.failNext({ path: '/repos/acme/widgets/pulls' }, serverError(502), 1);
    expect((await callTool(source, 'list_pull_requests', {})).isError).toBe(false);
    fake.failNext({ path: '/repos/acme/widgets/pulls' }, serverError(502), 2);
    expect(await callTool(source, 'list_pull_requests', {})).toMatchObject({ text: 'GitHub failed with status 502. Try again later.', unavailable: true });
    expect(fake.requests).toHaveLength(4);
  });

  it('an answer over the operator’s message limit is refused, naming the limit', async () => {
    const { source } = sourceFor(fake, { ...defaults, fetch: createOutboundGuard({ allowPrivateNetworks: ['127.0.0.0/8'], maxMessageBytes: 64 * 1024 }).fetch });
    expect(await callTool(source, 'get_file_contents', { path: 'README.md' })).toMatchObject({ isError: false });
    // Under the contents API's own 1 MB bound, over the operator's 64 KiB.
    commitToBranch(widgets, 'main', { message: 'Add a big file', files: { 'data/big.txt': 'x'.repeat(200_000) } });
    const seen = await callTool(source, 'get_file_contents', { path: 'data/big.txt' });
    expect(seen).toMatchObject({
      isError: true,
      text: "GitHub's answer about path 'data/big.txt' in acme/widgets was not read: it sent a message of more than 65536 bytes, the limit for one message (BOTGATE_UPSTREAM_MESSAGE_LIMIT). Ask for less (a smaller file, fewer results).",
    });
    // Final: asking again would bring the same answer.
    expect(fake.requests.filter((r) => r.path.includes('big.txt'))).toHaveLength(1);
  });

  it('never shows the token, even when GitHub echoes it', async () => {
    const { source, token } = sourceFor(fake, defaults);
    fake.failNext({ path: '/repos/acme/widgets/issues/2' }, { status: 404, body: { message: `No issue for token ${token}` } });
    const seen: SeenResult[] = [await callTool(source, 'get_issue', { issueNumber: 2 })];
    expect(seen[0]!.text).toBe('Issue #2 in acme/widgets not found (or the token cannot see it). GitHub said: No issue for token [redacted].');
    for (const [name, args] of Object.entries({
      get_file_contents: { path: 'README.md' }, search_code: { query: 'add' }, search_repositories: { query: 'widgets' }, list_issues: {},
      get_issue: { issueNumber: 404 }, create_issue: { title: 't' }, add_issue_comment: { issueNumber: 1, body: 'b' }, list_pull_requests: {},
      get_pull_request: { pullNumber: 3 }, create_pull_request: { title: 't', head: 'nope', base: 'main' }, list_commits: { sha: 'nope' },
    })) {
      seen.push(await callTool(sourceFor(fake, defaults).source, name, args));
    }
    expect(seen.filter((s) => s.isError)).toHaveLength(4);
    for (const result of seen) expect(JSON.stringify(result)).not.toContain(token);
  });
});

describe('github source: arguments GitHub cannot take', () => {
  it('list_issues refuses a label with a comma, which GitHub would split in two, and sends nothing', async () => {
    const { source } = sourceFor(fake, defaults);
    const seen = await callTool(source, 'list_issues', { labels: ['bug', 'needs info, urgent'] });
    expect(seen.isError).toBe(true);
    expect(seen.text).toContain('labels.1');
    expect(seen.text).toContain('a label with a comma cannot be filtered on');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('github source: timeouts and cancellation', () => {
  let silent: Server;
  let silentUrl: string;
  let received: number;
  beforeEach(async () => {
    received = 0;
    silent = createServer(() => void received++); // accepts requests and never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    silent.closeAllConnections();
    if (silent.listening) await new Promise((resolve) => silent.close(resolve));
  });

  it('a request GitHub does not answer times out, without retries', async () => {
    const { source } = sourceFor(fake, { ...defaults, baseUrl: silentUrl, requestTimeoutMs: 200 });
    const seen = await callTool(source, 'get_issue', { issueNumber: 1 });
    expect(seen).toMatchObject({ isError: true, unavailable: true, text: 'GitHub did not answer within 0.2 seconds. Try again later.' });
    // Octokit's retry would come a second after the first attempt: none came, nor comes later.
    expect(received).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(received).toBe(1);
  });

  it('a write still queued behind the token’s previous one when the time is up says so, and was not sent', async () => {
    // GitHub's limits (and the throttling plugin's queues) are per token: one write a second.
    const { source } = sourceFor(fake, { ...defaults, requestTimeoutMs: 300 });
    const [first, second] = await Promise.all([
      callTool(source, 'create_issue', { title: 'first' }),
      callTool(source, 'create_issue', { title: 'second' }),
    ]);
    expect(first.isError).toBe(false);
    expect(second).toMatchObject({
      isError: true,
      unavailable: true,
      text: expect.stringMatching(/^The request waited 0\.3 seconds for its turn and was not sent: GitHub allows one token about one write a second/) as unknown,
    });
    expect(widgets.issues.map((issue) => issue.title)).not.toContain('second');
  });

  it('a call whose wait for a rate limit to reset runs past its time says GitHub limited the token', async () => {
    const { source } = sourceFor(fake, { ...defaults, retryAfterCapMs: 5_000, requestTimeoutMs: 300 });
    fake.failNext({ method: 'GET', path: '/repos/acme/widgets/issues/1' }, secondaryRateLimited(2), 1);
    const seen = await callTool(source, 'get_issue', { issueNumber: 1 });
    expect(seen).toMatchObject({
      isError: true,
      unavailable: true,
      text: "GitHub limited this token's requests (HTTP 403), and the wait for the limit to reset ran past the call's 0.3 seconds. Try again in a little while.",
    });
    expect(fake.requests).toHaveLength(1);
  });

  it("the caller's cancellation aborts the request", async () => {
    const { source } = sourceFor(fake, { ...defaults, baseUrl: silentUrl });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const seen = await callTool(source, 'list_issues', {}, controller.signal);
    expect(seen).toMatchObject({ isError: true, text: 'The request was cancelled.' });
  });

  it('an unreachable GitHub is reported as such', async () => {
    const port = (silent.address() as AddressInfo).port;
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    const { source } = sourceFor(fake, { ...defaults, baseUrl: silentUrl });
    const seen = await callTool(source, 'list_commits', {});
    expect(seen).toMatchObject({ unavailable: true, text: `Could not reach GitHub: connect ECONNREFUSED 127.0.0.1:${port}. Try again later.` });
  });
});
