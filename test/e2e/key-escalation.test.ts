import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, request, seedTenant, type AuditEventJson, type MemberJson } from '../support/http.ts';
import { connectFullV2 } from '../support/mcp-full-clients.ts';
import { openListener, openRawEventStream } from '../support/mcp-listener.ts';

// A key never gives more than it has: not through a key it makes, a person it
// adds or invites, a server or bot it changes, or a bot it chats with. Each
// attack is tried with a key that lacks what it would gain, and nothing changes.

describe('keys that try to reach beyond what they hold', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let full: ReturnType<typeof apiClient>;
  const keys: Record<string, string> = {};

  async function makeKey(name: string, body: Record<string, unknown>): Promise<string> {
    const created = await full.post<{ key: { secret: string } }>('/api/v1/keys', { json: { name, ...body } });
    if (created.status !== 201) throw new Error(`setup: key ${name}: ${JSON.stringify(created.body)}`);
    return created.body.key.secret;
  }

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir });
    full = apiClient(gateway.url, (await seedTenant(dataDir, 'acme')).key.secret);
    const must = (response: { status: number; body: unknown }) => {
      if (response.status !== 201) throw new Error(`setup: ${response.status} ${JSON.stringify(response.body)}`);
    };
    for (const slug of ['files', 'secret']) must(await full.post('/api/v1/servers', { json: { slug, kind: 'filesystem' } }));
    must(await full.post('/api/v1/bots', { json: { slug: 'notes', model: 'claude-sonnet-4-5', description: 'Notes.', system_prompt: 'You help.' } }));
    keys['adminFiles'] = await makeKey('admin-files', { scopes: ['admin'], tools: ['files'] });
    keys['bothFiles'] = await makeKey('both-files', { scopes: ['mcp', 'admin'], tools: ['files'] });
    keys['adminOnly'] = await makeKey('admin-only', { scopes: ['admin'] });
    keys['expiring'] = await makeKey('expiring', { scopes: ['mcp', 'admin'], expires_in: '1h' });
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  const as = (name: string) => apiClient(gateway.url, keys[name]);
  const state = async () => ({
    members: (await full.get<{ members: unknown[] }>('/api/v1/members')).body.members,
    invitations: (await full.get<{ invitations: unknown[] }>('/api/v1/invitations')).body.invitations,
    servers: (await full.get<{ servers: unknown[] }>('/api/v1/servers')).body.servers,
    bots: (await full.get<{ bots: unknown[] }>('/api/v1/bots')).body.bots,
    keys: (await full.get<{ keys: Array<{ name: string }> }>('/api/v1/keys')).body.keys.map((key) => key.name).sort(),
  });

  it("shows a key restricted to some tools only its own events in the audit trail, not what other tools were called with", async () => {
    const secret = await connectFullV2(`${gateway.url}/t/acme/mcp`, await makeKey('audit-full', { scopes: ['mcp', 'admin'] }));
    await secret.callTool('secret__create_directory', { path: 'the-merger-is-on-friday' });
    await secret.close();
    const narrow = await makeKey('audit-narrow', { scopes: ['mcp', 'read'], tools: ['files'] });
    const files = await connectFullV2(`${gateway.url}/t/acme/mcp`, narrow);
    await files.callTool('files__list_directory', { path: '/' });
    await files.close();

    const all = await pollUntil('both calls in the trail', async () => {
      const events = (await full.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=200')).body.events;
      const tools = events.map((e) => (e.after as { tool?: string }).tool);
      return tools.includes('create_directory') && tools.includes('list_directory') ? events : undefined;
    });
    const narrowId = all.find((e) => (e.after as { tool?: string }).tool === 'list_directory')?.actor.id;
    const seen = (await apiClient(gateway.url, narrow).get<{ events: AuditEventJson[] }>('/api/v1/audit?limit=200')).body.events;
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((e) => e.actor.type === 'api_key' && e.actor.id === narrowId)).toBe(true);
    expect(JSON.stringify(seen)).not.toContain('merger');
  });

  it('refuses a key restricted to some tools that adds an owner, invites one, or changes servers and bots', async () => {
    const before = await state();
    const owner = { email: 'mallory@acme.example', role: 'owner', password: 'correct-horse-battery-staple-9' };
    for (const name of ['adminFiles', 'bothFiles']) {
      const added = await as(name).post('/api/v1/members', { json: owner });
      expect(added).toMatchObject({ status: 403, body: { error: { message: expect.stringContaining('restricted to some tools, so it may not use members:write') } } });
      expect((await as(name).post('/api/v1/invitations', { json: { email: 'eve@acme.example', role: 'owner' } })).status).toBe(403);
      const widened = await as(name).patch('/api/v1/servers/files', { json: { config: { roots: ['files', 'secret'] } } });
      expect(widened).toMatchObject({ status: 403, body: { error: { message: expect.stringContaining('may not use servers:write') } } });
      expect((await as(name).post('/api/v1/servers', { json: { slug: 'more', kind: 'filesystem', config: { roots: ['secret'] } } })).status).toBe(403);
      expect((await as(name).post('/api/v1/bots', { json: { slug: 'leak', model: 'claude-sonnet-4-5', description: 'x', system_prompt: 'x', servers: [{ slug: 'secret' }] } })).status).toBe(403);
      expect((await as(name).delete('/api/v1/servers/secret')).status).toBe(403);
    }
    expect(await state()).toEqual(before);
  });

  it('refuses a key without the mcp scope that adds or invites people, who would get it', async () => {
    const before = await state();
    const added = await as('adminOnly').post('/api/v1/members', { json: { email: 'mallory@acme.example', role: 'owner', password: 'correct-horse-battery-staple-9' } });
    expect(added).toMatchObject({ status: 403, body: { error: { message: expect.stringContaining('needs a key with both the "mcp" and "admin" scopes') } } });
    expect((await as('adminOnly').post('/api/v1/invitations', { json: { email: 'eve@acme.example', role: 'admin' } })).status).toBe(403);
    expect(await state()).toEqual(before);
  });

  it('keeps an expiring key from making keys or people that outlast it', async () => {
    const before = await state();
    const forever = await as('expiring').post('/api/v1/keys', { json: { name: 'forever', scopes: ['mcp'] } });
    expect(forever).toMatchObject({ status: 403, body: { error: { message: expect.stringMatching(/^this key expires at .*, and the keys it makes may not outlast it/) } } });
    expect((await as('expiring').post('/api/v1/keys', { json: { name: 'longer', scopes: ['mcp'], expires_in: '2h' } })).status).toBe(403);
    expect((await as('expiring').post('/api/v1/members', { json: { email: 'mallory@acme.example', role: 'owner', password: 'correct-horse-battery-staple-9' } })).status).toBe(403);
    expect((await as('expiring').post('/api/v1/invitations', { json: { email: 'eve@acme.example', role: 'member' } })).status).toBe(403);
    const members = (await full.get<{ members: Array<{ user_id: string }> }>('/api/v1/members')).body.members;
    expect((await as('expiring').patch(`/api/v1/members/${members[0]?.user_id}`, { json: { role: 'admin' } })).status).toBe(403);
    // Rotating a key that never expires would hand back a secret that never does.
    const { body } = await full.get<{ keys: Array<{ id: string; name: string }> }>('/api/v1/keys');
    const adminKey = body.keys.find((key) => key.name === 'admin');
    expect((await as('expiring').post(`/api/v1/keys/${adminKey?.id}/rotate`, { json: {} })).status).toBe(403);
    expect(await state()).toEqual(before);

    const shorter = await as('expiring').post<{ key: { expires_at: string } }>('/api/v1/keys', { json: { name: 'shorter', scopes: ['mcp'], expires_in: '30m' } });
    expect(shorter.status).toBe(201);
  });

  it('hides the servers and bots a key may not use, on MCP and in the chat API, as if they did not exist', async () => {
    const post = (path: string, key: string) =>
      request(gateway.url, 'POST', path, { key, json: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, headers: { accept: 'application/json, text/event-stream' } });
    const missing = await post('/t/acme/mcp/servers/nothing-here', keys['bothFiles']!);
    const hidden = await post('/t/acme/mcp/servers/secret', keys['bothFiles']!);
    expect(missing.status).toBe(404);
    const errorOf = (response: { body: unknown }) => (response.body as { error?: unknown }).error;
    expect([hidden.status, errorOf(hidden)]).toEqual([missing.status, errorOf(missing)]);
    expect((await post('/t/acme/mcp/bots/notes', keys['bothFiles']!)).status).toBe(404);

    const chat = await as('bothFiles').post('/api/v1/bots/notes/chat', { json: { message: 'What do the notes say?' } });
    expect(chat).toMatchObject({ status: 404, body: { error: { message: 'bot not found' } } });

    // And in the REST API's reads: lists leave them out, and each is answered as one that does not exist.
    const rest = as('bothFiles');
    expect((await rest.get<{ servers: Array<{ slug: string }> }>('/api/v1/servers')).body.servers.map((server) => server.slug)).toEqual(['files']);
    expect((await rest.get<{ bots: unknown[] }>('/api/v1/bots')).body.bots).toEqual([]);
    for (const path of ['/api/v1/servers/secret', '/api/v1/servers/secret/tools', '/api/v1/servers/secret/status', '/api/v1/bots/notes']) {
      const hiddenRead = await rest.get(path);
      const missingRead = await rest.get(path.replace(/secret|notes/, 'nothing-here'));
      expect([hiddenRead.status, errorOf(hiddenRead)]).toEqual([404, errorOf(missingRead)]);
    }
    expect((await rest.get('/api/v1/servers/files')).status).toBe(200);
  });

  it('ends an open listen stream once its key is revoked, and keeps the others', async () => {
    const revoked = await makeKey('listening', { scopes: ['mcp'] });
    const kept = await makeKey('still-listening', { scopes: ['mcp'] });
    const doomed = await openListener(`${gateway.url}/t/acme/mcp`, revoked);
    const other = await openListener(`${gateway.url}/t/acme/mcp`, kept);
    // A 2025-era client's GET stream too.
    const doomedLegacy = await openRawEventStream(`${gateway.url}/t/acme/mcp`, revoked);
    const otherLegacy = await openRawEventStream(`${gateway.url}/t/acme/mcp`, kept);
    expect([doomedLegacy.status, otherLegacy.status]).toEqual([200, 200]);
    const { body } = await full.get<{ keys: Array<{ id: string; name: string }> }>('/api/v1/keys');
    const id = body.keys.find((key) => key.name === 'listening')?.id;
    expect((await full.delete(`/api/v1/keys/${id}`)).status).toBe(200);

    // Checked again at once, as the revocation is told to every node: the stream ends as the key's next request would be refused.
    expect(await doomed.closed).not.toBe('local');
    expect(await doomedLegacy.ended).toBe('ended');
    let otherClosed = false;
    void other.closed.then(() => (otherClosed = true));
    void otherLegacy.ended.then(() => (otherClosed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(otherClosed).toBe(false);
    otherLegacy.close();
    await other.close();
  }, 60_000);

  it('ends the streams of a person’s key once the person is made an auditor, whose requests are refused', async () => {
    const added = await full.post<{ member: MemberJson }>('/api/v1/members', { json: { email: 'lee@acme.example', role: 'member' } });
    expect(added.status).toBe(201);
    const personal = await makeKey('lees-laptop', { scopes: ['mcp'], user_id: added.body.member.user_id });
    const listener = await openListener(`${gateway.url}/t/acme/mcp`, personal);
    const legacy = await openRawEventStream(`${gateway.url}/t/acme/mcp`, personal);
    expect(legacy.status).toBe(200);

    const demoted = await full.patch(`/api/v1/members/${added.body.member.user_id}`, { json: { role: 'auditor' } });
    expect(demoted.status).toBe(200);
    expect(await listener.closed).not.toBe('local');
    expect(await legacy.ended).toBe('ended');
    // As the key's next request is.
    const refused = await request(gateway.url, 'POST', '/t/acme/mcp', { key: personal, json: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} } });
    expect(refused.status).toBe(403);
  });

  it('audits a call its key may not make as denied, not as the tool’s own error', async () => {
    const readOnly = await makeKey('read-files', { scopes: ['mcp'], tools: ['files__read_file'] });
    const client = await connectFullV2(`${gateway.url}/t/acme/mcp`, readOnly);
    const refused = await client.callTool('files__write_file', { path: 'x.txt', content: 'x' });
    await client.close();
    expect(refused).toMatchObject({ isError: true, content: [{ type: 'text', text: 'This API key may not use the tool write_file of files.' }] });
    const events = await pollUntil('the refused call audited', async () => {
      const { body } = await full.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=50');
      const found = body.events.filter((event) => (event.after as { tool?: string } | null)?.tool === 'write_file');
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]?.after).toMatchObject({ server: 'files', tool: 'write_file', outcome: 'denied' });
  });
});
