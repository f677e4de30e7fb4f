import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callTool, seedGithub, sourceFor } from '../fakes/github-fixture.ts';
import { addCheckRun, addStatus } from '../fakes/github-status-routes.ts';
import { commitToBranch, startFakeGithub, type FakeGithub, type FakeRepo } from '../fakes/github.ts';

let fake: FakeGithub;
let widgets: FakeRepo;
let secret: FakeRepo;

beforeEach(async () => {
  fake = await startFakeGithub();
  ({ widgets, secret } = seedGithub(fake));
});
afterEach(() => fake.close());

/** Pull request #3's head: the newest commit of feature/login. */
const head = () => widgets.branches.get('feature/login')!.commits[0]!.sha;
const status = () => callTool(sourceFor(fake, { owner: 'acme', repo: 'widgets' }).source, 'get_pull_request_status', { pullNumber: 3 });

describe('github source: get_pull_request_status', () => {
  it('reports the head commit passed when every status and check run did, with each one', async () => {
    addStatus(widgets, head(), { context: 'ci/build', state: 'success', description: 'Build passed' });
    addCheckRun(widgets, head(), { name: 'lint', status: 'completed', conclusion: 'success', title: 'No problems' });
    addCheckRun(widgets, head(), { name: 'docs', status: 'completed', conclusion: 'skipped' });
    const seen = await status();
    expect(seen).toMatchObject({
      isError: false,
      text:
        `Checks of pull request #3 in acme/widgets at ${head().slice(0, 7)}: success, 3 checks\n` +
        'passed ci/build (success): Build passed\npassed lint (success): No problems\npassed docs (skipped)',
    });
    expect(seen.structured).toEqual({
      owner: 'acme',
      repo: 'widgets',
      number: 3,
      headSha: head(),
      state: 'success',
      checks: [
        { name: 'ci/build', kind: 'status', state: 'success', result: 'success', description: 'Build passed', url: expect.stringContaining('https://ci.example/ci/build/') },
        { name: 'lint', kind: 'check_run', state: 'success', result: 'success', description: 'No problems', url: expect.stringContaining('https://github.com/acme/widgets/runs/') },
        { name: 'docs', kind: 'check_run', state: 'success', result: 'skipped', description: null, url: expect.any(String) },
      ],
      truncated: false,
    });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [
        'GET /repos/acme/widgets/pulls/3',
        `GET /repos/acme/widgets/commits/${head()}/check-runs?per_page=100`,
        `GET /repos/acme/widgets/commits/${head()}/status?per_page=100`,
      ].sort(),
    );
  });

  it('reports a failure when any check failed, and pending while one runs and none failed', async () => {
    addStatus(widgets, head(), { context: 'ci/build', state: 'success' });
    addCheckRun(widgets, head(), { name: 'tests', status: 'in_progress' });
    const running = await status();
    expect(running.structured).toMatchObject({ state: 'pending', checks: [{ state: 'success' }, { name: 'tests', state: 'pending', result: 'in_progress' }] });
    expect(running.text).toContain('pending tests (in_progress)');

    addCheckRun(widgets, head(), { name: 'e2e', status: 'completed', conclusion: 'timed_out' });
    const failed = await status();
    expect(failed.structured).toMatchObject({ state: 'failure' });
    expect(failed.text).toContain('FAILED e2e (timed_out)');

    addStatus(widgets, head(), { context: 'ci/deploy-preview', state: 'error', description: 'Preview crashed' });
    expect((await status()).text).toContain('FAILED ci/deploy-preview (error): Preview crashed');
  });

  it('says, in text and structured content, when there are more checks than the first page it reads of each kind', async () => {
    for (let i = 0; i < 101; i++) addCheckRun(widgets, head(), { name: `shard ${i}`, status: 'completed', conclusion: 'success' });
    addStatus(widgets, head(), { context: 'ci/build', state: 'success' });
    const seen = await status();
    expect(seen.text).toMatch(/: success, 101 checks \(the first 101 shown\)\n/);
    expect(seen.structured).toMatchObject({ state: 'success', truncated: true });
    expect(seen.structured?.['checks']).toHaveLength(101);
  });

  it('looks at the head the pull request has now: a push leaves the old checks behind', async () => {
    addStatus(widgets, head(), { context: 'ci/build', state: 'failure' });
    commitToBranch(widgets, 'feature/login', { message: 'Fix the build', files: { 'src/login.ts': 'export const login = () => false;\n' } });
    const seen = await status();
    expect(seen).toMatchObject({
      isError: false,
      text: `Checks of pull request #3 in acme/widgets at ${head().slice(0, 7)}: none reported. The repository may run no CI, or it has not started yet.`,
      structured: { headSha: head(), state: 'none', checks: [] },
    });
  });

  it('answers not found for an issue that is not a pull request and for a private repository the token cannot see', async () => {
    const source = sourceFor(fake, { owner: 'acme', repo: 'widgets' }).source;
    expect(await callTool(source, 'get_pull_request_status', { pullNumber: 1 })).toMatchObject({
      isError: true,
      text: 'Pull request #1 in acme/widgets not found (or the token cannot see it).',
    });
    secret.issues.length = 0;
    expect(await callTool(source, 'get_pull_request_status', { repo: 'secret-plans', pullNumber: 1 })).toMatchObject({
      isError: true,
      text: 'Pull request #1 in acme/secret-plans not found (or the token cannot see it).',
    });
    expect(fake.requests.some((r) => r.path.includes('/status') || r.path.includes('/check-runs'))).toBe(false);
  });
});
