import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CreateServerInput, UpdateServerInput } from '../../src/servers/server.service.ts';
import type { Tenant } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { OPERATOR, openServerService, serverState, type ServerServiceFixture } from '../support/server-service.ts';

const TOKEN = 'ghp_validTokenForValidationTests000000';
const PASSWORD = 's3cret-password-in-a-bad-url';

/** Creations that must fail with validation_failed, with the start of the message that names the field. */
const BAD_CREATES: Array<[string, CreateServerInput, RegExp]> = [
  ['an unknown kind', { slug: 'x', kind: 'ftp' }, /^kind: must be one of filesystem, github, database, remote, stdio$/],
  ['an unknown config key', { slug: 'x', kind: 'filesystem', config: { readOnly: true, colour: 'red' } }, /^config: .*colour/],
  ['a missing required secret', { slug: 'x', kind: 'github', config: { repo: 'widgets' } }, /^secrets\.token: required for a github server$/],
  ['an unknown secret', { slug: 'x', kind: 'github', secrets: { token: TOKEN, password: 'x' } }, /^secrets: .*password/],
  ['a github repo of ".."', { slug: 'x', kind: 'github', config: { repo: '..' }, secrets: { token: TOKEN } }, /^config\.repo: must be a repository name$/],
  ['a github owner with a slash', { slug: 'x', kind: 'github', config: { owner: 'a/b' }, secrets: { token: TOKEN } }, /^config\.owner: /],
  ['a filesystem root of "../x"', { slug: 'x', kind: 'filesystem', config: { roots: ['../x'] } }, /^config\.roots: root \.\.\/x leaves the tenant's own area$/],
  ['a filesystem root of "/etc"', { slug: 'x', kind: 'filesystem', config: { roots: ['/etc'] } }, /^config\.roots: root \/etc is outside the directories the operator allows/],
  ['a remote URL to 127.0.0.1', { slug: 'x', kind: 'remote', config: { url: 'http://127.0.0.1:8080/mcp' } }, /^config\.url: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a private or reserved address/],
  ['a remote URL to [::1]', { slug: 'x', kind: 'remote', config: { url: 'http://[::1]/mcp' } }, /^config\.url: /],
  ['a remote server without a URL', { slug: 'x', kind: 'remote' }, /^config\.url: is required$/],
  ['a remote URL under a miscapitalised key', { slug: 'x', kind: 'remote', config: { URL: 'https://mcp.example.com/mcp' } }, /^config: unknown field\(s\): URL$/],
  ['a remote URL that is not http', { slug: 'x', kind: 'remote', config: { url: 'file:///etc/passwd' } }, /^config\.url: must be an http or https URL$/],
  ['a github baseUrl to 169.254.169.254', { slug: 'x', kind: 'github', config: { baseUrl: 'http://169.254.169.254/' }, secrets: { token: TOKEN } }, /^config\.baseUrl: /],
  ['a database URL to 10.0.0.1', { slug: 'x', kind: 'database', secrets: { url: `postgres://u:${PASSWORD}@10.0.0.1:5432/db` } }, /^secrets\.url: 10\.0\.0\.1 resolves to 10\.0\.0\.1/],
  ['a database URL whose host parameter points elsewhere', { slug: 'x', kind: 'database', secrets: { url: `postgres://u:${PASSWORD}@8.8.8.8/db?host=10.0.0.1` } }, /^secrets\.url: /],
  ['a database URL to a local socket', { slug: 'x', kind: 'database', secrets: { url: `postgres://u:${PASSWORD}@8.8.8.8/db?host=/var/run/postgresql` } }, /^secrets\.url: /],
  ['a database URL reading a local file', { slug: 'x', kind: 'database', secrets: { url: `postgres://u:${PASSWORD}@8.8.8.8/db?sslrootcert=/etc/passwd` } }, /^secrets\.url: /],
  ['a database URL read one way by the check and another by pg', { slug: 'x', kind: 'database', secrets: { url: 'postgres://8.8.8.8\\@10.0.0.1/db' } }, /^secrets\.url: /],
  ['a database URL without a host', { slug: 'x', kind: 'database', secrets: { url: `postgres://u:${PASSWORD}@/db` } }, /^secrets\.url: /],
  ['a database CA that is not a certificate', { slug: 'x', kind: 'database', config: { ca: 'MIIB...' }, secrets: { url: 'postgres://u@8.8.8.8/db' } }, /^config\.ca: must be one or more PEM certificates/],
  [
    'a database CA whose certificate does not parse',
    { slug: 'x', kind: 'database', config: { ca: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' }, secrets: { url: 'postgres://u@8.8.8.8/db' } },
    /^config\.ca: must be one or more PEM certificates/,
  ],
  ['a database URL that is not postgres', { slug: 'x', kind: 'database', secrets: { url: 'mysql://u@8.8.8.8/db' } }, /^secrets\.url: must be a postgres:\/\/ URL/],
  ['a stdio command not allow-listed', { slug: 'x', kind: 'stdio', config: { command: 'bash' } }, /^config\.command: not a command the operator allows/],
  ['a stdio command that is a path', { slug: 'x', kind: 'stdio', config: { command: '/bin/sh' } }, /^config\.command: must be a command name$/],
  ['a bad slug', { slug: 'Not A Slug', kind: 'filesystem' }, /^slug: /],
  ['a slug with a path in it', { slug: '../other', kind: 'filesystem' }, /^slug: /],
];

describeEachDatabase('server service: refusing bad input', (use) => {
  let fx: ServerServiceFixture;
  let tenant: Tenant;

  beforeAll(async () => {
    fx = await openServerService(use().db);
    tenant = await fx.newTenant('refuse');
    await fx.servers.create(tenant, OPERATOR, { slug: 'gh', kind: 'github', config: { repo: 'widgets' }, secrets: { token: TOKEN } });
    await fx.servers.create(tenant, OPERATOR, { slug: 'files', kind: 'filesystem', config: { roots: ['docs'] } });
  });
  afterAll(async () => {
    await fx?.close();
  });

  /** Runs `change`, which should fail, and returns its error with the tenant's servers before and after. */
  async function attempt(change: () => Promise<unknown>) {
    const before = await serverState(fx, tenant);
    const error = await change().then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error: error as Error | undefined, before, after: await serverState(fx, tenant) };
  }
  const refusal = (message: RegExp, code = 'validation_failed') => ({ name: 'AppError', code, message: expect.stringMatching(message) });

  for (const [what, input, message] of BAD_CREATES) {
    it(`refuses to create a server with ${what}`, async () => {
      const { error, before, after } = await attempt(() => fx.servers.create(tenant, OPERATOR, input));
      expect(error).toMatchObject(refusal(message));
      expect(error?.message).not.toContain(PASSWORD);
      expect(after).toEqual(before);
    });
  }

  it("refuses a root that a symbolic link in the tenant's area leads into another tenant's area, saving nothing", async () => {
    const other = await fx.newTenant('victim');
    const files = path.join(fx.policy.dataDir, 'files');
    await mkdir(path.join(files, other.slug, 'notes'), { recursive: true });
    await mkdir(path.join(files, tenant.slug), { recursive: true });
    // A link other software put there: no tool makes one.
    await symlink(path.join(files, other.slug), path.join(files, tenant.slug, 'out'));
    for (const roots of [['out'], ['out/notes']]) {
      const { error, before, after } = await attempt(() => fx.servers.create(tenant, OPERATOR, { slug: 'escape', kind: 'filesystem', config: { roots } }));
      expect(error).toMatchObject(refusal(/^config\.roots: root out(\/notes)? leaves the tenant's own area$/));
      expect(after).toEqual(before);
    }
  });

  it('refuses a duplicate slug as a conflict', async () => {
    const { error, before, after } = await attempt(() => fx.servers.create(tenant, OPERATOR, { slug: 'gh', kind: 'filesystem' }));
    expect(error).toMatchObject(refusal(/^a server with slug "gh" already exists$/, 'conflict'));
    expect(after).toEqual(before);
  });

  const BAD_UPDATES: Array<[string, string, UpdateServerInput, RegExp]> = [
    ['a config key of another kind', 'gh', { config: { roots: ['x'] } }, /^config: .*roots/],
    ['a repo of ".."', 'gh', { config: { repo: '..' } }, /^config\.repo: /],
    ['the removal of a required secret', 'gh', { secrets: { token: null } }, /^secrets\.token: required for a github server$/],
    ['a secret of the wrong type', 'gh', { secrets: { token: 42 } }, /^secrets\.token: /],
    ['an unknown secret', 'gh', { secrets: { password: 'x' } }, /^secrets: .*password/],
    ['a baseUrl to a private address', 'gh', { config: { baseUrl: 'http://192.168.1.1/api' } }, /^config\.baseUrl: /],
    ['a root that leaves the area', 'files', { config: { roots: ['docs/../../elsewhere'] } }, /^config\.roots: /],
    ['an absolute root', 'files', { config: { roots: ['/etc'] } }, /^config\.roots: /],
    ['a filesystem secret', 'files', { secrets: { token: 'x' } }, /^secrets: /],
  ];
  for (const [what, slug, input, message] of BAD_UPDATES) {
    it(`refuses to update ${slug} with ${what}`, async () => {
      const { error, before, after } = await attempt(() => fx.servers.update(tenant, OPERATOR, slug, input));
      expect(error).toMatchObject(refusal(message));
      expect(after).toEqual(before);
    });
  }

  it('refuses unknown and malformed slugs on get, update and delete as not_found', async () => {
    for (const slug of ['nope', '../gh', 'GH', '']) {
      const attempts = [
        () => fx.servers.get(tenant, slug),
        () => fx.servers.update(tenant, OPERATOR, slug, { config: {} }),
        () => fx.servers.remove(tenant, OPERATOR, slug),
      ];
      for (const change of attempts) {
        const { error, before, after } = await attempt(change);
        expect(error).toMatchObject(refusal(/^server not found$/, 'not_found'));
        expect(after).toEqual(before);
      }
    }
  });
});
