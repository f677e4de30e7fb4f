import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingMcpServer, type RecordingMcpServer } from '../fakes/recording-mcp-server.ts';
import { Browser } from '../support/browser.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson, type KeyJson, type MemberJson } from '../support/http.ts';
import { connectV2 } from '../support/mcp-clients.ts';
import { openListener, openRawEventStream } from '../support/mcp-listener.ts';

type Issued = KeyJson & { secret: string };

const PASSWORD = 'correct horse battery staple';
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'tenant-delete-test', version: '1.0.0' } },
};

/** The status of an MCP initialize on `/t/{slug}/mcp` (the body may be a stream, so it is not parsed). */
async function mcpStatus(baseUrl: string, slug: string, key: string): Promise<number> {
  const response = await fetch(`${baseUrl}/t/${slug}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(INITIALIZE),
  });
  await response.body?.cancel();
  return response.status;
}

describe('DELETE /api/v1/tenant', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let upstream: RecordingMcpServer;
  const keys = {} as Record<'owner' | 'ownerRead' | 'admin' | 'b', Issued>;

  async function createKey(tenant: string, name: string, scopes: string[], extra: Record<string, string> = {}): Promise<Issued> {
    return (await operatorCommand<{ key: Issued }>(dataDir, 'key.create', { tenant, name, scopes, ...extra })).key;
  }

  /** Everything a tenant holds that a deletion (or a refused one) might change, ignoring last use and the records of refusals (`access.denied`). */
  async function stateOf(slug: string, secret: string) {
    const api = apiClient(gateway.url, secret);
    const members = (await api.get<{ members: MemberJson[] }>('/api/v1/members')).body.members;
    const audit = (await api.get<{ events: AuditEventJson[] }>('/api/v1/audit?limit=200')).body.events.filter((event) => event.action !== 'access.denied');
    const listed = await operatorCommand<{ keys: KeyJson[] }>(dataDir, 'key.list', { tenant: slug });
    return { members, audit, keys: listed.keys.map((key) => ({ ...key, last_used_at: null })) };
  }

  beforeAll(async () => {
    upstream = await startRecordingMcpServer();
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } });
    keys.owner = (await seedTenant(dataDir, 'del-a')).key;
    keys.b = (await seedTenant(dataDir, 'del-b')).key;
    keys.ownerRead = await createKey('del-a', 'owner-reader', ['read', 'mcp'], { user: 'owner@del-a.example' });
    await operatorCommand(dataDir, 'user.create', { tenant: 'del-a', email: 'eve@del-a.example', role: 'admin' });
    keys.admin = await createKey('del-a', 'eve', ['admin', 'mcp'], { user: 'eve@del-a.example' });
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('refuses an admin, and an owner key without the admin scope, changing nothing', async () => {
    const before = await stateOf('del-a', keys.owner.secret);

    for (const [key, reason] of [
      [keys.admin, /role "admin" does not allow tenant:delete/],
      [keys.ownerRead, /"admin" scope/],
    ] as const) {
      const refused = await apiClient(gateway.url, key.secret).delete('/api/v1/tenant', { json: { confirm: 'del-a' } });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(reason) });
    }

    expect(await stateOf('del-a', keys.owner.secret)).toEqual(before);
  });

  it('refuses a wrong or missing confirmation with 400 naming the field, changing nothing', async () => {
    const owner = apiClient(gateway.url, keys.owner.secret);
    const before = await stateOf('del-a', keys.owner.secret);

    for (const json of [{ confirm: 'del-b' }, { confirm: 'DEL-A' }, {}, { confirm: 1 }, undefined]) {
      const refused = await owner.delete('/api/v1/tenant', json === undefined ? {} : { json });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toMatch(/confirm|body/);
    }
    const named = await owner.delete('/api/v1/tenant', { json: { confirm: 'del-b' } });
    expect(named.body.error.message).toMatch(/^confirm: /);

    expect(await stateOf('del-a', keys.owner.secret)).toEqual(before);
  });

  it('refuses a signed-in owner without the CSRF token, changing nothing', async () => {
    const browser = new Browser(gateway.url);
    expect((await browser.login('owner@del-a.example', PASSWORD)).status).toBe(303);
    const before = await stateOf('del-a', keys.owner.secret);

    const refused = await browser.api('DELETE', '/api/v1/tenant', { json: { confirm: 'del-a' } });

    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/CSRF/);
    expect(await stateOf('del-a', keys.owner.secret)).toEqual(before);
  });

  it('deletes the tenant for its owner: keys stop at once, MCP answers no more, another tenant is untouched', async () => {
    const owner = apiClient(gateway.url, keys.owner.secret);
    expect((await owner.get('/api/v1/me')).status).toBe(200); // cached now, on the embedded database
    expect(await mcpStatus(gateway.url, 'del-a', keys.owner.secret)).toBe(200);
    // The tenant's remote server in use (the gateway listens to the upstream), and a client listening to the tenant.
    expect((await owner.post('/api/v1/servers', { json: { slug: 'up', kind: 'remote', config: { url: upstream.url } } })).status).toBe(201);
    const client = await connectV2(`${gateway.url}/t/del-a/mcp`, keys.owner.secret);
    expect(await client.listToolNames()).toContain('up__echo');
    await client.close();
    await pollUntil('the gateway to listen to the upstream', async () => (upstream.openListenStreams === 1 ? true : undefined));
    const listener = await openListener(`${gateway.url}/t/del-a/mcp`, keys.owner.secret);
    let ended: string | undefined;
    void listener.closed.then((how) => (ended = how));
    // A 2025-era client's GET stream too.
    const legacy = await openRawEventStream(`${gateway.url}/t/del-a/mcp`, keys.owner.secret);
    expect(legacy.status).toBe(200);
    const otherBefore = await stateOf('del-b', keys.b.secret);

    const deleted = await owner.delete('/api/v1/tenant', { json: { confirm: 'del-a' } });

    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    for (const key of [keys.owner, keys.admin, keys.ownerRead]) {
      expect((await apiClient(gateway.url, key.secret).get('/api/v1/me')).status).toBe(401);
    }
    expect([401, 404]).toContain(await mcpStatus(gateway.url, 'del-a', keys.owner.secret));
    expect(await mcpStatus(gateway.url, 'del-a', keys.b.secret)).toBe(404);
    await expect(operatorCommand(dataDir, 'key.list', { tenant: 'del-a' })).rejects.toThrow(/not_found|not found/);
    expect(await stateOf('del-b', keys.b.secret)).toEqual(otherBefore);
    expect(gateway.output()).toMatch(/"level":40[^\n]*"slug":"del-a"[^\n]*"msg":"tenant deleted"/);
    expect(await pollUntil('the tenant’s listen stream to end', async () => ended, { timeoutMs: 20_000 })).toBe('graceful');
    // Ended by the deletion, not later by the check of its credential (every 10 s).
    expect(await Promise.race([legacy.ended, new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5_000))])).toBe('ended');
    await pollUntil('the tenant’s upstream connection to close', async () => (upstream.openListenStreams === 0 ? true : undefined), { timeoutMs: 20_000 });
    await listener.close().catch(() => undefined);
  });

  it('deletes the tenant for a signed-in owner who sends the CSRF token', async () => {
    await seedTenant(dataDir, 'del-c');
    const browser = new Browser(gateway.url);
    expect((await browser.login('owner@del-c.example', PASSWORD)).status).toBe(303);
    const me = await browser.api<{ csrf_token?: string }>('GET', '/api/v1/me');

    const deleted = await browser.api('DELETE', '/api/v1/tenant', {
      json: { confirm: 'del-c' },
      headers: { 'x-csrf-token': me.body.csrf_token ?? '' },
    });

    expect(deleted.status).toBe(204);
    await expect(operatorCommand(dataDir, 'key.list', { tenant: 'del-c' })).rejects.toThrow(/not_found|not found/);
  });
});
