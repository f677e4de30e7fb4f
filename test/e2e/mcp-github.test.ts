import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub, type FakeGithub, type FakeRepo } from '../fakes/github.ts';
import { newToken, seedGithub } from '../fakes/github-fixture.ts';
import { addStatus } from '../fakes/github-status-routes.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, seedTenant, type AuditEventJson } from '../support/http.ts';
import { CLIENTS, connectV2 } from '../support/mcp-clients.ts';

const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');

// The gateway's github server kind, pointed by `baseUrl` at a fake GitHub on 127.0.0.1.
describe('MCP endpoints over a github server', () => {
  let fake: FakeGithub;
  let widgets: FakeRepo;
  let gateway: GatewayProcess;
  let dataDir: string;
  let key: string;
  let token: string;

  beforeAll(async () => {
    fake = await startFakeGithub();
    ({ widgets } = seedGithub(fake));
    token = newToken(fake);
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } });
    key = (await seedTenant(dataDir, 'gh-co')).key.secret;
    const created = await apiClient(gateway.url, key).post('/api/v1/servers', {
      json: { slug: 'gh', kind: 'github', config: { owner: 'acme', repo: 'widgets', baseUrl: fake.url }, secrets: { token } },
    });
    if (created.status !== 201) throw new Error(`could not create the server: ${JSON.stringify(created.body)}`);
  });

  afterAll(async () => {
    await gateway?.stop();
    await fake?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  for (const [name, connect] of CLIENTS) {
    it(`lists issues and creates one for the ${name} client as gh__list_issues and gh__create_issue`, async () => {
      const seenBefore = fake.requests.length;
      const client = await connect(`${gateway.url}/t/gh-co/mcp`, key);
      try {
        const tools = await client.listToolNames();
        expect(tools).toEqual(expect.arrayContaining(['gh__list_issues', 'gh__create_issue', 'gh__get_file_contents']));

        const listed = await client.callTool('gh__list_issues', {});
        expect(listed.isError ?? false).toBe(false);
        expect(textOf(listed)).toContain('Open issues in acme/widgets (page 1):');
        expect(textOf(listed)).toContain('#1 [open] Crash on empty input — @hubot, labels: bug, 1 comment');
        expect(textOf(listed)).not.toContain('Add dark mode');

        const created = await client.callTool('gh__create_issue', { title: `Filed by ${name}`, body: 'Through the gateway.' });
        expect(created.isError ?? false).toBe(false);
        expect(textOf(created)).toMatch(new RegExp(`^Created issue #\\d+ in acme/widgets: Filed by ${name}`));
      } finally {
        await client.close();
      }
      expect(widgets.issues.at(-1)).toMatchObject({ title: `Filed by ${name}`, body: 'Through the gateway.', author: 'octocat', state: 'open' });

      const seen = fake.requests.slice(seenBefore);
      expect(seen.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual(
        expect.arrayContaining(['GET /repos/acme/widgets/issues', 'POST /repos/acme/widgets/issues']),
      );
      for (const request of seen) expect(request.headers.authorization).toMatch(new RegExp(`^(token|bearer) ${token}$`, 'i'));
    });
  }

  it("never sends the caller's API key to GitHub, and never records the token in the audit trail", async () => {
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(JSON.stringify(fake.requests)).not.toContain(key);
    expect(JSON.stringify(fake.requests)).not.toContain(key.slice(0, 12));

    const api = apiClient(gateway.url, key);
    const events = await pollUntil('the tool calls to reach the audit trail', async () => {
      const page = (await api.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100')).body.events;
      return page.filter((e) => (e.after as { tool?: string }).tool === 'create_issue').length >= 2 ? page : undefined;
    });
    expect(events.find((e) => (e.after as { tool?: string }).tool === 'create_issue')?.after).toMatchObject({ server: 'gh', outcome: 'ok' });
    const trail = JSON.stringify((await api.get('/api/v1/audit?limit=200')).body);
    expect(trail).not.toContain(token);
  });

  it('reports a server whose token GitHub takes as ok, and one whose token it refuses as unavailable, without the token', async () => {
    const api = apiClient(gateway.url, key);
    const revoked = 'ghp_revokedTokenThatGitHubDoesNotKnow0123';
    await api.post('/api/v1/servers', {
      json: { slug: 'gh-old', kind: 'github', config: { baseUrl: fake.url }, secrets: { token: revoked } },
    });
    const seenBefore = fake.requests.length;

    const good = await api.get<{ status: { state: string; tools: number; error?: string } }>('/api/v1/servers/gh/status');
    const bad = await api.get<{ status: { state: string; tools: number; error?: string } }>('/api/v1/servers/gh-old/status');

    expect(good.body.status).toMatchObject({ state: 'ok', tools: 23 });
    expect(bad.body.status).toMatchObject({ state: 'unavailable', tools: 0 });
    expect(bad.body.status.error).toMatch(/GitHub rejected the configured token \(401 Bad credentials\)/);
    expect(JSON.stringify(bad.body)).not.toContain(revoked);
    // GitHub's rate-limit status: read with each token, costing none of its quota.
    expect(fake.requests.slice(seenBefore).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /rate_limit', 'GET /rate_limit']);
    expect((await api.delete('/api/v1/servers/gh-old')).status).toBe(204);
  });

  it('serves a GitHub Enterprise Server at /api/v3 whose administrator turned rate limiting off', async () => {
    const ghes = await startFakeGithub({ pathPrefix: '/api/v3', rateLimiting: false });
    try {
      seedGithub(ghes);
      const api = apiClient(gateway.url, key);
      const created = await api.post('/api/v1/servers', {
        json: { slug: 'ghe', kind: 'github', config: { owner: 'acme', repo: 'widgets', baseUrl: ghes.url }, secrets: { token: newToken(ghes) } },
      });
      expect(created.status).toBe(201);
      // GET /rate_limit answers 404 "Rate limiting is not enabled." there: the token was taken all the same.
      const status = await api.get<{ status: { state: string; tools: number; error?: string } }>('/api/v1/servers/ghe/status');
      expect(status.body.status).toMatchObject({ state: 'ok', tools: 23 });

      const client = await connectV2(`${gateway.url}/t/gh-co/mcp/servers/ghe`, key);
      try {
        const listed = await client.callTool('list_issues', { state: 'all', perPage: 2 });
        expect(textOf(listed)).toMatch(/^Issues in acme\/widgets \(page 1\):\n#3 .*\n#2 .*\nMore results: call again with page=2\.$/);
      } finally {
        await client.close();
      }
      expect(ghes.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual(['GET /api/v3/rate_limit', 'GET /api/v3/repos/acme/widgets/issues']);
      expect((await api.delete('/api/v1/servers/ghe')).status).toBe(204);
    } finally {
      await ghes.close();
    }
  });

  it('proposes a change as an agent would, through the one-server endpoint: branch, file, pull request, review, checks, merge', async () => {
    const client = await connectV2(`${gateway.url}/t/gh-co/mcp/servers/gh`, key);
    const call = async (tool: string, args: Record<string, unknown>) => {
      const result = await client.callTool(tool, args);
      if (result.isError) throw new Error(`${tool} failed: ${textOf(result)}`);
      return { text: textOf(result), structured: result.structuredContent as Record<string, unknown> };
    };
    try {
      await call('create_branch', { branch: 'docs/setup' });
      const written = await call('create_or_update_file', { path: 'docs/setup.md', content: '# Setup\n\nRun npm start.\n', message: 'Add setup notes', branch: 'docs/setup' });
      expect(written.structured).toMatchObject({ path: 'docs/setup.md', branch: 'docs/setup', created: true });
      const opened = await call('create_pull_request', { title: 'Setup notes', head: 'docs/setup', base: 'main' });
      const number = opened.structured['number'] as number;
      const files = await call('get_pull_request_files', { pullNumber: number });
      expect(files.structured['files']).toEqual([expect.objectContaining({ filename: 'docs/setup.md', status: 'added', additions: 3 })]);
      // The token's user opened it, so GitHub lets it comment but not approve.
      const approval = await client.callTool('create_pull_request_review', { pullNumber: number, event: 'APPROVE' });
      expect(approval.isError).toBe(true);
      expect(textOf(approval)).toContain('Can not approve your own pull request');
      const headSha = (await call('get_pull_request', { pullNumber: number })).structured['headSha'];
      await call('create_pull_request_review', { pullNumber: number, event: 'COMMENT', body: 'Reads well.', commitId: headSha });
      // CI reports on the head; the agent merges once it passed.
      addStatus(widgets, headSha as string, { context: 'ci/build', state: 'success' });
      expect((await call('get_pull_request_status', { pullNumber: number })).structured).toMatchObject({ state: 'success', headSha });
      await call('merge_pull_request', { pullNumber: number, mergeMethod: 'squash', sha: headSha });
      expect((await call('get_file_contents', { path: 'docs/setup.md' })).text).toMatch(
        /^# Setup\n\nRun npm start\.\n\n\[blob sha [0-9a-f]{40}: pass it as sha to create_or_update_file to replace this file\]$/,
      );
    } finally {
      await client.close();
    }
    expect(widgets.branches.get('main')?.files.get('docs/setup.md')).toBe('# Setup\n\nRun npm start.\n');
    expect(widgets.issues.at(-1)).toMatchObject({ title: 'Setup notes', state: 'closed', pull: { merged: true } });
  });

  it('refuses another tenant the server', async () => {
    const other = (await seedTenant(dataDir, 'gh-other')).key.secret;
    const [, connect] = CLIENTS[1];
    const client = await connect(`${gateway.url}/t/gh-other/mcp`, other);
    const before = widgets.issues.length;
    try {
      expect((await client.listToolNames()).filter((t) => t.startsWith('gh__'))).toEqual([]);
      const result = await client.callTool('gh__create_issue', { title: 'sneaky' }).catch(() => ({ content: [], isError: true }));
      expect(result.isError).toBe(true);
    } finally {
      await client.close();
    }
    expect(widgets.issues.length).toBe(before);
  });
});
