import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { composeModules, type Modules } from '../../src/compose.ts';
import { createApp, generateOperatorToken, listen, type RunningServer } from '../../src/gateway/index.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { createLogger } from '../../src/shared/logger.ts';
import type { Tenant } from '../../src/tenancy/index.ts';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '../fakes/anthropic.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { apiClient, type ApiResponse, type AuditEventJson, type KeyJson } from '../support/http.ts';
import { connectV2 } from '../support/mcp-clients.ts';
import { openListener } from '../support/mcp-listener.ts';

const OPERATOR = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const ANTHROPIC_KEY = 'sk-ant-delete-detaches-test';

interface BotJson {
  slug: string;
  servers: Array<{ slug: string; tools?: string[] }>;
  bots: string[];
}

type RestrictedKey = KeyJson & { tools: string[] | null; secret: string };

function must<T>(response: ApiResponse<T>, status: number): T {
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

// Bots and keys name servers and bots by slug: once one is deleted, a new one given its slug must not inherit them.
describeEachDatabase('deleting a server or a bot detaches it from bots and keys', (use) => {
  let modules: Modules;
  let server: RunningServer;
  let fake: FakeAnthropic;
  let dataDir: string;
  let tenant: Tenant;
  let adminKey: string;

  const admin = () => apiClient(server.url, adminKey);
  const mcpUrl = (suffix = '') => `${server.url}/t/${tenant.slug}/mcp${suffix}`;

  /** The tools the aggregate endpoint lists to `key`, sorted. */
  async function aggregateTools(key: string): Promise<string[]> {
    const client = await connectV2(mcpUrl(), key);
    try {
      return (await client.listToolNames()).sort();
    } finally {
      await client.close();
    }
  }

  /** The HTTP status of a `tools/list` on one server's or bot's own endpoint. */
  async function endpointStatus(suffix: string, key: string): Promise<number> {
    const response = await fetch(mcpUrl(suffix), {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    await response.body?.cancel();
    return response.status;
  }

  async function makeKey(name: string, tools: string[], scopes = ['mcp']): Promise<RestrictedKey> {
    return must(await admin().post<{ key: RestrictedKey }>('/api/v1/keys', { json: { name, scopes, tools } }), 201).key;
  }

  const keyTools = async (id: string) => must(await admin().get<{ key: RestrictedKey }>(`/api/v1/keys/${id}`), 200).key.tools;
  const botOf = async (slug: string) => must(await admin().get<{ bot: BotJson }>(`/api/v1/bots/${slug}`), 200).bot;

  /** The tool names the bot's run offered the model: asked through the chat API by the unrestricted key. */
  async function offeredToModel(bot: string): Promise<string[]> {
    fake.reset();
    const response = await fetch(`${server.url}/api/v1/bots/${bot}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'What can you use?' }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('[DONE]');
    const sent = fake.requests[0]?.body as { tools?: Array<{ name: string }> } | undefined;
    return (sent?.tools ?? []).map((tool) => tool.name).sort();
  }

  async function auditOf(query: string): Promise<AuditEventJson[]> {
    return must(await admin().get<{ events: AuditEventJson[] }>(`/api/v1/audit?${query}&limit=200`), 200).events;
  }

  /** The restriction before and after, by key, of `api_key.update` events. */
  const toolChanges = (events: AuditEventJson[]) =>
    Object.fromEntries(
      events.map((event) => [event.resource_id, { before: (event.before as { tools: unknown }).tools, after: (event.after as { tools: unknown }).tools }]),
    );

  beforeAll(async () => {
    const { db } = use();
    fake = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY, respond: () => textReply('I looked.') });
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-detach-'));
    const logger = createLogger({ level: 'silent' });
    const config = loadConfig({ DATA_DIR: dataDir, ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: fake.url });
    modules = composeModules({ config, db, logger, secretKey: randomBytes(32) });
    tenant = await modules.tenancy.tenants.create(OPERATOR, { slug: `detach-${randomUUID().slice(0, 8)}` });
    adminKey = (await modules.tenancy.apiKeys.create(tenant.id, OPERATOR, { name: 'admin', scopes: ['admin', 'mcp', 'read'] })).secret;
    server = await listen(
      createApp({
        logger,
        tenancy: modules.tenancy,
        servers: modules.servers,
        bots: modules.bots,
        auditWriter: modules.auditWriter,
        version: 'test',
        bodyLimit: '1mb',
        allowedHostnames: undefined,
        isReady: () => Promise.resolve(true),
        changes: modules.changes,
        selfUrl: () => server.url,
        operator: { commands: modules.commands, token: generateOperatorToken() },
      }),
      { host: '127.0.0.1', port: 0 },
    );
  });

  afterAll(async () => {
    await server?.close(1_000);
    await modules?.close();
    await fake?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => fake.reset());

  it('a deleted server: its bot no longer attaches it, a key only for it reaches nothing, and a new server of its slug is reached by neither', async () => {
    must(await admin().post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } }), 201);
    must(await admin().post('/api/v1/servers', { json: { slug: 'other', kind: 'filesystem' } }), 201);
    const helper = { slug: 'helper', model: 'claude-haiku-4-5', description: 'Reads the files.', servers: [{ slug: 'files' }, { slug: 'other', tools: ['read_file'] }] };
    must(await admin().post('/api/v1/bots', { json: helper }), 201);
    const only = await makeKey('files only', ['files']);
    const both = await makeKey('files and other', ['files__read_file', 'files__list_directory', 'other']);

    // Used before the deletion, so that what the gateway keeps of these keys and this bot is stale if not dropped.
    expect(await aggregateTools(only.secret)).toContain('files__read_file');
    expect(await aggregateTools(both.secret)).toEqual(expect.arrayContaining(['files__read_file', 'other__read_file']));
    expect(await offeredToModel('helper')).toEqual(expect.arrayContaining(['files__read_file', 'other__read_file']));
    const otherTools = (await aggregateTools(adminKey)).filter((name) => name.startsWith('other__'));

    const deleted = await admin().delete('/api/v1/servers/files');
    expect(deleted.status).toBe(204);

    expect(await keyTools(only.id)).toEqual([]);
    expect(await keyTools(both.id)).toEqual(['other']);
    expect((await botOf('helper')).servers).toEqual([{ slug: 'other', tools: ['read_file'] }]);

    const reachedAfter = async () => ({
      only: await aggregateTools(only.secret),
      onlyOnFiles: await endpointStatus('/servers/files', only.secret),
      onlyOnOther: await endpointStatus('/servers/other', only.secret),
      both: await aggregateTools(both.secret),
      bothOnFiles: await endpointStatus('/servers/files', both.secret),
      bot: await offeredToModel('helper'),
    });
    const expected = { only: [], onlyOnFiles: 404, onlyOnOther: 404, both: otherTools, bothOnFiles: 404, bot: ['other__read_file'] };
    expect(await reachedAfter()).toEqual(expected);

    // A different server under the same slug: nothing made for the old one reaches it.
    must(await admin().post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem', config: { readOnly: true } } }), 201);
    expect(await endpointStatus('/servers/files', adminKey)).toBe(200);
    expect(await reachedAfter()).toEqual(expected);
    expect((await botOf('helper')).servers).toEqual([{ slug: 'other', tools: ['read_file'] }]);

    // The deletion and what it detached are audited together, as changes of those keys and that bot.
    const [serverDelete] = await auditOf('action=server.delete');
    expect(serverDelete).toMatchObject({ resource_type: 'server', before: { slug: 'files' } });
    const keyUpdates = (await auditOf('action=api_key.update')).filter((event) => event.request_id === serverDelete?.request_id);
    expect(toolChanges(keyUpdates)).toEqual({
      [only.id]: { before: ['files'], after: [] },
      [both.id]: { before: ['files__read_file', 'files__list_directory', 'other'], after: ['other'] },
    });
    const botUpdates = (await auditOf('action=bot.update')).filter((event) => event.request_id === serverDelete?.request_id);
    expect(botUpdates).toHaveLength(1);
    expect(botUpdates[0]).toMatchObject({
      resource_type: 'bot',
      before: { slug: 'helper', servers: [{ slug: 'files' }, { slug: 'other', tools: ['read_file'] }] },
      after: { slug: 'helper', servers: [{ slug: 'other', tools: ['read_file'] }] },
    });
  });

  it('a key left with no tools stays so when rotated, and may not make keys reaching more', async () => {
    must(await admin().post('/api/v1/servers', { json: { slug: 'scratch', kind: 'filesystem' } }), 201);
    must(await admin().post('/api/v1/servers', { json: { slug: 'kept', kind: 'filesystem' } }), 201);
    const key = await makeKey('scratch only', ['scratch'], ['admin', 'mcp']);
    expect((await admin().delete('/api/v1/servers/scratch')).status).toBe(204);

    const as = apiClient(server.url, key.secret);
    const keysBefore = must(await admin().get<{ keys: KeyJson[] }>('/api/v1/keys'), 200).keys.length;
    expect(await as.post('/api/v1/keys', { json: { name: 'everything', scopes: ['mcp'] } })).toMatchObject({ status: 403, body: { error: { message: expect.stringContaining('(all tools)') } } });
    expect((await as.post('/api/v1/keys', { json: { name: 'kept', scopes: ['mcp'], tools: ['kept'] } })).status).toBe(403);
    expect((await as.post('/api/v1/servers', { json: { slug: 'scratch', kind: 'filesystem' } })).status).toBe(403);
    expect(must(await admin().get<{ keys: KeyJson[] }>('/api/v1/keys'), 200).keys).toHaveLength(keysBefore);

    const rotated = must(await admin().post<{ key: RestrictedKey }>(`/api/v1/keys/${key.id}/rotate`, { json: { grace_period: '0s' } }), 201).key;
    expect(rotated.tools).toEqual([]);
    expect(await aggregateTools(rotated.secret)).toEqual([]);
    const me = must(await apiClient(server.url, rotated.secret).get<{ key: { tools: string[] | null } }>('/api/v1/me'), 200);
    expect(me.key.tools).toEqual([]);
  });

  it('a deleted bot: the bots attaching it and the keys naming it let go of it, and a new bot of its slug is reached by neither', async () => {
    const bot = (slug: string, extra: Record<string, unknown> = {}) =>
      admin().post('/api/v1/bots', { json: { slug, model: 'claude-haiku-4-5', description: `Bot ${slug}.`, ...extra } });
    must(await bot('notes'), 201);
    must(await bot('aide'), 201);
    must(await bot('lead', { bots: ['notes', 'aide'] }), 201);
    const only = await makeKey('notes only', ['bot__notes']);
    const both = await makeKey('notes and aide', ['bot__notes', 'bot__aide']);
    const allBots = await makeKey('every bot', ['bot']);

    expect(await aggregateTools(only.secret)).toEqual(['bot__notes']);
    expect(await offeredToModel('lead')).toEqual(['bot__aide', 'bot__notes']);

    expect((await admin().delete('/api/v1/bots/notes')).status).toBe(204);

    expect(await keyTools(only.id)).toEqual([]);
    expect(await keyTools(both.id)).toEqual(['bot__aide']);
    // `bot` names no bot in particular: it stays.
    expect(await keyTools(allBots.id)).toEqual(['bot']);
    expect((await botOf('lead')).bots).toEqual(['aide']);

    must(await bot('notes', { description: 'A different bot under an old name.' }), 201);
    expect(await aggregateTools(only.secret)).toEqual([]);
    expect(await endpointStatus('/bots/notes', only.secret)).toBe(404);
    expect(await aggregateTools(both.secret)).toEqual(['bot__aide']);
    expect(await endpointStatus('/bots/notes', both.secret)).toBe(404);
    expect(await offeredToModel('lead')).toEqual(['bot__aide']);
    expect((await botOf('lead')).bots).toEqual(['aide']);
    const chat = await apiClient(server.url, only.secret).post('/api/v1/bots/notes/chat', { json: { message: 'hello' } });
    expect(chat.status).toBe(404);

    const [botDelete] = await auditOf('action=bot.delete');
    expect(botDelete).toMatchObject({ resource_type: 'bot', before: { slug: 'notes' } });
    const sameRequest = (events: AuditEventJson[]) => events.filter((event) => event.request_id === botDelete?.request_id);
    const keyUpdates = sameRequest(await auditOf('action=api_key.update'));
    expect(toolChanges(keyUpdates)).toEqual({
      [only.id]: { before: ['bot__notes'], after: [] },
      [both.id]: { before: ['bot__notes', 'bot__aide'], after: ['bot__aide'] },
    });
    const botUpdates = sameRequest(await auditOf('action=bot.update'));
    expect(botUpdates).toHaveLength(1);
    expect(botUpdates[0]).toMatchObject({ before: { slug: 'lead', bots: ['notes', 'aide'] }, after: { slug: 'lead', bots: ['aide'] } });
  });

  it('ends an open listen stream whose key no longer names the deleted server, and keeps the others', async () => {
    must(await admin().post('/api/v1/servers', { json: { slug: 'watched', kind: 'filesystem' } }), 201);
    must(await admin().post('/api/v1/servers', { json: { slug: 'unwatched', kind: 'filesystem' } }), 201);
    const narrowed = await makeKey('watched only', ['watched']);
    const untouched = await makeKey('unwatched only', ['unwatched']);
    const doomed = await openListener(mcpUrl(), narrowed.secret);
    const kept = await openListener(mcpUrl(), untouched.secret);

    expect((await admin().delete('/api/v1/servers/watched')).status).toBe(204);

    // Checked again every 10 s: the stream ends, so that its client listens again with what its key may use now.
    expect(await doomed.closed).not.toBe('local');
    let keptClosed = false;
    void kept.closed.then(() => (keptClosed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(keptClosed).toBe(false);
    await kept.close();
  }, 60_000);

  it('the operator deleting a server detaches it too', async () => {
    must(await admin().post('/api/v1/servers', { json: { slug: 'shared', kind: 'filesystem' } }), 201);
    must(await admin().post('/api/v1/bots', { json: { slug: 'sharer', model: 'claude-haiku-4-5', description: 'Shares.', servers: [{ slug: 'shared' }] } }), 201);
    const key = await makeKey('shared only', ['shared__read_file']);
    expect(await aggregateTools(key.secret)).toEqual(['shared__read_file']);

    const result = await modules.commands.run('server.delete', { tenant: tenant.slug, slug: 'shared' }, OPERATOR);
    // What it was taken out of, for the operator to see: `botgate server delete` prints it (format.ts).
    expect(result).toMatchObject({ deleted: true, detached: { bots: ['sharer'], keys: [{ id: key.id, name: 'shared only' }] } });
    must(await admin().post('/api/v1/servers', { json: { slug: 'shared', kind: 'filesystem' } }), 201);

    expect(await keyTools(key.id)).toEqual([]);
    expect(await aggregateTools(key.secret)).toEqual([]);
    expect((await botOf('sharer')).servers).toEqual([]);
    const [event] = await auditOf(`action=api_key.update&resource_id=${key.id}`);
    expect(event).toMatchObject({ actor: { type: 'operator' }, before: { tools: ['shared__read_file'] }, after: { tools: [] } });

    must(await admin().post('/api/v1/bots', { json: { slug: 'shared-bot', model: 'claude-haiku-4-5', description: 'Is shared.' } }), 201);
    must(await admin().patch('/api/v1/bots/sharer', { json: { bots: ['shared-bot'] } }), 200);
    const botKey = await makeKey('shared bot only', ['bot__shared-bot']);
    const deletedBot = await modules.commands.run('bot.delete', { tenant: tenant.slug, slug: 'shared-bot' }, OPERATOR);
    expect(deletedBot).toMatchObject({ deleted: true, detached: { bots: ['sharer'], keys: [{ id: botKey.id, name: 'shared bot only' }] } });
    const untouched = await modules.commands.run('bot.delete', { tenant: tenant.slug, slug: 'sharer' }, OPERATOR);
    expect(untouched).toMatchObject({ deleted: true, detached: { bots: [], keys: [] } });
  });
});
