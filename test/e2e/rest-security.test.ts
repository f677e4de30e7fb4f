import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import {
  apiClient,
  operatorCommand,
  request,
  seedTenant,
  type ApiResponse,
  type AuditEventJson,
  type ErrorBody,
  type KeyJson,
  type MemberJson,
} from '../support/http.ts';

type Issued = KeyJson & { secret: string };

/** Asserts the error shape every refusal has: status, code, and a request id matching the header. */
function expectError(response: ApiResponse<unknown>, status: number, code: string): ErrorBody {
  const body = response.body as ErrorBody;
  expect({ status: response.status, code: body?.error?.code }).toEqual({ status, code });
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.requestId).toBe(response.requestId);
  return body;
}

describe('REST API security', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  const keys = {} as Record<'admin' | 'read' | 'mcpRead' | 'adminOnly' | 'member' | 'admin2' | 'owner' | 'expiring' | 'revoked' | 'b', Issued>;
  let bKeyId: string;
  let bMemberId: string;

  async function createKey(tenant: string, name: string, scopes: string[], extra: Record<string, string> = {}) {
    return (await operatorCommand<{ key: Issued }>(dataDir, 'key.create', { tenant, name, scopes, ...extra })).key;
  }

  /**
   * Everything a refused request might have changed in a tenant (ignoring last use, which reads touch,
   * and the trail's record of a refusal itself, `access.denied`, written in the background).
   */
  async function stateOf(slug: string, adminKey: string) {
    const api = apiClient(gateway.url, adminKey);
    const members = (await api.get<{ members: MemberJson[] }>('/api/v1/members')).body.members;
    const audit = (await api.get<{ events: AuditEventJson[] }>('/api/v1/audit?limit=200')).body.events.filter((event) => event.action !== 'access.denied');
    const listed = await operatorCommand<{ keys: KeyJson[] }>(dataDir, 'key.list', { tenant: slug });
    return { members, audit, keys: listed.keys.map((key) => ({ ...key, last_used_at: null })) };
  }
  const stateOfA = () => stateOf('sec-a', keys.admin.secret);
  const stateOfB = () => stateOf('sec-b', keys.b.secret);
  const statusOf = async (secret: string) => (await apiClient(gateway.url, secret).get('/api/v1/me')).status;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir });
    keys.admin = (await seedTenant(dataDir, 'sec-a')).key;
    const b = await seedTenant(dataDir, 'sec-b');
    keys.b = b.key;
    bKeyId = b.key.id;
    bMemberId = b.ownerId;
    await operatorCommand(dataDir, 'user.create', { tenant: 'sec-a', email: 'mallory@sec-a.example', role: 'member' });
    keys.read = await createKey('sec-a', 'reader', ['read']);
    keys.mcpRead = await createKey('sec-a', 'mcp-reader', ['mcp', 'read']);
    keys.adminOnly = await createKey('sec-a', 'admin-only', ['admin']);
    keys.member = await createKey('sec-a', 'mallory', ['admin'], { user: 'mallory@sec-a.example' });
    await operatorCommand(dataDir, 'user.create', { tenant: 'sec-a', email: 'eve@sec-a.example', role: 'admin' });
    keys.admin2 = await createKey('sec-a', 'eve', ['admin'], { user: 'eve@sec-a.example' });
    keys.owner = await createKey('sec-a', 'owner-laptop', ['mcp', 'admin'], { user: 'owner@sec-a.example' });
    keys.expiring = await createKey('sec-a', 'short-lived', ['admin'], { expires: '1s' });
    keys.revoked = await createKey('sec-a', 'revoked', ['admin']);
    await operatorCommand(dataDir, 'key.revoke', { tenant: 'sec-a', id: keys.revoked.id });
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('asks for a key when none is sent', async () => {
    const before = await stateOfA();
    for (const [method, path] of [['GET', '/api/v1/me'], ['GET', '/api/v1/keys'], ['POST', '/api/v1/keys']] as const) {
      const response = await request(gateway.url, method, path, method === 'POST' ? { json: { name: 'x', scopes: ['mcp'] } } : {});
      expectError(response, 401, 'unauthorized');
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="botgate"');
    }
    const basic = await request(gateway.url, 'GET', '/api/v1/me', { headers: { authorization: `Basic ${btoa('a:b')}` } });
    expectError(basic, 401, 'unauthorized');
    expect(await stateOfA()).toEqual(before);
  });

  it('refuses garbage, unknown, expired and revoked keys alike', async () => {
    const expired = apiClient(gateway.url, keys.expiring.secret);
    await pollUntil('the 1s key to expire', async () => ((await expired.get('/api/v1/me')).status === 401 ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    const before = await stateOfA();
    const unknown = `bgk_${'A'.repeat(43)}`;
    for (const secret of ['garbage', unknown, `${keys.admin.secret}x`, keys.expiring.secret, keys.revoked.secret]) {
      const api = apiClient(gateway.url, secret);
      const me = await api.get('/api/v1/me');
      expect(expectError(me, 401, 'unauthorized').error.message).toBe('the API key is invalid, expired or revoked');
      expect(me.headers.get('www-authenticate')).toBe('Bearer realm="botgate"');
      expectError(await api.post('/api/v1/keys', { json: { name: 'sneaky', scopes: ['admin'] } }), 401, 'unauthorized');
    }
    expect(await stateOfA()).toEqual(before);
    expect(before.keys.find((k) => k.id === keys.expiring.id)?.expires_at).toEqual(expect.any(String));
  });

  it("answers 404 for another tenant's keys and members, and leaves them as they were", async () => {
    const beforeB = await stateOfB();
    const beforeA = await stateOfA();
    const a = apiClient(gateway.url, keys.admin.secret);
    const missing = '00000000-0000-4000-8000-000000000000';
    const attempts = [
      () => a.get(`/api/v1/keys/${bKeyId}`),
      () => a.post(`/api/v1/keys/${bKeyId}/rotate`, { json: { grace_period: '0s' } }),
      () => a.delete(`/api/v1/keys/${bKeyId}`),
      () => a.patch(`/api/v1/members/${bMemberId}`, { json: { role: 'member' } }),
      () => a.delete(`/api/v1/members/${bMemberId}`),
    ];
    for (const attempt of attempts) {
      const body = expectError(await attempt(), 404, 'not_found');
      expect(body.error.message).not.toContain(bKeyId);
    }
    // Indistinguishable from an id that exists nowhere.
    expect((await a.get(`/api/v1/keys/${bKeyId}`)).body.error.message).toBe(
      (await a.get(`/api/v1/keys/${missing}`)).body.error.message,
    );
    expect((await a.delete(`/api/v1/members/${bMemberId}`)).body.error.message).toBe(
      (await a.delete(`/api/v1/members/${missing}`)).body.error.message,
    );
    expect(await stateOfB()).toEqual(beforeB);
    expect(await stateOfA()).toEqual(beforeA);
    expect((await apiClient(gateway.url, keys.b.secret).get('/api/v1/me')).status).toBe(200);
  });

  it('lets a read-scoped key read but not write', async () => {
    const before = await stateOfA();
    const reader = apiClient(gateway.url, keys.read.secret);
    expect((await reader.get('/api/v1/keys')).status).toBe(200);
    expect((await reader.get('/api/v1/members')).status).toBe(200);
    expect((await reader.get('/api/v1/audit')).status).toBe(200);
    const refused = expectError(await reader.post('/api/v1/keys', { json: { name: 'x', scopes: ['read'] } }), 403, 'forbidden');
    expect(refused.error.message).toMatch(/admin/);
    expectError(await reader.delete(`/api/v1/keys/${keys.adminOnly.id}`), 403, 'forbidden');
    expectError(await reader.post('/api/v1/members', { json: { email: 'x@sec-a.example', role: 'owner' } }), 403, 'forbidden');
    expect(await stateOfA()).toEqual(before);
  });

  it("holds a member's admin-scoped key to the member role", async () => {
    const before = await stateOfA();
    const mallory = apiClient(gateway.url, keys.member.secret);
    expect((await mallory.get('/api/v1/me')).body).toMatchObject({ role: 'member' });
    const addMember = await mallory.post('/api/v1/members', { json: { email: 'friend@evil.example', role: 'owner' } });
    expect(expectError(addMember, 403, 'forbidden').error.message).toMatch(/role "member"/);
    expectError(await mallory.post('/api/v1/keys', { json: { name: 'escalate', scopes: ['admin'] } }), 403, 'forbidden');
    expectError(await mallory.patch(`/api/v1/members/${keys.member.user_id}`, { json: { role: 'owner' } }), 403, 'forbidden');
    expectError(await mallory.get('/api/v1/keys'), 403, 'forbidden');
    expect(await stateOfA()).toEqual(before);
  });

  it('refuses to create a key with scopes the caller lacks', async () => {
    const before = await stateOfA();
    const mcpRead = apiClient(gateway.url, keys.mcpRead.secret);
    expectError(await mcpRead.post('/api/v1/keys', { json: { name: 'up', scopes: ['admin'] } }), 403, 'forbidden');
    const adminOnly = apiClient(gateway.url, keys.adminOnly.secret);
    const widened = await adminOnly.post('/api/v1/keys', { json: { name: 'wider', scopes: ['admin', 'mcp'] } });
    expect(expectError(widened, 403, 'forbidden').error.message).toMatch(/mcp/);
    expect(await stateOfA()).toEqual(before);
    // Narrowing is fine: admin already reads everything, so it may hand out a read-only key.
    expect((await adminOnly.post('/api/v1/keys', { json: { name: 'narrower', scopes: ['read'] } })).status).toBe(201);
  });

  it('refuses rotations that would hand the caller a stronger key', async () => {
    const before = await stateOfA();
    // An admin-role member rotating the owner's key would receive a secret acting as the owner.
    const eve = apiClient(gateway.url, keys.admin2.secret);
    const asOwner = await eve.post(`/api/v1/keys/${keys.owner.id}/rotate`, { json: { grace_period: '0s' } });
    expectError(asOwner, 403, 'forbidden');
    // A key without `mcp` rotating one with it would receive an `mcp` secret.
    const adminOnly = apiClient(gateway.url, keys.adminOnly.secret);
    const wider = await adminOnly.post(`/api/v1/keys/${keys.admin.id}/rotate`, { json: { grace_period: '0s' } });
    expect(expectError(wider, 403, 'forbidden').error.message).toMatch(/mcp/);
    expect(await stateOfA()).toEqual(before);
    expect([await statusOf(keys.owner.secret), await statusOf(keys.admin.secret)]).toEqual([200, 200]);
    // Rotating one's own key is what rotation is for.
    expect((await eve.post(`/api/v1/keys/${keys.admin2.id}/rotate`)).status).toBe(201);
  });

  it('refuses malformed, oversized, non-JSON and unknown-field bodies with a clear error', async () => {
    const before = await stateOfA();
    const a = apiClient(gateway.url, keys.admin.secret);
    const json = { 'content-type': 'application/json' };
    expectError(await a.post('/api/v1/keys', { raw: '{"name": "x", "scopes": [', headers: json }), 400, 'bad_request');
    const huge = JSON.stringify({ name: 'big', scopes: ['mcp'], padding: 'x'.repeat(1_100_000) });
    expectError(await a.post('/api/v1/keys', { raw: huge, headers: json }), 413, 'payload_too_large');
    const text = await a.post('/api/v1/keys', { raw: 'name=x&scopes=mcp', headers: { 'content-type': 'text/plain' } });
    expectError(text, 415, 'unsupported_media_type');
    const unknownField = await a.post('/api/v1/keys', { json: { name: 'x', scopes: ['mcp'], colour: 'red' } });
    expect(expectError(unknownField, 400, 'validation_failed').error.message).toMatch(/colour/);
    const badScope = await a.post('/api/v1/keys', { json: { name: 'x', scopes: ['root'] } });
    expect(expectError(badScope, 400, 'validation_failed').error.message).toMatch(/^scopes\.0: /);
    const badRole = await a.patch(`/api/v1/members/${keys.member.user_id}`, { json: { role: 'god' } });
    expect(expectError(badRole, 400, 'validation_failed').error.message).toMatch(/^role: /);
    expect(await stateOfA()).toEqual(before);
  });

  it('refuses a path with malformed percent-encoding as a bad request, changing nothing', async () => {
    const before = await stateOfA();
    const a = apiClient(gateway.url, keys.admin.secret);
    for (const response of [await a.get('/api/v1/keys/%ZZ'), await a.delete('/api/v1/members/%E0%A4%A'), await a.patch('/api/v1/servers/%', { json: {} })]) {
      expect(expectError(response, 400, 'bad_request').error.message).toContain('malformed percent-encoding');
    }
    const invite = await fetch(`${gateway.url}/invite/%ZZ`);
    expect(invite.status).toBe(400);
    expect(await stateOfA()).toEqual(before);
  });

  it('refuses text the database cannot store (a NUL character, a lone surrogate), naming the field, and changes nothing', async () => {
    const before = await stateOfA();
    const a = apiClient(gateway.url, keys.admin.secret);
    const bot = { slug: 'unstorable', model: 'claude-sonnet-4-5', description: 'reads \u0000 files' };
    const nul = await a.post('/api/v1/bots', { json: bot });
    expect(expectError(nul, 400, 'validation_failed').error.message).toBe('description: must not contain the NUL character (\\u0000), which cannot be stored');
    const surrogate = await a.post('/api/v1/keys', { json: { name: 'half \uD800 pair', scopes: ['mcp'] } });
    expect(expectError(surrogate, 400, 'validation_failed').error.message).toMatch(/^name: must not contain a lone UTF-16 surrogate/);
    expect(expectError(await a.get('/api/v1/audit?action=tool%00call'), 400, 'validation_failed').error.message).toMatch(/^action: /);
    // The CLI's way in, through the operator endpoint, refuses it alike.
    await expect(operatorCommand(dataDir, 'bot.create', { tenant: 'sec-a', ...bot, system: 'You read files.' })).rejects.toThrow(/description: must not contain the NUL character/);
    expect((await a.get<{ bots: Array<{ slug: string }> }>('/api/v1/bots')).body.bots.map((b) => b.slug)).not.toContain('unstorable');
    expect(await stateOfA()).toEqual(before);
  });

  it('refuses a body nested deeper than the gateway stores, naming where, and changes nothing', async () => {
    const before = await stateOfA();
    const a = apiClient(gateway.url, keys.admin.secret);
    // 20,000 levels: JSON.parse takes them, a recursive walk of them overflows the stack.
    const nested = '['.repeat(20_000) + ']'.repeat(20_000);
    const raw = `{"slug":"nested","kind":"filesystem","config":{"roots":${nested}}}`;
    const refused = await a.post('/api/v1/servers', { raw, headers: { 'content-type': 'application/json' } });
    expect(expectError(refused, 400, 'validation_failed').error.message).toMatch(/^config\.roots(\.0)+: is nested deeper than 64 levels$/);
    expect(await stateOfA()).toEqual(before);
  });

  it('stores SQL-looking input verbatim or refuses it as invalid, never failing', async () => {
    const a = apiClient(gateway.url, keys.admin.secret);
    const name = `x'); drop table api_keys; -- "quoted" \\ ünïcødé`;
    const created = await a.post<{ key: Issued }>('/api/v1/keys', { json: { name, scopes: ['mcp'] } });
    expect(created.status).toBe(201);
    const fetched = await a.get<{ key: KeyJson }>(`/api/v1/keys/${created.body.key.id}`);
    expect(fetched.body.key.name).toBe(name);

    const quoted = await a.post<{ member: MemberJson }>('/api/v1/members', {
      json: { email: "o'reilly--@sec-a.example", role: 'auditor' },
    });
    expect(quoted.status).toBe(201);
    expect(quoted.body.member.email).toBe("o'reilly--@sec-a.example");

    const before = await stateOfA();
    const injected = await a.post('/api/v1/members', { json: { email: "x' or '1'='1@sec-a.example", role: 'owner' } });
    expect(expectError(injected, 400, 'validation_failed').error.message).toMatch(/^email: /);
    expectError(await a.get(`/api/v1/keys/${encodeURIComponent("1' or '1'='1")}`), 404, 'not_found');
    const filtered = await a.get<{ events: AuditEventJson[] }>(`/api/v1/audit?action=${encodeURIComponent("x' or 1=1 --")}`);
    expect(filtered.status).toBe(200);
    expect(filtered.body.events).toEqual([]);
    expectError(await a.get('/api/v1/audit?cursor=%27%3B--'), 400, 'validation_failed');
    expect(await stateOfA()).toEqual(before);
  });
});
