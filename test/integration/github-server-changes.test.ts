import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ToolSource } from '../../src/servers/tool-source.ts';
import { callTool, seedGithub, sourceFor } from '../fakes/github-fixture.ts';
import { blobSha } from '../fakes/github-json.ts';
import { startFakeGithub, type FakeGithub, type FakeRepo } from '../fakes/github.ts';

let fake: FakeGithub;
let widgets: FakeRepo;
let secret: FakeRepo;

beforeEach(async () => {
  fake = await startFakeGithub();
  ({ widgets, secret } = seedGithub(fake));
});
afterEach(() => fake.close());

/** A fresh source per write: Octokit spaces writes by one token a second apart. */
function widgetsSource(): ToolSource {
  return sourceFor(fake, { owner: 'acme', repo: 'widgets' }).source;
}

/** Every branch with its files and commits: what a refused change must leave alone. */
function snapshot(repo: FakeRepo): string {
  return JSON.stringify([...repo.branches].map(([name, b]) => [name, [...b.files], b.commits.map((c) => c.sha)]));
}

function head(repo: FakeRepo, branch: string): string {
  return repo.branches.get(branch)!.commits[0]!.sha;
}

describe('github source: create_branch', () => {
  it('is annotated as a creation, and create_or_update_file as a destructive, non-idempotent write', async () => {
    const tools = await widgetsSource().listTools(new AbortController().signal);
    const hints = (name: string) => tools.find((t) => t.name === name)?.annotations;
    expect(hints('create_branch')).toEqual({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true });
    expect(hints('create_or_update_file')).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true });
  });

  it('creates a branch at the head of the default branch', async () => {
    const mainSha = head(widgets, 'main');
    const seen = await callTool(widgetsSource(), 'create_branch', { branch: 'fix/rounding' });
    expect(seen).toMatchObject({ isError: false, text: `Created branch fix/rounding in acme/widgets at ${mainSha.slice(0, 7)}, from branch main.` });
    expect(seen.structured).toEqual({ owner: 'acme', repo: 'widgets', branch: 'fix/rounding', sha: mainSha, from: 'main' });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /repos/acme/widgets',
      'GET /repos/acme/widgets/git/ref/heads%2Fmain',
      'POST /repos/acme/widgets/git/refs',
    ]);
    expect(fake.requests.at(-1)?.body).toEqual({ ref: 'refs/heads/fix/rounding', sha: mainSha });
    expect(widgets.branches.get('fix/rounding')?.commits.map((c) => c.sha)).toEqual(widgets.branches.get('main')?.commits.map((c) => c.sha));

    const branches = await callTool(widgetsSource(), 'list_branches', {});
    expect(branches.text).toContain(`fix/rounding ${mainSha.slice(0, 7)}`);
  });

  it('creates a branch at the head of another branch', async () => {
    const loginSha = head(widgets, 'feature/login');
    const seen = await callTool(widgetsSource(), 'create_branch', { branch: 'feature/login-v2', from: 'feature/login' });
    expect(seen.text).toBe(`Created branch feature/login-v2 in acme/widgets at ${loginSha.slice(0, 7)}, from branch feature/login.`);
    expect(seen.structured).toMatchObject({ branch: 'feature/login-v2', sha: loginSha, from: 'feature/login' });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /repos/acme/widgets/git/ref/heads%2Ffeature%2Flogin', 'POST /repos/acme/widgets/git/refs']);
    expect(widgets.branches.get('feature/login-v2')?.files.get('src/login.ts')).toBe('export const login = () => true;\n');
  });

  it('creates a branch at a commit SHA, sending it to GitHub as given', async () => {
    const initial = widgets.branches.get('main')!.commits.at(-1)!.sha;
    const seen = await callTool(widgetsSource(), 'create_branch', { branch: 'before-fix', from: initial });
    expect(seen.text).toBe(`Created branch before-fix in acme/widgets at ${initial.slice(0, 7)}, from commit ${initial.slice(0, 7)}.`);
    expect(seen.structured).toEqual({ owner: 'acme', repo: 'widgets', branch: 'before-fix', sha: initial, from: initial });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/repos/acme/widgets/git/refs', body: { ref: 'refs/heads/before-fix', sha: initial } });
    expect(widgets.branches.get('before-fix')?.commits.map((c) => c.sha)).toEqual([initial]);
  });

  it('refuses an existing branch, a name clashing with a branch folder and a commit GitHub does not have, and changes nothing', async () => {
    const before = snapshot(widgets);
    const exists = await callTool(widgetsSource(), 'create_branch', { branch: 'feature/login' });
    expect(exists).toMatchObject({
      isError: true,
      text: "Branch 'feature/login' already exists in acme/widgets; nothing was changed. Pick another name, or use the existing branch.",
    });
    const folder = await callTool(widgetsSource(), 'create_branch', { branch: 'feature' });
    expect(folder.text).toBe(
      "GitHub could not create branch 'feature' in acme/widgets (422 Reference update failed); nothing was changed. " +
        "Git cannot hold both 'a' and 'a/b' as branches: check list_branches for one whose name contains this one, or is contained in it, and pick another name.",
    );
    const missing = 'a'.repeat(40);
    const noCommit = await callTool(widgetsSource(), 'create_branch', { branch: 'ghost', from: missing });
    expect(noCommit).toMatchObject({ isError: true, text: `Commit ${missing} does not exist in acme/widgets; no branch was created. list_commits shows its commits.` });
    expect(snapshot(widgets)).toBe(before);
  });

  it('explains an unknown source branch and sends no creation', async () => {
    const before = snapshot(widgets);
    const seen = await callTool(widgetsSource(), 'create_branch', { branch: 'fix/x', from: 'nope' });
    expect(seen).toMatchObject({
      isError: true,
      text: "Source branch 'nope' not found in acme/widgets (or the token cannot see the repository); no branch was created. list_branches shows its branches.",
    });
    expect(fake.requests.map((r) => r.method)).toEqual(['GET']);
    expect(snapshot(widgets)).toBe(before);
  });

  it('refuses invalid branch names and abbreviated SHAs before sending anything', async () => {
    const source = widgetsSource();
    const refused: Array<[string, string]> = [
      ['has space', 'must not contain spaces or control characters'],
      ['a..b', "must not contain '..'"],
      ['-x', "must not start with '-'"],
      ['/x', "must not start with '/'"],
      ['x~1', "must not contain '~'"],
      ['x^', "must not contain '^'"],
      ['a:b', "must not contain ':'"],
      ['what?', "must not contain '?'"],
      ['st*r', "must not contain '*'"],
      ['br[acket', "must not contain '['"],
      ['back\\slash', "must not contain '\\'"],
      ['x.lock', "must not end with '.lock'"],
      ['x/', "must not end with '/'"],
      ['a//b', "must not contain '//'"],
      ['refs/heads/x', "must be the branch name alone, without 'refs/heads/'"],
      ['', 'must not be empty'],
      ['b'.repeat(256), 'must be at most 255 characters (it has 256)'],
    ];
    const seen = [];
    for (const [branch] of refused) seen.push(await callTool(source, 'create_branch', { branch }));
    expect(seen).toEqual(refused.map(([, problem]) => ({ isError: true, text: `Invalid arguments for create_branch: branch: ${problem}`, unavailable: false, structured: undefined })));
    const short = await callTool(source, 'create_branch', { branch: 'ok', from: 'abc1234' });
    expect(short.text).toBe(
      'Invalid arguments for create_branch: from: looks like an abbreviated commit SHA; GitHub needs the full 40-character SHA (list_commits returns it)',
    );
    const badFrom = await callTool(source, 'create_branch', { branch: 'ok', from: '../main' });
    expect(badFrom.text).toBe("Invalid arguments for create_branch: from: is not a possible branch name: it must not contain '..'");
    expect(fake.requests).toHaveLength(0);
  });
});

describe('github source: create_or_update_file', () => {
  it('creates a file on a new branch, which get_file_contents and list_commits then show', async () => {
    await callTool(widgetsSource(), 'create_branch', { branch: 'docs/guide' });
    const content = '# Guide\n\nÜber widgets.\n';
    const seen = await callTool(widgetsSource(), 'create_or_update_file', { path: 'docs/guide.md', content, message: 'Add a guide', branch: 'docs/guide' });
    const commit = head(widgets, 'docs/guide');
    expect(seen).toMatchObject({
      isError: false,
      text: `Created docs/guide.md on docs/guide in acme/widgets with commit ${commit.slice(0, 7)}; its blob sha is now ${blobSha(content)} (pass it as sha to replace the file again).\nhttps://github.com/acme/widgets/blob/docs/guide/docs/guide.md`,
    });
    expect(seen.structured).toEqual({
      owner: 'acme',
      repo: 'widgets',
      path: 'docs/guide.md',
      branch: 'docs/guide',
      created: true,
      sha: blobSha(content),
      commit,
      url: 'https://github.com/acme/widgets/blob/docs/guide/docs/guide.md',
    });
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'PUT',
      path: '/repos/acme/widgets/contents/docs%2Fguide.md',
      body: { message: 'Add a guide', content: Buffer.from(content).toString('base64'), branch: 'docs/guide' },
    });
    expect(fake.requests.at(-1)?.body).not.toHaveProperty('sha');

    const read = await callTool(widgetsSource(), 'get_file_contents', { path: 'docs/guide.md', ref: 'docs/guide' });
    expect(read).toMatchObject({ isError: false, text: `${content}\n[blob sha ${blobSha(content)}: pass it as sha to create_or_update_file to replace this file]` });
    expect(read.structured).toMatchObject({ content, sha: blobSha(content) });
    const commits = await callTool(widgetsSource(), 'list_commits', { sha: 'docs/guide' });
    expect(commits.text.split('\n')[1]).toMatch(new RegExp(`^${commit} \\d{4}-\\d{2}-\\d{2} octocat: Add a guide$`));
    const onMain = await callTool(widgetsSource(), 'get_file_contents', { path: 'docs/guide.md' });
    expect(onMain.isError).toBe(true);
  });

  it('replaces a file on the default branch given the sha get_file_contents returned', async () => {
    const { structured } = await callTool(widgetsSource(), 'get_file_contents', { path: 'README.md' });
    const sha = structured?.['sha'] as string;
    const content = '# Widgets\n\nBuild widgets faster.\n';
    const seen = await callTool(widgetsSource(), 'create_or_update_file', { path: 'README.md', content, message: 'Reword the README', sha });
    const commit = head(widgets, 'main');
    expect(seen.text).toBe(`Updated README.md on main in acme/widgets with commit ${commit.slice(0, 7)}; its blob sha is now ${blobSha(content)} (pass it as sha to replace the file again).\nhttps://github.com/acme/widgets/blob/main/README.md`);
    expect(seen.structured).toEqual({
      owner: 'acme',
      repo: 'widgets',
      path: 'README.md',
      branch: 'main',
      created: false,
      sha: blobSha(content),
      commit,
      url: 'https://github.com/acme/widgets/blob/main/README.md',
    });
    expect(fake.requests.slice(-2).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /repos/acme/widgets', 'PUT /repos/acme/widgets/contents/README.md']);
    expect(fake.requests.at(-1)?.body).toMatchObject({ branch: 'main', sha });
    expect(widgets.branches.get('main')?.files.get('README.md')).toBe(content);
    expect(widgets.branches.get('main')?.commits[0]).toMatchObject({ message: 'Reword the README', paths: ['README.md'], author: { login: 'octocat' } });
  });

  it('refuses to replace an existing file without its sha, saying how to get it, and writes nothing', async () => {
    const before = snapshot(widgets);
    const seen = await callTool(widgetsSource(), 'create_or_update_file', { path: 'README.md', content: 'overwritten\n', message: 'Overwrite' });
    expect(seen).toMatchObject({
      isError: true,
      text: "README.md already exists on main in acme/widgets; nothing was written. To replace it, read it with get_file_contents (ref 'main') and pass the sha it returns.",
    });
    expect(fake.requests.at(-1)).toMatchObject({ method: 'PUT', path: '/repos/acme/widgets/contents/README.md' });
    expect(snapshot(widgets)).toBe(before);
  });

  it('refuses an outdated sha (409) and writes nothing', async () => {
    const before = snapshot(widgets);
    const stale = blobSha('# Widgets\n');
    const seen = await callTool(widgetsSource(), 'create_or_update_file', { path: 'README.md', content: 'x\n', message: 'Edit', branch: 'main', sha: stale });
    expect(seen).toMatchObject({
      isError: true,
      text:
        `README.md on main in acme/widgets is not at blob ${stale.slice(0, 7)} any more (changed, moved or deleted since it was read); nothing was written. ` +
        "Read it again with get_file_contents (ref 'main'), make your change to what it holds now, and pass the new sha.",
    });
    expect(snapshot(widgets)).toBe(before);
    // A conflict is final: sending the same write again cannot succeed.
    expect(fake.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('explains an unknown branch and writes nothing', async () => {
    const before = snapshot(widgets);
    const seen = await callTool(widgetsSource(), 'create_or_update_file', { path: 'new.txt', content: 'x\n', message: 'Add', branch: 'nope' });
    expect(seen).toMatchObject({
      isError: true,
      text: "Branch 'nope' not found in acme/widgets; nothing was written. Create it with create_branch first, or pick one from list_branches.",
    });
    expect(snapshot(widgets)).toBe(before);
  });

  it('refuses paths outside the repository, an empty message and over-large content before sending anything', async () => {
    const source = widgetsSource();
    const before = snapshot(widgets);
    const write = (args: Record<string, unknown>) => callTool(source, 'create_or_update_file', { path: 'ok.txt', content: 'x', message: 'm', ...args });
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ path: '../outside.txt' }, "path: must not contain '..' segments"],
      [{ path: 'src/../../outside.txt' }, "path: must not contain '..' segments"],
      [{ path: '/etc/passwd' }, "path: must be relative to the repository root, without a leading '/'"],
      [{ path: 'a\0b' }, 'path: must not contain NUL characters'],
      [{ path: 'src/' }, "path: must name a file, not end with '/'"],
      [{ path: './x' }, "path: must not contain '.' segments"],
      [{ message: '  \n' }, 'message: must not be empty: say what the commit changes'],
      [{ content: 'é'.repeat(600_000) }, 'content: is 1200000 bytes of UTF-8; at most 1048576 (1 MB) can be written'],
      [{ sha: 'abc123' }, "sha: must be the file's 40-character blob SHA, as get_file_contents returns it"],
    ];
    const seen = [];
    for (const [args] of refused) seen.push(await write(args));
    expect(seen).toEqual(refused.map(([, problem]) => ({ isError: true, text: `Invalid arguments for create_or_update_file: ${problem}`, unavailable: false, structured: undefined })));
    expect(fake.requests).toHaveLength(0);
    expect(snapshot(widgets)).toBe(before);
  });
});

describe('github source: changes to a repository the token cannot see', () => {
  it("reports another user's private repository as not found and changes nothing", async () => {
    const before = snapshot(secret);
    const target = { owner: 'acme', repo: 'secret-plans' };
    const branch = await callTool(widgetsSource(), 'create_branch', { ...target, branch: 'leak' });
    expect(branch).toMatchObject({ isError: true, text: 'Repository acme/secret-plans not found (or the token cannot see it).' });
    const file = await callTool(widgetsSource(), 'create_or_update_file', { ...target, path: 'plan.md', content: 'mine now\n', message: 'Take over', branch: 'main' });
    expect(file).toMatchObject({ isError: true, text: 'Repository acme/secret-plans not found (or the token cannot see it).' });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /repos/acme/secret-plans', 'PUT /repos/acme/secret-plans/contents/plan.md']);
    expect(snapshot(secret)).toBe(before);
  });
});
