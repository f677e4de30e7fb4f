import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, request, seedTenant, type AuditEventJson, type KeyJson } from '../support/http.ts';
import { connectV1, connectV2, type McpTestClient } from '../support/mcp-clients.ts';
import { postToolCall } from '../support/raw-tool-call.ts';

// What an admin reads in the audit trail after calls of tools that do not exist or that
// the key may not see, and after requests refused with 403; and that the callers' answers
// are the ones they always were (a hidden tool answers as a missing one).

const engine = TEST_DATABASE_URL ? 'postgres' : 'pglite';
const METRICS_TOKEN = randomBytes(32).toString('hex');

interface ToolCallAfter {
  server: string | null;
  tool: string;
  arguments: unknown;
  outcome: string;
  duration_ms: number;
}

/** The JSON-RPC error a client's call was refused with, as the client reports it. */
async function refusalOf(client: McpTestClient, name: string, args: Record<string, unknown>): Promise<{ code: unknown; message: string }> {
  const error = await client.callTool(name, args).then(
    (result) => {
      throw new Error(`expected ${name} to be refused, got ${JSON.stringify(result)}`);
    },
    (refused: unknown) => refused as { code?: unknown; message: string },
  );
  return { code: error.code, message: error.message };
}

describe(`audit of unknown tools and refused requests [${engine}]`, () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let database: { url: string; drop(): Promise<void> } | undefined;
  const keys: Record<'admin' | 'other' | 'otherReader' | 'onlyFiles' | 'reader' | 'adminOnly', string> = {
    admin: '',
    other: '',
    otherReader: '',
    onlyFiles: '',
    reader: '',
    adminOnly: '',
  };
  const keyIds: Record<string, string> = {};
  const serverIds: Record<string, string> = {};

  const acme = () => apiClient(gateway.url, keys.admin);
  const other = () => apiClient(gateway.url, keys.other);
  const aggregate = () => `${gateway.url}/t/acme/mcp`;

  /** The events of a trail that `match`, once there are `count` of them (audit writes are batched). */
  async function eventsOf(trail: ReturnType<typeof apiClient>, action: string, match: (event: AuditEventJson) => boolean, count = 1): Promise<AuditEventJson[]> {
    return pollUntil(`${count} ${action} event(s)`, async () => {
      const { body } = await trail.get<{ events: AuditEventJson[] }>(`/api/v1/audit?action=${action}&limit=200`);
      const found = body.events.filter(match);
      return found.length >= count ? found : undefined;
    });
  }
  const toolCalls = (tool: string, count = 1) => eventsOf(acme(), 'tool.call', (event) => (event.after as ToolCallAfter).tool === tool, count);
  const byRequest = (requestId: string | null) => (event: AuditEventJson) => event.request_id === requestId;

  async function makeKey(name: string, body: Record<string, unknown>): Promise<string> {
    const { key } = await operatorCommand<{ key: KeyJson & { secret: string } }>(dataDir, 'key.create', { tenant: 'acme', name, ...body });
    keyIds[name] = key.id;
    return key.secret;
  }

  beforeAll(async () => {
    if (TEST_DATABASE_URL) database = await createThrowawayPostgres(TEST_DATABASE_URL);
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, databaseUrl: database?.url, env: { BOTGATE_METRICS_TOKEN: METRICS_TOKEN } });
    const seeded = await seedTenant(dataDir, 'acme');
    keys.admin = seeded.key.secret;
    keyIds['admin'] = seeded.key.id;
    keys.other = (await seedTenant(dataDir, 'other')).key.secret;
    keys.otherReader = (
      await operatorCommand<{ key: { secret: string } }>(dataDir, 'key.create', { tenant: 'other', name: 'reader', scopes: ['read'] })
    ).key.secret;
    for (const slug of ['files', 'secret']) {
      const { server } = await operatorCommand<{ server: { id: string } }>(dataDir, 'server.create', { tenant: 'acme', slug, kind: 'filesystem' });
      serverIds[slug] = server.id;
    }
    keys.onlyFiles = await makeKey('only-files', { scopes: ['mcp'], tools: ['files'] });
    keys.reader = await makeKey('reader', { scopes: ['read'] });
    keys.adminOnly = await makeKey('admin-only', { scopes: ['admin'] });
  });

  afterAll(async () => {
    await gateway?.stop();
    await database?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  for (const [name, connect] of [
    ['v2', connectV2],
    ['v1', connectV1],
  ] as const) {
    it(`audits the ${name} client's calls of tools that do not exist, answered as before`, async () => {
      const client = await connect(aggregate(), keys.admin);
      const single = await connect(`${gateway.url}/t/acme/mcp/servers/files`, keys.admin);
      const args = { path: 'a.txt', api_key: 'sk-live-do-not-store' };
      let refusals;
      try {
        refusals = {
          nowhere: await refusalOf(client, `nowhere__look_${name}`, args),
          files: await refusalOf(client, `files__shred_${name}`, args),
          single: await refusalOf(single, `shred_single_${name}`, args),
        };
      } finally {
        await Promise.all([client.close(), single.close()]);
      }
      // The JSON-RPC error every unknown name got, as the SDKs report it.
      expect(refusals).toEqual({
        nowhere: { code: -32602, message: expect.stringMatching(new RegExp(`Unknown tool: nowhere__look_${name}$`)) },
        files: { code: -32602, message: expect.stringMatching(new RegExp(`Unknown tool: files__shred_${name}$`)) },
        single: { code: -32602, message: expect.stringMatching(new RegExp(`Unknown tool: shred_single_${name}$`)) },
      });

      const [nowhere] = await toolCalls(`nowhere__look_${name}`);
      expect(nowhere).toMatchObject({ actor: { type: 'api_key', id: keyIds['admin'] }, resource_type: 'server', resource_id: null });
      expect(nowhere?.after).toEqual({
        server: null,
        tool: `nowhere__look_${name}`,
        arguments: { path: 'a.txt', api_key: '[redacted]' },
        outcome: 'unknown_tool',
        duration_ms: expect.any(Number),
      });
      const [files] = await toolCalls(`shred_${name}`);
      expect(files).toMatchObject({ resource_type: 'server', resource_id: serverIds['files'] });
      expect(files?.after).toMatchObject({ server: 'files', tool: `shred_${name}`, arguments: { api_key: '[redacted]' }, outcome: 'unknown_tool' });
      const [onSingle] = await toolCalls(`shred_single_${name}`);
      expect(onSingle).toMatchObject({ resource_type: 'server', resource_id: serverIds['files'] });
      expect(onSingle?.after).toMatchObject({ server: 'files', tool: `shred_single_${name}`, outcome: 'unknown_tool' });
      expect(JSON.stringify([nowhere, files, onSingle])).not.toContain('sk-live-do-not-store');
    });
  }

  it('audits a restricted key’s call of another server’s tool, answered exactly as a missing tool', async () => {
    const hidden = await postToolCall({ url: aggregate(), key: keys.onlyFiles, name: 'secret__read_file', args: { path: 'a.txt' } });
    const missing = await postToolCall({ url: aggregate(), key: keys.onlyFiles, name: 'absent__read_file', args: { path: 'a.txt' } });
    expect(hidden).toMatchObject({ status: 200, json: { jsonrpc: '2.0', id: 7, error: { code: -32602, message: 'Unknown tool: secret__read_file' } } });
    const unnamed = (answer: typeof hidden, name: string) => ({ ...answer, json: JSON.parse(JSON.stringify(answer.json).replaceAll(name, 'NAME')) as unknown, messages: [] });
    expect(unnamed(hidden, 'secret__read_file')).toEqual(unnamed(missing, 'absent__read_file'));

    for (const connect of [connectV2, connectV1]) {
      const client = await connect(aggregate(), keys.onlyFiles);
      try {
        expect((await client.listToolNames()).every((tool) => tool.startsWith('files__'))).toBe(true);
        const refused = await refusalOf(client, 'secret__write_file', { path: 'x.txt', content: 'x' });
        const absent = await refusalOf(client, 'absent__write_file', { path: 'x.txt', content: 'x' });
        expect(refused.code).toBe(-32602);
        expect(refused.message.replace('secret__', 'absent__')).toBe(absent.message);
      } finally {
        await client.close();
      }
    }

    const [read] = await toolCalls('read_file');
    expect(read).toMatchObject({ actor: { type: 'api_key', id: keyIds['only-files'] }, resource_type: 'server', resource_id: serverIds['secret'] });
    expect(read?.after).toEqual({ server: 'secret', tool: 'read_file', arguments: { path: 'a.txt' }, outcome: 'unknown_tool', duration_ms: expect.any(Number) });
    const writes = await toolCalls('write_file', 2);
    expect(writes.map((event) => [event.resource_id, (event.after as ToolCallAfter).server, (event.after as ToolCallAfter).outcome])).toEqual([
      [serverIds['secret'], 'secret', 'unknown_tool'],
      [serverIds['secret'], 'secret', 'unknown_tool'],
    ]);
    const absent = await toolCalls('absent__read_file');
    expect(absent[0]).toMatchObject({ resource_id: null, after: { server: null, outcome: 'unknown_tool' } });
    await expect(fs.access(`${dataDir}/files/acme/secret/x.txt`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('audits unknown tools of bots: a bot’s endpoint, and the bots a key may not see on the aggregate', async () => {
    const made = await acme().post<{ bot: { id: string } }>('/api/v1/bots', {
      json: { slug: 'notes', model: 'claude-sonnet-4-5', description: 'Notes.', system_prompt: 'You help.' },
    });
    expect(made.status).toBe(201);
    const bot = await connectV2(`${gateway.url}/t/acme/mcp/bots/notes`, keys.admin);
    const narrow = await connectV2(aggregate(), keys.onlyFiles);
    try {
      expect(await refusalOf(bot, 'summarize', {})).toEqual({ code: -32602, message: expect.stringMatching(/Unknown tool: summarize$/) });
      expect(await refusalOf(narrow, 'bot__notes', { message: 'hi' })).toEqual({ code: -32602, message: expect.stringMatching(/Unknown tool: bot__notes$/) });
    } finally {
      await Promise.all([bot.close(), narrow.close()]);
    }
    const [onBot] = await toolCalls('summarize');
    expect(onBot).toMatchObject({ resource_type: 'bot', resource_id: made.body.bot.id, after: { server: 'notes', outcome: 'unknown_tool' } });
    const [hidden] = await toolCalls('notes');
    expect(hidden).toMatchObject({
      actor: { id: keyIds['only-files'] },
      resource_type: 'bot',
      resource_id: null,
      after: { server: 'bot', tool: 'notes', arguments: { message: 'hi' }, outcome: 'unknown_tool' },
    });
  });

  it('audits a 403 to a key of the tenant once, with the route and what it lacked; the answer is unchanged', async () => {
    const created = await request(gateway.url, 'POST', '/api/v1/keys', { key: keys.reader, json: { name: 'more', scopes: ['admin'] } });
    expect(created.status).toBe(403);
    expect(created.body).toEqual({
      error: { code: 'forbidden', message: 'this key lacks the "admin" scope needed for keys:write' },
      requestId: created.requestId,
    });
    const events = await eventsOf(acme(), 'access.denied', byRequest(created.requestId));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: { type: 'api_key', id: keyIds['reader'] },
      resource_type: 'route',
      resource_id: '/api/v1/keys',
      after: {
        method: 'POST',
        route: '/api/v1/keys',
        path: '/api/v1/keys',
        permission: 'keys:write',
        reason: 'this key lacks the "admin" scope needed for keys:write',
      },
    });

    const revoked = await request(gateway.url, 'DELETE', `/api/v1/keys/${keyIds['admin']}?why=test`, { key: keys.reader });
    expect(revoked.status).toBe(403);
    const [revoke] = await eventsOf(acme(), 'access.denied', byRequest(revoked.requestId));
    expect(revoke).toMatchObject({
      resource_id: '/api/v1/keys/:id',
      after: { method: 'DELETE', route: '/api/v1/keys/:id', path: `/api/v1/keys/${keyIds['admin']}`, permission: 'keys:write' },
    });

    // Refused by the route itself, not by its permission.
    const widened = await request(gateway.url, 'POST', '/api/v1/keys', { key: keys.adminOnly, json: { name: 'wider', scopes: ['mcp'] } });
    expect(widened).toMatchObject({ status: 403, body: { error: { code: 'forbidden', message: 'a key cannot grant scopes it does not have: mcp' } } });
    const [widen] = await eventsOf(acme(), 'access.denied', byRequest(widened.requestId));
    expect(widen).toMatchObject({ actor: { id: keyIds['admin-only'] }, after: { route: '/api/v1/keys', reason: 'a key cannot grant scopes it does not have: mcp' } });

    const mcp = await request(gateway.url, 'POST', '/t/acme/mcp', {
      key: keys.reader,
      json: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
      headers: { accept: 'application/json, text/event-stream' },
    });
    expect(mcp.body).toEqual({ error: { code: 'forbidden', message: 'this key lacks the "mcp" scope' }, requestId: mcp.requestId });
    expect(mcp.status).toBe(403);
    const [onMcp] = await eventsOf(acme(), 'access.denied', byRequest(mcp.requestId));
    expect(onMcp).toMatchObject({
      actor: { id: keyIds['reader'] },
      resource_id: '/t/:tenant/mcp',
      after: { method: 'POST', route: '/t/:tenant/mcp', path: '/t/acme/mcp', permission: 'tools:use' },
    });
    expect(await keyNames()).not.toContain('more');
  });

  it('counts unknown tools in the tool-call metrics, by the kind of server the name points at', async () => {
    const counted = async () => {
      const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      const text = await response.text();
      const count = (kind: string) => Number(new RegExp(`^botgate_tool_calls_total\\{kind="${kind}",outcome="unknown_tool"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      return { filesystem: count('filesystem'), other: count('other') };
    };
    const before = await counted();
    const admin = await connectV2(aggregate(), keys.admin);
    const narrow = await connectV2(aggregate(), keys.onlyFiles);
    try {
      await refusalOf(admin, 'nowhere__counted', {});
      await refusalOf(admin, 'files__counted', {});
      await refusalOf(narrow, 'secret__counted', {});
    } finally {
      await Promise.all([admin.close(), narrow.close()]);
    }
    const after = await counted();
    expect({ filesystem: after.filesystem - before.filesystem, other: after.other - before.other }).toEqual({ filesystem: 2, other: 1 });
  });

  async function keyNames(): Promise<string[]> {
    return (await acme().get<{ keys: KeyJson[] }>('/api/v1/keys')).body.keys.map((key) => key.name);
  }

  it('audits no 401 and no 404 for another tenant’s resources', async () => {
    const refused = [
      await request(gateway.url, 'GET', '/api/v1/keys', { key: 'bgk_not_a_real_key' }),
      await request(gateway.url, 'POST', '/t/acme/mcp', { json: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} } }),
      await request(gateway.url, 'DELETE', `/api/v1/keys/${keyIds['admin']}`, { key: keys.other }),
      await request(gateway.url, 'POST', '/t/acme/mcp', { key: keys.other, json: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} } }),
      await request(gateway.url, 'POST', '/t/acme/mcp/servers/secret', {
        key: keys.onlyFiles,
        json: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
        headers: { accept: 'application/json, text/event-stream' },
      }),
    ];
    expect(refused.map((response) => response.status)).toEqual([401, 401, 404, 404, 404]);
    // A refusal audited after them in each tenant: once it is written, so is anything queued before it.
    const marks = [
      [acme(), await request(gateway.url, 'DELETE', `/api/v1/keys/${keyIds['admin']}`, { key: keys.reader })],
      [other(), await request(gateway.url, 'DELETE', '/api/v1/keys/00000000-0000-4000-8000-000000000000', { key: keys.otherReader })],
    ] as const;
    const ids = new Set(refused.map((response) => response.requestId));
    for (const [trail, mark] of marks) {
      expect(mark.status).toBe(403);
      await eventsOf(trail, 'access.denied', byRequest(mark.requestId));
      const { body } = await trail.get<{ events: AuditEventJson[] }>('/api/v1/audit?limit=200');
      expect(body.events.filter((event) => ids.has(event.request_id))).toEqual([]);
    }
  });
});
