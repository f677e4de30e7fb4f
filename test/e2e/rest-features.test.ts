import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import {
  apiClient,
  request,
  seedTenant,
  type AuditEventJson,
  type KeyJson,
  type MeJson,
  type MemberJson,
} from '../support/http.ts';

type Issued = KeyJson & { secret: string };
type AuditPage = { events: AuditEventJson[]; next_cursor: string | null };

describe('REST API features', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let admin: ReturnType<typeof apiClient>;
  let adminKey: Issued;
  let ownerId: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir });
    const seeded = await seedTenant(dataDir, 'feat', { owner: 'olivia@feat.example' });
    adminKey = seeded.key;
    ownerId = seeded.ownerId;
    admin = apiClient(gateway.url, adminKey.secret);
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  const statusOf = async (secret: string) => (await apiClient(gateway.url, secret).get('/api/v1/me')).status;

  it('answers health, readiness and unknown paths, with security headers', async () => {
    const health = await request<{ status: string }>(gateway.url, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(health.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(health.headers.get('x-powered-by')).toBeNull();
    expect(await request(gateway.url, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });

    const missing = await request(gateway.url, 'GET', '/no/such/path', { headers: { 'x-request-id': 'trace-404' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(missing.body).toEqual({ error: { code: 'not_found', message: 'no route for GET /no/such/path' }, requestId: 'trace-404' });
    expect(missing.requestId).toBe('trace-404');
    // A request id that is not a safe token is replaced, not echoed.
    const forged = await request(gateway.url, 'GET', '/nope', { headers: { 'x-request-id': 'a b<script>' } });
    expect(forged.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(forged.body.requestId).toBe(forged.requestId);
  });

  it('creates, lists, reads and revokes keys, showing the secret only once', async () => {
    const created = await admin.post<{ key: Issued }>('/api/v1/keys', { json: { name: 'deploy', scopes: ['mcp', 'mcp'], expires_in: '30d' } });
    expect(created.status).toBe(201);
    const key = created.body.key;
    expect(key).toMatchObject({ name: 'deploy', scopes: ['mcp'], revoked_at: null, user_id: null });
    expect(key.secret.startsWith(key.prefix)).toBe(true);
    expect(new Date(key.expires_at ?? 0).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const listed = await admin.get<{ keys: KeyJson[] }>('/api/v1/keys');
    expect(listed.body.keys.map((k) => k.id)).toContain(key.id);
    expect(JSON.stringify(listed.body)).not.toContain(key.secret);
    const one = await admin.get<{ key: KeyJson }>(`/api/v1/keys/${key.id}`);
    expect(one.body.key).not.toHaveProperty('secret');
    expect(await statusOf(key.secret)).toBe(200);

    const revoked = await admin.delete<{ key: KeyJson }>(`/api/v1/keys/${key.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.key.revoked_at).toEqual(expect.any(String));
    expect(await statusOf(key.secret)).toBe(401);
    // Revoking again is harmless and keeps the first revocation time.
    expect((await admin.delete<{ key: KeyJson }>(`/api/v1/keys/${key.id}`)).body.key.revoked_at).toBe(revoked.body.key.revoked_at);
    expect((await admin.post(`/api/v1/keys/${key.id}/rotate`)).status).toBe(409);
  });

  it('rotates a key: both work during the grace period, and a 0s grace ends the old one at once', async () => {
    const { key: first } = (await admin.post<{ key: Issued }>('/api/v1/keys', { json: { name: 'rotating', scopes: ['read'] } })).body;
    const rotated = await admin.post<{ key: Issued; previous: KeyJson }>(`/api/v1/keys/${first.id}/rotate`);
    expect(rotated.status).toBe(201);
    const second = rotated.body.key;
    expect(second).toMatchObject({ name: 'rotating', scopes: ['read'] });
    expect(second.secret).not.toBe(first.secret);
    expect(rotated.body.previous).toMatchObject({ id: first.id, replaced_by: second.id });
    expect(new Date(rotated.body.previous.expires_at ?? 0).getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect([await statusOf(first.secret), await statusOf(second.secret)]).toEqual([200, 200]);
    expect((await admin.post(`/api/v1/keys/${first.id}/rotate`)).status).toBe(409);

    const third = await admin.post<{ key: Issued }>(`/api/v1/keys/${second.id}/rotate`, { json: { grace_period: '0s' } });
    expect(third.status).toBe(201);
    expect([await statusOf(second.secret), await statusOf(third.body.key.secret)]).toEqual([401, 200]);
    expect(await statusOf(first.secret)).toBe(200);
  });

  it('manages members and protects the last owner', async () => {
    const members = async () => (await admin.get<{ members: MemberJson[] }>('/api/v1/members')).body.members;
    expect(await members()).toEqual([expect.objectContaining({ user_id: ownerId, email: 'olivia@feat.example', role: 'owner' })]);

    const lastOwner = await admin.patch(`/api/v1/members/${ownerId}`, { json: { role: 'admin' } });
    expect(lastOwner.status).toBe(409);
    expect(lastOwner.body.error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/last owner/) });
    expect((await admin.delete(`/api/v1/members/${ownerId}`)).status).toBe(409);

    const added = await admin.post<{ member: MemberJson; created_user: boolean }>('/api/v1/members', {
      json: { email: 'Pat@Feat.example', role: 'member' },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ member: { email: 'pat@feat.example', role: 'member' }, created_user: true });
    expect(JSON.stringify(added.body)).not.toMatch(/password/i);
    const pat = added.body.member.user_id;
    expect((await admin.post('/api/v1/members', { json: { email: 'pat@feat.example', role: 'admin' } })).body.error.code).toBe('conflict');

    const promoted = await admin.patch<{ member: MemberJson }>(`/api/v1/members/${pat}`, { json: { role: 'owner' } });
    expect(promoted.body.member.role).toBe('owner');
    expect((await admin.patch(`/api/v1/members/${ownerId}`, { json: { role: 'admin' } })).status).toBe(200);
    expect((await admin.patch(`/api/v1/members/${ownerId}`, { json: { role: 'owner' } })).status).toBe(200);

    // A key made for a member stops working when the membership ends.
    const patKey = await admin.post<{ key: Issued }>('/api/v1/keys', { json: { name: 'pat', scopes: ['read'], user_id: pat } });
    const asPat = await apiClient(gateway.url, patKey.body.key.secret).get<MeJson>('/api/v1/me');
    expect(asPat.body).toMatchObject({ user_id: pat, role: 'owner' });
    const removed = await admin.delete(`/api/v1/members/${pat}`);
    expect(removed.status).toBe(204);
    expect(removed.body).toBeUndefined();
    expect((await members()).map((m) => m.email)).toEqual(['olivia@feat.example']);
    expect(await statusOf(patKey.body.key.secret)).toBe(401);
  });

  it('records each change in the audit trail with actor and request id', async () => {
    const made = await admin.post<{ key: Issued }>('/api/v1/keys', {
      json: { name: 'audited', scopes: ['mcp'] },
      headers: { 'x-request-id': 'e2e-audit-1', 'user-agent': 'e2e-suite/1.0' },
    });
    expect(made.requestId).toBe('e2e-audit-1');
    const member = await admin.post<{ member: MemberJson }>('/api/v1/members', { json: { email: 'quinn@feat.example', role: 'auditor' } });
    expect(member.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const all = (await admin.get<AuditPage>('/api/v1/audit?limit=200')).body;
    expect(all.next_cursor).toBeNull();
    expect(all.events[0]).toMatchObject({
      action: 'member.add',
      resource_type: 'member',
      resource_id: member.body.member.user_id,
      actor: { type: 'api_key', id: adminKey.id },
      request_id: member.requestId,
      after: { email: 'quinn@feat.example', role: 'auditor' },
    });
    expect(all.events[1]).toMatchObject({
      action: 'api_key.create',
      resource_id: made.body.key.id,
      actor: { type: 'api_key', id: adminKey.id },
      request_id: 'e2e-audit-1',
      user_agent: 'e2e-suite/1.0',
    });
    expect(JSON.stringify(all)).not.toContain(made.body.key.secret);
    expect(all.events.at(-1)).toMatchObject({ action: 'tenant.create', actor: { type: 'operator', id: null } });

    const adds = (await admin.get<AuditPage>('/api/v1/audit?action=member.add')).body.events;
    expect(adds[0]?.after).toMatchObject({ email: 'quinn@feat.example' });
    expect(new Set(adds.map((e) => e.action))).toEqual(new Set(['member.add']));
    expect(adds.length).toBe(all.events.filter((e) => e.action === 'member.add').length);
    const memberEvents = (await admin.get<AuditPage>('/api/v1/audit?resource_type=member')).body.events;
    expect(memberEvents.map((e) => e.id)).toEqual(all.events.filter((e) => e.resource_type === 'member').map((e) => e.id));

    // Follow the cursor two at a time: every event once, in the same order.
    const paged: AuditEventJson[] = [];
    let cursor: string | null = '';
    for (let pages = 0; cursor !== null; pages += 1) {
      expect(pages).toBeLessThan(all.events.length);
      const query: string = cursor === '' ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page: AuditPage = (await admin.get<AuditPage>(`/api/v1/audit?limit=2${query}`)).body;
      expect(page.events.length).toBeLessThanOrEqual(2);
      paged.push(...page.events);
      cursor = page.next_cursor;
    }
    expect(paged.map((e) => e.id)).toEqual(all.events.map((e) => e.id));

    const bad = await admin.get('/api/v1/audit?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/^limit: /) });
  });
});
