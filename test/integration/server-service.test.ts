import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CreateServerInput } from '../../src/servers/server.service.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { makeLoopbackCertificate } from '../support/oauth.ts';
import {
  OPERATOR,
  openServerService,
  rawAuditEvents,
  rawServerRow,
  serverState,
  type ServerServiceFixture,
} from '../support/server-service.ts';

const GITHUB_TOKEN = 'ghp_plaintextTokenThatMustNeverBeStored1234';
const DB_PASSWORD = 'hunter2-db-password-never-stored';
const REMOTE_TOKEN = 'remote-bearer-token-never-stored';
const SECRET_VALUES = [GITHUB_TOKEN, DB_PASSWORD, REMOTE_TOKEN];

// Public addresses written as literals, so that no DNS lookup is needed; nothing here connects to them.
const VALID: CreateServerInput[] = [
  { slug: 'files', kind: 'filesystem', config: { roots: ['docs'], readOnly: true } },
  { slug: 'gh', kind: 'github', config: { owner: 'acme', repo: 'widgets' }, secrets: { token: GITHUB_TOKEN } },
  { slug: 'shop-db', kind: 'database', config: { rowLimit: 50 }, secrets: { url: `postgres://reader:${DB_PASSWORD}@8.8.8.8:5432/shop` } },
  { slug: 'upstream', kind: 'remote', config: { url: 'https://1.1.1.1/mcp', headers: { 'x-team': 'a' } }, secrets: { token: REMOTE_TOKEN } },
  { slug: 'everything', kind: 'stdio', config: { command: 'everything' } },
];

describeEachDatabase('server service', (use) => {
  let fx: ServerServiceFixture;

  beforeAll(async () => {
    fx = await openServerService(use().db);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('creates each kind, storing secrets sealed and showing them only as "set"', async () => {
    const tenant = await fx.newTenant('kinds');
    for (const input of VALID) {
      const created = await fx.servers.create(tenant, OPERATOR, input);
      const names = Object.keys(input.secrets ?? {});
      expect(created).toMatchObject({ slug: input.slug, kind: input.kind, secrets: Object.fromEntries(names.map((n) => [n, 'set'])) });
      expect(await fx.servers.get(tenant, input.slug)).toEqual(created);

      const row = await rawServerRow(fx.db, tenant.id, input.slug);
      expect(row?.secret_names).toEqual(names.sort());
      // Sealed: a versioned ciphertext, or nothing at all for a kind without secrets.
      expect(row?.secrets ?? 'none').toMatch(names.length === 0 ? /^none$/ : /^v1:[A-Za-z0-9+/=]+$/);
      for (const value of SECRET_VALUES) expect(JSON.stringify(row)).not.toContain(value);
    }
    expect((await fx.servers.get(tenant, 'files')).config).toEqual({ roots: ['docs'], readOnly: true });
    expect((await fx.servers.get(tenant, 'shop-db')).config).toEqual({ rowLimit: 50 });

    const listed = await fx.servers.list(tenant);
    expect(listed.map((s) => s.slug)).toEqual(['everything', 'files', 'gh', 'shop-db', 'upstream']);
    for (const value of SECRET_VALUES) expect(JSON.stringify(listed)).not.toContain(value);

    // Only the runtime view, used to build tool sources, opens the secrets.
    const runtime = Object.fromEntries((await fx.servers.listRuntime(tenant)).map((s) => [s.slug, s.secrets]));
    expect(runtime).toEqual({
      everything: {},
      files: {},
      gh: { token: GITHUB_TOKEN },
      'shop-db': { url: `postgres://reader:${DB_PASSWORD}@8.8.8.8:5432/shop` },
      upstream: { token: REMOTE_TOKEN },
    });
  });

  it('fills config defaults', async () => {
    const tenant = await fx.newTenant('defaults');
    expect((await fx.servers.create(tenant, OPERATOR, { slug: 'plain', kind: 'filesystem' })).config).toEqual({ readOnly: false });
  });

  it('keeps a database server’s CA bundle of several certificates as configuration', async () => {
    const tenant = await fx.newTenant('ca');
    const certificates = [await makeLoopbackCertificate(), await makeLoopbackCertificate()];
    try {
      const bundle = `Provider bundle\n${certificates.map((c) => c.cert.toString('utf8')).join('\n')}`;
      const created = await fx.servers.create(tenant, OPERATOR, { slug: 'tls-db', kind: 'database', config: { ca: bundle }, secrets: { url: 'postgres://reader@8.8.8.8/shop' } });
      expect(created.config).toEqual({ ca: bundle });
    } finally {
      await Promise.all(certificates.map((c) => fs.rm(c.dir, { recursive: true, force: true })));
    }
  });

  it('merges secrets on update, removes a secret given as null, and replaces config', async () => {
    const tenant = await fx.newTenant('update');
    await fx.servers.create(tenant, OPERATOR, {
      slug: 'upstream',
      kind: 'remote',
      config: { url: 'https://1.1.1.1/mcp', headers: { 'x-team': 'a' } },
      secrets: { token: REMOTE_TOKEN },
    });
    const sealedBefore = (await rawServerRow(fx.db, tenant.id, 'upstream'))?.secrets;

    const added = await fx.servers.update(tenant, OPERATOR, 'upstream', { secrets: { headers: { 'x-api-key': 'k-123' } } });
    expect(added.secrets).toEqual({ headers: 'set', token: 'set' });
    expect(added.config).toEqual({ url: 'https://1.1.1.1/mcp', headers: { 'x-team': 'a' } });
    const runtime = async () => (await fx.servers.listRuntime(tenant))[0]?.secrets;
    expect(await runtime()).toEqual({ token: REMOTE_TOKEN, headers: { 'x-api-key': 'k-123' } });
    expect((await rawServerRow(fx.db, tenant.id, 'upstream'))?.secrets).not.toBe(sealedBefore);

    const replaced = await fx.servers.update(tenant, OPERATOR, 'upstream', { config: { url: 'https://1.0.0.1/mcp' } });
    expect(replaced.config).toEqual({ url: 'https://1.0.0.1/mcp' });
    expect(replaced.secrets).toEqual({ headers: 'set', token: 'set' });

    const removed = await fx.servers.update(tenant, OPERATOR, 'upstream', { secrets: { token: null, headers: null } });
    expect(removed.secrets).toEqual({});
    expect(await runtime()).toEqual({});
    expect((await rawServerRow(fx.db, tenant.id, 'upstream'))?.secrets).toBeNull();
    expect(removed.updatedAt.getTime()).toBeGreaterThanOrEqual(added.updatedAt.getTime());
  });

  it('writes one audit event per change, never with a secret value in it', async () => {
    const tenant = await fx.newTenant('audit');
    const before = (await rawAuditEvents(fx.db, tenant.id)).length;
    const gh = await fx.servers.create(tenant, OPERATOR, { slug: 'gh', kind: 'github', secrets: { token: GITHUB_TOKEN } });
    await fx.servers.update(tenant, OPERATOR, 'gh', { config: { owner: 'acme' }, secrets: { token: `${GITHUB_TOKEN}-2` } });
    const db = await fx.servers.create(tenant, OPERATOR, {
      slug: 'db',
      kind: 'database',
      secrets: { url: `postgres://reader:${DB_PASSWORD}@8.8.8.8/shop` },
    });
    await fx.servers.remove(tenant, OPERATOR, 'db');
    await fx.servers.remove(tenant, OPERATOR, 'gh');

    const events = (await rawAuditEvents(fx.db, tenant.id)).slice(before);
    expect(events.map((e) => [e.action, e.resource_id])).toEqual([
      ['server.create', gh.id],
      ['server.update', gh.id],
      ['server.create', db.id],
      ['server.delete', db.id],
      ['server.delete', gh.id],
    ]);
    const stored = events.map((e) => e.json).join('\n');
    for (const value of [...SECRET_VALUES, 'reader:']) expect(stored).not.toContain(value);
    expect(stored).toContain('"owner": "acme"');

    const { events: listed } = await fx.tenancy.audit.list(tenant.id, { limit: 100, action: 'server.update' });
    expect(listed).toEqual([expect.objectContaining({ actor: OPERATOR.actor, resourceType: 'server', resourceId: gh.id })]);
    expect(listed[0]?.after).toMatchObject({ slug: 'gh', kind: 'github', config: { owner: 'acme' } });
  });

  it("makes a filesystem server's directories when it is created or given other roots, so files can be put there before its first use", async () => {
    const tenant = await fx.newTenant('dirs');
    const area = path.join(fx.policy.dataDir, 'files', tenant.slug);
    const isDirectory = async (dir: string) => (await fs.stat(dir).catch(() => undefined))?.isDirectory() ?? false;

    await fx.servers.create(tenant, OPERATOR, { slug: 'notes', kind: 'filesystem' });
    await fx.servers.create(tenant, OPERATOR, { slug: 'shared', kind: 'filesystem', config: { roots: ['team/docs', 'team/specs'] } });
    expect(await isDirectory(path.join(area, 'notes'))).toBe(true);
    expect(await isDirectory(path.join(area, 'team', 'docs'))).toBe(true);
    expect(await isDirectory(path.join(area, 'team', 'specs'))).toBe(true);

    await fx.servers.update(tenant, OPERATOR, 'shared', { config: { roots: ['team/plans'] } });
    expect(await isDirectory(path.join(area, 'team', 'plans'))).toBe(true);
    // A refused root makes nothing.
    await expect(fx.servers.create(tenant, OPERATOR, { slug: 'escape', kind: 'filesystem', config: { roots: ['../elsewhere'] } })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(await isDirectory(path.join(fx.policy.dataDir, 'files', 'elsewhere'))).toBe(false);
  });

  it("makes no missing root in an operator's directory for a read-only server, and makes it for one that may write", async () => {
    const operatorDir = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-operator-'));
    const own = await openServerService(use().db, { fsRoots: [operatorDir] });
    try {
      const tenant = await own.newTenant('readonly');
      const isDirectory = async (dir: string) => (await fs.stat(dir).catch(() => undefined))?.isDirectory() ?? false;
      const reports = path.join(operatorDir, 'reports');
      await own.servers.create(tenant, OPERATOR, { slug: 'reader', kind: 'filesystem', config: { readOnly: true, roots: [reports, 'inbox'] } });
      expect(await isDirectory(reports)).toBe(false);
      // Its own area is the tenant's: made as for any server.
      expect(await isDirectory(path.join(own.policy.dataDir, 'files', tenant.slug, 'inbox'))).toBe(true);
      await own.servers.create(tenant, OPERATOR, { slug: 'writer', kind: 'filesystem', config: { roots: [reports] } });
      expect(await isDirectory(reports)).toBe(true);
    } finally {
      await own.close();
      await fs.rm(operatorDir, { recursive: true, force: true });
    }
  });

  it('deletes a server so that it is gone', async () => {
    const tenant = await fx.newTenant('delete');
    await fx.servers.create(tenant, OPERATOR, { slug: 'files', kind: 'filesystem' });
    await fx.servers.remove(tenant, OPERATOR, 'files');
    expect(await fx.servers.list(tenant)).toEqual([]);
    await expect(fx.servers.get(tenant, 'files')).rejects.toMatchObject({ code: 'not_found' });
    await expect(fx.servers.remove(tenant, OPERATOR, 'files')).rejects.toMatchObject({ code: 'not_found' });
  });

  it("answers not_found to another tenant, for its slugs as for missing ones, and leaves them unchanged", async () => {
    const a = await fx.newTenant('iso-a');
    const b = await fx.newTenant('iso-b');
    await fx.servers.create(a, OPERATOR, { slug: 'gh', kind: 'github', config: { repo: 'widgets' }, secrets: { token: GITHUB_TOKEN } });
    const stateOfA = await serverState(fx, a);
    const stateOfB = await serverState(fx, b);

    const attempts = [
      () => fx.servers.get(b, 'gh'),
      () => fx.servers.update(b, OPERATOR, 'gh', { config: { repo: 'stolen' } }),
      () => fx.servers.update(b, OPERATOR, 'gh', { secrets: { token: 'ghp_attacker' } }),
      () => fx.servers.remove(b, OPERATOR, 'gh'),
    ];
    for (const attempt of attempts) {
      const refused = await attempt().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({ code: 'not_found', message: 'server not found' });
    }
    await expect(fx.servers.get(b, 'nothing-here')).rejects.toMatchObject({ code: 'not_found', message: 'server not found' });
    expect(await fx.servers.list(b)).toEqual([]);
    expect(await serverState(fx, a)).toEqual(stateOfA);
    expect(await serverState(fx, b)).toEqual(stateOfB);
  });
});

describeEachDatabase('server service: servers per tenant', (use) => {
  let fx: ServerServiceFixture;

  beforeAll(async () => {
    fx = await openServerService(use().db, { maxServersPerTenant: 2 });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('refuses a server past the operator’s limit, changing nothing, and counts each tenant apart', async () => {
    const [tenant, other] = await Promise.all([fx.newTenant('limit'), fx.newTenant('limit-other')]);
    const files = (slug: string): CreateServerInput => ({ slug, kind: 'filesystem', config: {} });
    // Three at once: the tenant row is locked for each count, so exactly two are created.
    const attempts = await Promise.allSettled(['one', 'two', 'three'].map((slug) => fx.servers.create(tenant, OPERATOR, files(slug))));
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(2);
    const before = await serverState(fx, tenant);
    await expect(fx.servers.create(tenant, OPERATOR, files('four'))).rejects.toMatchObject({
      code: 'conflict',
      message: 'this tenant already has 2 servers, the most the operator allows (BOTGATE_MAX_SERVERS_PER_TENANT); delete one first',
    });
    expect(await serverState(fx, tenant)).toEqual(before);
    expect(before.servers).toHaveLength(2);
    // Another tenant has its own count; deleting one makes room again.
    await fx.servers.create(other, OPERATOR, files('one'));
    await fx.servers.remove(tenant, OPERATOR, before.servers[0]?.slug ?? '');
    await expect(fx.servers.create(tenant, OPERATOR, files('four'))).resolves.toMatchObject({ slug: 'four' });
  });
});
