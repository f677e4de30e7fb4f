import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ToolSource } from '../../src/servers/tool-source.ts';
import { callTool, seedGithub, sourceFor } from '../fakes/github-fixture.ts';
import { blobSha } from '../fakes/github-json.ts';
import { addIssue, commitToBranch, startFakeGithub, type FakeGithub } from '../fakes/github.ts';

let fake: FakeGithub;
let source: ToolSource;
let token: string;

beforeEach(async () => {
  fake = await startFakeGithub();
  seedGithub(fake);
  ({ source, token } = sourceFor(fake, { owner: 'acme', repo: 'widgets', userAgent: 'botgate-test/1.0' }));
});
afterEach(async () => {
  await source.close();
  await fake.close();
});

describe('github source: tool list', () => {
  it('offers the twenty-three tools with honest annotations', async () => {
    const tools = await source.listTools(new AbortController().signal);
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual([
      'add_issue_comment', 'create_branch', 'create_issue', 'create_or_update_file', 'create_pull_request', 'create_pull_request_review',
      'get_commit', 'get_file_contents', 'get_issue', 'get_pull_request', 'get_pull_request_files', 'get_pull_request_status', 'list_branches', 'list_commits',
      'list_issue_comments', 'list_issues', 'list_pull_request_reviews', 'list_pull_requests', 'merge_pull_request', 'search_code', 'search_issues', 'search_repositories',
      'update_issue',
    ]);
    const hints = tools.map((t) => [t.name, t.annotations?.readOnlyHint, t.annotations?.destructiveHint, t.annotations?.openWorldHint]);
    const creations = new Set(['create_issue', 'add_issue_comment', 'create_pull_request', 'create_branch', 'create_pull_request_review']);
    // An update, a merge or a file written over changes what exists: destructive.
    const destructive = new Set(['update_issue', 'merge_pull_request', 'create_or_update_file']);
    const hint = (name: string) => (destructive.has(name) ? [name, false, true, true] : creations.has(name) ? [name, false, false, true] : [name, true, undefined, true]);
    expect(hints).toEqual(tools.map((t) => hint(t.name)));
    // The same update twice changes nothing more; a merge or a commit cannot be repeated to the same effect.
    expect(byName.get('update_issue')?.annotations?.idempotentHint).toBe(true);
    expect(byName.get('merge_pull_request')?.annotations?.idempotentHint).toBe(false);
    expect(byName.get('create_or_update_file')?.annotations?.idempotentHint).toBe(false);
  });

  it('makes owner and repo optional and names the configured defaults', async () => {
    const tools = await source.listTools(new AbortController().signal);
    const getIssue = tools.find((t) => t.name === 'get_issue')!;
    expect(getIssue.inputSchema.required).toEqual(['issueNumber']);
    expect(JSON.stringify(getIssue.inputSchema.properties)).toContain('Defaults to acme');
    expect(JSON.stringify(getIssue.inputSchema.properties)).toContain('Defaults to widgets');
  });
});

/** The note after a text file's content: its blob sha, which replacing the file takes, for clients that show the content alone. */
const shaNote = (content: string) => `[blob sha ${blobSha(content)}: pass it as sha to create_or_update_file to replace this file]`;

describe('github source: get_file_contents', () => {
  it('returns a file as decoded text, with its blob sha in the text and in the structured content', async () => {
    const content = "export function createWidget(name: string) {\n  return { name };\n}\n";
    const seen = await callTool(source, 'get_file_contents', { path: 'src/index.ts' });
    expect(seen.isError).toBe(false);
    expect(seen.text).toBe(`${content}\n${shaNote(content)}`);
    expect(seen.structured).toMatchObject({ owner: 'acme', repo: 'widgets', path: 'src/index.ts', type: 'file', truncated: false, content, sha: blobSha(content) });
    expect(fake.requests.at(-1)?.path).toBe('/repos/acme/widgets/contents/src%2Findex.ts');
  });

  it('lists a directory, and the root when no path is given', async () => {
    const dir = await callTool(source, 'get_file_contents', { path: 'src' });
    expect(dir.text).toBe('Directory src in acme/widgets, 2 entries:\nindex.ts (66 bytes)\nutil/');
    expect(dir.structured?.['entries']).toEqual([
      { name: 'index.ts', path: 'src/index.ts', type: 'file', size: 66 },
      { name: 'util', path: 'src/util', type: 'dir', size: 0 },
    ]);
    const root = await callTool(source, 'get_file_contents', {});
    expect(root.text).toBe('Directory / in acme/widgets, 5 entries:\nassets/\ndata/\nempty.txt (0 bytes)\nREADME.md (31 bytes)\nsrc/');
  });

  it('reads another branch through ref, and explains an unknown ref', async () => {
    const seen = await callTool(source, 'get_file_contents', { path: 'src/login.ts', ref: 'feature/login' });
    expect(seen.text).toBe(`export const login = () => true;\n\n${shaNote('export const login = () => true;\n')}`);
    const missing = await callTool(source, 'get_file_contents', { path: 'src/login.ts' });
    expect(missing).toMatchObject({ isError: true, text: "Path 'src/login.ts' in acme/widgets not found (or the token cannot see it)." });
    const badRef = await callTool(source, 'get_file_contents', { path: 'README.md', ref: 'nope' });
    expect(badRef.text).toBe("Path 'README.md' in acme/widgets@nope not found (or the token cannot see it). GitHub said: No commit found for the ref nope.");
  });

  it('describes binary and empty files instead of dumping them', async () => {
    expect((await callTool(source, 'get_file_contents', { path: 'assets/logo.png' })).text).toBe(
      'assets/logo.png in acme/widgets is a binary file (10 bytes); its content is not shown.',
    );
    expect((await callTool(source, 'get_file_contents', { path: 'empty.txt' })).text).toBe(`empty.txt in acme/widgets is an empty file.\n${shaNote('')}`);
  });

  it('reads a file over 1 MB, which the contents API leaves empty, as its raw blob, cut to 100,000 characters', async () => {
    const content = 'id,value\n'.repeat(120_000);
    const seen = await callTool(source, 'get_file_contents', { path: 'data/huge.csv' });
    expect(seen.text).toBe(`${content.slice(0, 100_000)}\n… [truncated: ${content.length - 100_000} more characters]\n${shaNote(content)}`);
    expect(seen.structured).toMatchObject({ type: 'file', size: 1_080_000, sha: blobSha(content), truncated: true });
    // The blob the contents API named, so the text matches the sha even if the branch moves meanwhile.
    expect(fake.requests.slice(-2).map((r) => [r.path, r.headers.accept])).toEqual([
      ['/repos/acme/widgets/contents/data%2Fhuge.csv', 'application/vnd.github.v3+json'],
      [`/repos/acme/widgets/git/blobs/${blobSha(content)}`, 'application/vnd.github.v3.raw'],
    ]);
  });
});

describe('github source: search', () => {
  it('search_code scopes to the default repository and lists matching paths', async () => {
    const seen = await callTool(source, 'search_code', { query: 'createWidget' });
    expect(seen.text).toBe("1 code result for 'createWidget repo:acme/widgets':\nacme/widgets: src/index.ts");
    expect(seen.structured).toMatchObject({ totalCount: 1, items: [{ repository: 'acme/widgets', path: 'src/index.ts' }] });
  });

  it("search_code keeps the query's own scope, and never shows repositories the token cannot see", async () => {
    const seen = await callTool(source, 'search_code', { query: 'createWidget org:acme' });
    expect(seen.text).toBe("1 code result for 'createWidget org:acme':\nacme/widgets: src/index.ts");
    expect(seen.text).not.toContain('secret-plans');
  });

  it('search_repositories lists names, stars, languages and descriptions', async () => {
    const seen = await callTool(source, 'search_repositories', { query: 'widgets', sort: 'stars' });
    expect(seen.text).toBe(
      "2 repositories for 'widgets':\nacme/widgets ★42 [TypeScript] — Widgets for everyone\nocto/tools ★7 [Go] — Handy widgets toolbox",
    );
    expect(seen.structured?.['items']).toHaveLength(2);
    expect(fake.requests.at(-1)?.path).toBe('/search/repositories?q=widgets&sort=stars&per_page=20&page=1');
  });
});

describe('github source: issues, pull requests, commits', () => {
  it('list_issues shows state, labels, comments and marks pull requests', async () => {
    const seen = await callTool(source, 'list_issues', {});
    expect(seen.text).toBe(
      'Open issues in acme/widgets (page 1):\n' +
        '#3 [open] PR Add login form — @octocat, 0 comments\n' +
        '#1 [open] Crash on empty input — @hubot, labels: bug, 1 comment',
    );
    const closed = await callTool(source, 'list_issues', { state: 'closed', labels: ['enhancement'] });
    expect(closed.structured?.['issues']).toMatchObject([{ number: 2, title: 'Add dark mode', state: 'closed', labels: ['enhancement'] }]);
  });

  it('list_issues tells the model how to get the next page', async () => {
    const seen = await callTool(source, 'list_issues', { state: 'all', perPage: 2 });
    expect(seen.text).toContain('More results: call again with page=2.');
    expect(seen.structured?.['nextPage']).toBe(2);
    const last = await callTool(source, 'list_issues', { state: 'all', perPage: 2, page: 2 });
    expect(last.text).toBe('Issues in acme/widgets (page 2):\n#1 [open] Crash on empty input — @hubot, labels: bug, 1 comment');
  });

  it('get_issue shows the issue with its body', async () => {
    const seen = await callTool(source, 'get_issue', { issueNumber: 1 });
    expect(seen.text).toMatch(/^Issue #1 \[open\] Crash on empty input\nby @hubot on 2025-\S+; labels: bug; assignees: @octocat; 1 comment\n/);
    expect(seen.text).toContain('https://github.com/acme/widgets/issues/1\n\nSteps:\n1. Submit an empty form');
    expect(seen.structured).toMatchObject({ number: 1, state: 'open', author: 'hubot', assignees: ['octocat'], comments: 1, isPullRequest: false });
  });

  it('list_pull_requests and get_pull_request show branches, merge state and size', async () => {
    const list = await callTool(source, 'list_pull_requests', {});
    expect(list.text).toBe('Pull requests (open) in acme/widgets (page 1):\n#3 [open] Add login form — @octocat, feature/login → main');
    const pr = await callTool(source, 'get_pull_request', { pullNumber: 3 });
    const headSha = fake.state.repos.find((r) => r.name === 'widgets')!.branches.get('feature/login')!.commits[0]!.sha;
    expect(pr.text).toMatch(new RegExp(`^Pull request #3 \\[open\\] Add login form\nby @octocat on \\S+; feature/login at ${headSha} → main; mergeable\n1 commit, 1 file changed, \\+3 −1\n`));
    expect(pr.text).toMatch(/\n\nCloses #1$/);
    expect(pr.structured).toMatchObject({ number: 3, head: 'feature/login', headSha, base: 'main', merged: false, commits: 1, changedFiles: 1 });
    const notPr = await callTool(source, 'get_pull_request', { pullNumber: 1 });
    expect(notPr.text).toBe('Pull request #1 in acme/widgets not found (or the token cannot see it).');
  });

  it('get_pull_request_files lists what a pull request changes, with each text file’s diff', async () => {
    const seen = await callTool(source, 'get_pull_request_files', { pullNumber: 3 });
    expect(seen.text).toBe(
      'Files changed by pull request #3 in acme/widgets (page 1):\nadded src/login.ts +1 −0\n@@ -0,0 +1 @@\n+export const login = () => true;',
    );
    expect(seen.structured).toEqual({
      owner: 'acme',
      repo: 'widgets',
      pullNumber: 3,
      files: [{ filename: 'src/login.ts', status: 'added', additions: 1, deletions: 0, patch: '@@ -0,0 +1 @@\n+export const login = () => true;', patchTruncated: false }],
    });
    expect(fake.requests.at(-1)?.path).toBe('/repos/acme/widgets/pulls/3/files?per_page=30&page=1');

    const listOnly = await callTool(source, 'get_pull_request_files', { pullNumber: 3, includePatch: false });
    expect(listOnly.text).toBe('Files changed by pull request #3 in acme/widgets (page 1):\nadded src/login.ts +1 −0');
    const notPr = await callTool(source, 'get_pull_request_files', { pullNumber: 1 });
    expect(notPr).toMatchObject({ isError: true, text: 'Pull request #1 in acme/widgets not found (or the token cannot see it).' });
  });

  it('get_pull_request_files shows modified and binary files, and cuts a long diff', async () => {
    const widgets = fake.state.repos.find((r) => r.name === 'widgets')!;
    const long = Array.from({ length: 3_000 }, (_, i) => `line ${i} of the generated table`).join('\n');
    commitToBranch(widgets, 'feature/docs', {
      message: 'Docs and logo',
      files: { 'README.md': '# Widgets\n\nBuild widgets faster.\n', 'assets/logo.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x01]), 'docs/table.md': long },
    });
    const headSha = widgets.branches.get('feature/docs')!.commits[0]!.sha;
    const pr = addIssue(fake.state, widgets, { title: 'Docs', pull: { head: 'feature/docs', base: 'main', draft: false, merged: false, headSha } });

    const seen = await callTool(source, 'get_pull_request_files', { pullNumber: pr.number });
    const files = seen.structured?.['files'] as Array<Record<string, unknown>>;

    expect(files.map((f) => [f['filename'], f['status'], f['additions'], f['deletions'], f['patchTruncated']])).toEqual([
      ['README.md', 'modified', 1, 1, false],
      ['assets/logo.png', 'modified', 0, 0, undefined],
      ['docs/table.md', 'added', 3_000, 0, true],
    ]);
    expect(files[0]?.['patch']).toBe('@@ -1,3 +1,3 @@\n # Widgets\n \n-Build widgets fast.\n+Build widgets faster.');
    expect(seen.text).toContain('modified assets/logo.png +0 −0\n(no diff from GitHub: a binary file, a rename without changes, or a diff too large)');
    expect(seen.text).toMatch(/\n… \[truncated: \d+ more characters\]$/);
    expect(String(files[2]?.['patch']).length).toBeLessThan(20_100);
  });

  it('list_branches lists branches in name order with their commits, or the protected ones only', async () => {
    const widgets = fake.state.repos.find((r) => r.name === 'widgets')!;
    widgets.protectedBranches = ['main'];
    const sha = (name: string) => widgets.branches.get(name)!.commits[0]!.sha;

    const all = await callTool(source, 'list_branches', {});
    expect(all.text).toBe(
      `Branches of acme/widgets (page 1):\nfeature/empty ${sha('feature/empty').slice(0, 7)}\nfeature/login ${sha('feature/login').slice(0, 7)}\nmain ${sha('main').slice(0, 7)} (protected)`,
    );
    expect(all.structured?.['branches']).toEqual([
      { name: 'feature/empty', sha: sha('feature/empty'), protected: false },
      { name: 'feature/login', sha: sha('feature/login'), protected: false },
      { name: 'main', sha: sha('main'), protected: true },
    ]);
    const protectedOnly = await callTool(source, 'list_branches', { protectedOnly: true });
    expect(protectedOnly.structured?.['branches']).toEqual([{ name: 'main', sha: sha('main'), protected: true }]);
    expect(fake.requests.at(-1)?.path).toBe('/repos/acme/widgets/branches?protected=true&per_page=30&page=1');
    const hidden = await callTool(source, 'list_branches', { repo: 'secret-plans' });
    expect(hidden.text).toBe('Repository acme/secret-plans not found (or the token cannot see it).');
  });

  it('list_commits lists a branch newest first, optionally for one path', async () => {
    const main = await callTool(source, 'list_commits', {});
    // Whole SHAs, as create_branch takes them.
    expect(main.text).toMatch(/^Commits in acme\/widgets \(page 1\):\n[0-9a-f]{40} 2025-01-06 hubot: Fix math rounding\n[0-9a-f]{40} 2025-01-06 acme: Initial commit$/);
    const branch = await callTool(source, 'list_commits', { sha: 'feature/login', path: 'src/login.ts' });
    expect(branch.text).toMatch(/^Commits in acme\/widgets@feature\/login touching src\/login\.ts \(page 1\):\n[0-9a-f]{40} \S+ octocat: Add login form$/);
    expect(branch.structured?.['commits']).toMatchObject([{ message: 'Add login form\n\nWith validation.', author: 'octocat' }]);
  });
});

describe('github source: requests', () => {
  it('carries the token and a user-agent on every request', async () => {
    await callTool(source, 'get_issue', { issueNumber: 1 });
    await callTool(source, 'list_commits', { owner: 'octo', repo: 'tools' });
    expect(fake.requests).toHaveLength(2);
    for (const request of fake.requests) {
      expect(request.headers.authorization).toBe(`token ${token}`);
      expect(request.headers['user-agent']).toMatch(/^botgate-test\/1\.0 octokit-rest\.js\//);
    }
    expect(fake.requests[1]?.path).toBe('/repos/octo/tools/commits?per_page=30&page=1');
  });
});
