import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type ApiResponse, type AuditEventJson, type ErrorBody } from '../support/http.ts';

interface ServerJson {
  id: string;
  slug: string;
  kind: string;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
  created_at: string;
  updated_at: string;
}

const TOKEN = 'ghp_restApiTokenThatMustNeverBeEchoed01';
const NEW_TOKEN = 'ghp_rotatedTokenThatMustNeverBeEchoed02';
const DB_PASSWORD = 'pw-that-must-never-be-echoed';

function expectError(response: ApiResponse<unknown>, status: number, code: string): ErrorBody {
  const body = response.body as ErrorBody;
  expect({ status: response.status, code: body?.error?.code }).toEqual({ status, code });
  expect(body.requestId).toBe(response.requestId);
  return body;
}

/** Asserts that a response's raw JSON carries none of the secret values. */
function expectNoSecrets(response: ApiResponse<unknown>): void {
  const text = JSON.stringify(response.body ?? null);
  for (const secret of [TOKEN, NEW_TOKEN, DB_PASSWORD]) expect(text).not.toContain(secret);
}

describe('REST API: /api/v1/servers', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  const keys = {} as Record<'a' | 'b' | 'read' | 'member', string>;

  const a = () => apiClient(gateway.url, keys.a);
  /** Everything about tenant A's servers a refused request might change. */
  async function stateOfA() {
    const servers = (await a().get<{ servers: ServerJson[] }>('/api/v1/servers')).body.servers;
    const audit = (await a().get<{ events: AuditEventJson[] }>('/api/v1/audit?resource_type=server&limit=200')).body.events;
    return { servers, audit: audit.map((e) => e.id) };
  }

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir });
    keys.a = (await seedTenant(dataDir, 'srv-a')).key.secret;
    keys.b = (await seedTenant(dataDir, 'srv-b')).key.secret;
    const key = async (name: string, scopes: string[], user?: string) =>
      (await operatorCommand<{ key: { secret: string } }>(dataDir, 'key.create', { tenant: 'srv-a', name, scopes, ...(user && { user }) })).key
        .secret;
    keys.read = await key('reader', ['read']);
    await operatorCommand(dataDir, 'user.create', { tenant: 'srv-a', email: 'mallory@srv-a.example', role: 'member' });
    keys.member = await key('mallory', ['admin', 'mcp'], 'mallory@srv-a.example');
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('creates, lists, reads, updates and deletes a server, never showing a secret', async () => {
    const created = await a().post<{ server: ServerJson }>('/api/v1/servers', {
      json: { slug: 'gh', kind: 'github', config: { owner: 'acme', repo: 'widgets' }, secrets: { token: TOKEN } },
    });
    expect(created.status).toBe(201);
    expect(created.body.server).toEqual({
      id: expect.any(String),
      slug: 'gh',
      kind: 'github',
      config: { owner: 'acme', repo: 'widgets' },
      secrets: { token: 'set' },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expectNoSecrets(created);

    const listed = await a().get<{ servers: ServerJson[] }>('/api/v1/servers');
    expect(listed.body.servers).toEqual([created.body.server]);
    expectNoSecrets(listed);
    const one = await a().get<{ server: ServerJson }>('/api/v1/servers/gh');
    expect(one.body.server).toEqual(created.body.server);

    const patched = await a().patch<{ server: ServerJson }>('/api/v1/servers/gh', {
      json: { config: { owner: 'octo' }, secrets: { token: NEW_TOKEN } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.server).toMatchObject({ id: created.body.server.id, config: { owner: 'octo' }, secrets: { token: 'set' } });
    expectNoSecrets(patched);

    const deleted = await a().delete('/api/v1/servers/gh');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expectError(await a().get('/api/v1/servers/gh'), 404, 'not_found');
    expect((await a().get<{ servers: ServerJson[] }>('/api/v1/servers')).body.servers).toEqual([]);

    const audit = await a().get<{ events: AuditEventJson[] }>('/api/v1/audit?resource_type=server&limit=50');
    expect(audit.body.events.map((e) => e.action)).toEqual(['server.delete', 'server.update', 'server.create']);
    expectNoSecrets(audit);
  });

  it('refuses bad input with a 400 naming the field, and changes nothing', async () => {
    const before = await stateOfA();
    const attempts: Array<[unknown, RegExp]> = [
      [{ slug: 'x', kind: 'github', config: { repo: '..' }, secrets: { token: TOKEN } }, /^config\.repo: /],
      [{ slug: 'x', kind: 'github', config: { repo: 'widgets' } }, /^secrets\.token: required/],
      [{ slug: 'x', kind: 'filesystem', config: { roots: ['../x'] } }, /^config\.roots: /],
      [{ slug: 'x', kind: 'remote', config: { url: 'http://127.0.0.1:1/mcp' } }, /^config\.url: /],
      [{ slug: 'x', kind: 'database', secrets: { url: `postgres://u:${DB_PASSWORD}@10.0.0.1/db` } }, /^secrets\.url: /],
      // Not a URL the outbound check can read: a 400, not a 500 that would log the URL and its password.
      [{ slug: 'x', kind: 'database', secrets: { url: `postgres://u:${DB_PASSWORD}@/db` } }, /^secrets\.url: /],
      [{ slug: 'x', kind: 'stdio', config: { command: 'bash' } }, /^config\.command: /],
      [{ slug: 'x', kind: 'remote', config: { url: 'https://93.184.215.14/mcp', timeoutMs: 999 } }, /^config\.timeoutMs: must be at least 1000 \(1 s\)$/],
      [{ slug: 'x', kind: 'stdio', config: { command: 'bash', timeoutMs: 600_001 } }, /^config\.timeoutMs: must be at most 600000 \(10 min\)$/],
      [{ slug: 'x', kind: 'ftp' }, /^kind: /],
      [{ slug: 'Bad Slug', kind: 'filesystem' }, /^slug: /],
      [{ slug: 'x', kind: 'filesystem', colour: 'red' }, /colour/],
      [{ slug: 'x', kind: 'filesystem', config: ['not', 'an', 'object'] }, /^config: /],
    ];
    for (const [json, message] of attempts) {
      const response = await a().post('/api/v1/servers', { json });
      expect(expectError(response, 400, 'validation_failed').error.message).toMatch(message);
      expectNoSecrets(response);
    }
    expectError(await a().patch('/api/v1/servers/nope', { json: { config: {} } }), 404, 'not_found');
    expect(await stateOfA()).toEqual(before);
  });

  it('refuses a duplicate slug with 409', async () => {
    expect((await a().post('/api/v1/servers', { json: { slug: 'dup', kind: 'filesystem' } })).status).toBe(201);
    const before = await stateOfA();
    expectError(await a().post('/api/v1/servers', { json: { slug: 'dup', kind: 'filesystem', config: { readOnly: true } } }), 409, 'conflict');
    expect(await stateOfA()).toEqual(before);
    expect((await a().delete('/api/v1/servers/dup')).status).toBe(204);
  });

  it('lets a read-scoped key list servers but not change them', async () => {
    await a().post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } });
    const before = await stateOfA();
    const reader = apiClient(gateway.url, keys.read);
    expect((await reader.get('/api/v1/servers')).status).toBe(200);
    expect((await reader.get('/api/v1/servers/files')).status).toBe(200);
    const refused = expectError(await reader.post('/api/v1/servers', { json: { slug: 'r', kind: 'filesystem' } }), 403, 'forbidden');
    expect(refused.error.message).toMatch(/admin/);
    expectError(await reader.patch('/api/v1/servers/files', { json: { config: { readOnly: true } } }), 403, 'forbidden');
    expectError(await reader.delete('/api/v1/servers/files'), 403, 'forbidden');
    expect(await stateOfA()).toEqual(before);
  });

  it("holds a member's admin-scoped key to reading", async () => {
    await a().post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } });
    const before = await stateOfA();
    const mallory = apiClient(gateway.url, keys.member);
    expect((await mallory.get('/api/v1/servers')).status).toBe(200);
    const refused = expectError(await mallory.post('/api/v1/servers', { json: { slug: 'm', kind: 'filesystem' } }), 403, 'forbidden');
    expect(refused.error.message).toMatch(/role "member"/);
    expectError(await mallory.patch('/api/v1/servers/files', { json: { config: { readOnly: true } } }), 403, 'forbidden');
    expectError(await mallory.delete('/api/v1/servers/files'), 403, 'forbidden');
    expect(await stateOfA()).toEqual(before);
  });

  it("answers 404 to another tenant's key for A's slugs, as for missing ones, and leaves A's server as it was", async () => {
    await a().post('/api/v1/servers', { json: { slug: 'secret-gh', kind: 'github', secrets: { token: TOKEN } } });
    const before = await stateOfA();
    const b = apiClient(gateway.url, keys.b);
    const attempts = [
      () => b.get('/api/v1/servers/secret-gh'),
      () => b.patch('/api/v1/servers/secret-gh', { json: { config: { baseUrl: 'https://attacker.example' }, secrets: { token: 'x' } } }),
      () => b.delete('/api/v1/servers/secret-gh'),
    ];
    for (const attempt of attempts) {
      const response = await attempt();
      expect(expectError(response, 404, 'not_found').error.message).toBe('server not found');
      expectNoSecrets(response);
    }
    expect((await b.get('/api/v1/servers/no-such-server')).body.error.message).toBe('server not found');
    expect((await b.get<{ servers: ServerJson[] }>('/api/v1/servers')).body.servers).toEqual([]);
    expect(await stateOfA()).toEqual(before);
  });
});
