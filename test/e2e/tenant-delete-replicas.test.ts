import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '../fakes/anthropic.ts';
import { startRecordingMcpServer, type RecordingMcpServer } from '../fakes/recording-mcp-server.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL, testPool } from '../support/databases.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, seedTenant } from '../support/http.ts';
import { connectV2 } from '../support/mcp-clients.ts';
import { openListener, TOOLS, type McpListener } from '../support/mcp-listener.ts';
import { approveInBrowser, OAuthBrowser, postMcp } from '../support/oauth.ts';

const API_KEY = 'sk-ant-e2e-operator-key';
const PUBLIC_URL = 'http://botgate.test';
const PASSWORD = 'correct horse battery staple';
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'tenant-delete-replicas', version: '1.0.0' } },
};

type Tokens = { access_token: string; refresh_token: string };
type ChatEvent = { event: string; data: unknown };

/** Setup steps must succeed; a failure stops the suite with the response. */
function must(response: { status: number; body: unknown }, status: number): void {
  if (response.status !== status) throw new Error(`setup: expected ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
}

/** The status of an MCP initialize on `/t/{slug}/mcp` (the body may be a stream, so it is not parsed). */
async function mcpStatus(node: string, slug: string, credential: string): Promise<number> {
  const response = await fetch(`${node}/t/${slug}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(INITIALIZE),
  });
  await response.body?.cancel();
  return response.status;
}

function parseEvents(text: string): ChatEvent[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(frame)?.[1] ?? '';
      return { event, data: data === '[DONE]' ? data : (JSON.parse(data) as unknown) };
    });
}

/**
 * Starts a chat turn and returns once its text is streaming: the events so far are read,
 * the rest of the stream is read in the background until it ends.
 */
async function startChat(node: string, key: string, bot: string): Promise<{ runId: string; conversationId: string; ended: Promise<ChatEvent[]> }> {
  const response = await fetch(`${node}/api/v1/bots/${bot}/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'Tell me a long story.' }),
  });
  if (response.status !== 200 || !response.body) throw new Error(`setup: chat answered ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('event: content\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`setup: the chat stream ended before any text: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  const started = /"run_id":"([^"]+)","conversation_id":"([^"]+)"/.exec(text);
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return parseEvents(text);
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { runId: started?.[1] ?? '', conversationId: started?.[2] ?? '', ended };
}

// Two gateway replicas on one PostgreSQL database. A tenant is used on node B (a listen stream, a
// bot run streaming, a remote upstream connection, OAuth tokens) and its owner deletes it through
// node A: B must let go of all of it, and of nothing of another tenant's.
describe.skipIf(!TEST_DATABASE_URL)('deleting a tenant through one gateway replica', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  let pool: Pool;
  let fake: FakeAnthropic;
  const upstreams = {} as Record<'gone' | 'stays', RecordingMcpServer>;
  const gateways: GatewayProcess[] = [];
  const dataDirs: string[] = [];
  const listeners: McpListener[] = [];
  const keys = {} as Record<'gone' | 'stays', string>;
  const tenantIds = {} as Record<'gone' | 'stays', string>;
  const oauth = {} as Record<'gone' | 'stays', { clientId: string; tokens: Tokens; grantIds: string[] }>;
  const listening = {} as Record<'gone' | 'stays', McpListener>;
  let chat: Awaited<ReturnType<typeof startChat>>;
  let nodeA: string;
  let nodeB: string;
  /** What B answered the deleted tenant's key right after A's 204. */
  const atOnce = { me: 0, mcp: 0, chat: 0 };

  /** An authorization code flow with PKCE for the tenant's aggregate endpoint, its steps spread over both nodes. */
  async function authorize(tenant: string): Promise<{ clientId: string; tokens: Tokens }> {
    const redirectUri = 'http://127.0.0.1:22100/cb';
    const registered = await fetch(`${nodeA}/oauth/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: `Client of ${tenant}`, redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', application_type: 'native' }),
    });
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${PUBLIC_URL}/oauth/auth`);
    for (const [name, value] of Object.entries({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'mcp offline_access',
      resource: `${PUBLIC_URL}/t/${tenant}/mcp`,
      state: tenant,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })) {
      url.searchParams.set(name, value);
    }
    const { code } = await approveInBrowser(new OAuthBrowser(PUBLIC_URL, [nodeA, nodeB]), url, { email: `owner@${tenant}.example`, password: PASSWORD });
    const exchanged = await token(nodeB, { grant_type: 'authorization_code', client_id: clientId, redirect_uri: redirectUri, code, code_verifier: verifier });
    if (exchanged.status !== 200) throw new Error(`setup: code exchange answered ${exchanged.status}`);
    return { clientId, tokens: (await exchanged.json()) as Tokens };
  }

  const token = (node: string, form: Record<string, string>) =>
    fetch(`${node}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });

  /** Rows of a table for a tenant, read as the owning role (past row-level security). */
  async function rowsOf(table: string, tenantId: string): Promise<number> {
    const { rows } = await pool.query<{ n: string }>(`select count(*)::text as n from ${table} where tenant_id = $1`, [tenantId]);
    return Number(rows[0]?.n ?? 0);
  }

  /** The stored OAuth models (grants, codes, tokens) of these grants. */
  async function oauthModelsOf(grantIds: string[]): Promise<string[]> {
    const { rows } = await pool.query<{ kind: string }>('select kind from oauth_models where id = any($1) or grant_id = any($1) order by kind', [grantIds]);
    return rows.map((row) => row.kind);
  }

  beforeAll(async () => {
    // Paced, so that a run is still streaming when the tenant goes: 250 deltas, 100 ms apart.
    fake = await startFakeAnthropic({ apiKey: API_KEY, deltaDelayMs: 100, respond: () => textReply('Once upon a time. '.repeat(55)) });
    // One upstream each: the streams each holds open are the connections of one tenant's source.
    upstreams.gone = await startRecordingMcpServer();
    upstreams.stays = await startRecordingMcpServer();
    database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    pool = testPool(database.url, 2);
    dataDirs.push(await makeDataDir(), await makeDataDir());
    const env = {
      BOTGATE_SECRET_KEY: randomBytes(32).toString('hex'),
      PUBLIC_URL,
      ANTHROPIC_API_KEY: API_KEY,
      ANTHROPIC_BASE_URL: fake.url,
      BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8',
    };
    // One after the other: the first migrates the database.
    for (const dataDir of dataDirs) gateways.push(await startGateway({ dataDir, databaseUrl: database.url, env }));
    [nodeA, nodeB] = gateways.map((gateway) => gateway.url) as [string, string];

    for (const [name, slug] of [
      ['gone', 'gone-co'],
      ['stays', 'stays-co'],
    ] as const) {
      const seeded = await seedTenant(dataDirs[0] ?? '', slug);
      keys[name] = seeded.key.secret;
      tenantIds[name] = seeded.tenant.id;
      const admin = apiClient(nodeA, keys[name]);
      must(await admin.post('/api/v1/servers', { json: { slug: 'up', kind: 'remote', config: { url: upstreams[name].url } } }), 201);
      must(await admin.post('/api/v1/bots', { json: { slug: 'storyteller', model: 'claude-sonnet-4-5', description: 'Tells stories.' } }), 201);
      oauth[name] = { ...(await authorize(slug)), grantIds: [] };
      const { rows } = await pool.query<{ grant_id: string }>('select grant_id from oauth_consents where tenant_id = $1', [tenantIds[name]]);
      oauth[name].grantIds = rows.map((row) => row.grant_id);
      if (oauth[name].grantIds.length !== 1) throw new Error(`setup: expected one consent for ${slug}`);

      // Node B uses the tenant's remote server: it holds a connection to the upstream, which listens to it.
      const client = await connectV2(`${nodeB}/t/${slug}/mcp`, keys[name]);
      const tools = await client.listToolNames();
      await client.close();
      if (!tools.includes('up__echo')) throw new Error(`setup: B lists ${tools.join(', ')}`);
      await pollUntil(`B's connection to the upstream of ${slug} to listen to it`, async () => (upstreams[name].openListenStreams === 1 ? true : undefined));
      listening[name] = await openListener(`${nodeB}/t/${slug}/mcp`, keys[name]);
      listeners.push(listening[name]);
    }
    chat = await startChat(nodeB, keys.gone, 'storyteller');

    const deleted = await apiClient(nodeA, keys.gone).delete('/api/v1/tenant', { json: { confirm: 'gone-co' } });
    must(deleted, 204);
    atOnce.me = (await apiClient(nodeB, keys.gone).get('/api/v1/me')).status;
    atOnce.mcp = await mcpStatus(nodeB, 'gone-co', keys.gone);
    atOnce.chat = (await apiClient(nodeB, keys.gone).post('/api/v1/bots/storyteller/chat', { json: { message: 'Still there?' } })).status;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(listeners.map((listener) => listener.close().catch(() => {})));
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await pool?.end();
    await database?.drop();
    await fake?.close();
    await Promise.all(Object.values(upstreams).map((upstream) => upstream.close()));
    await Promise.all(dataDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  it("refuses the deleted tenant's key on the other node at once", () => {
    expect(atOnce.me).toBe(401);
    expect([401, 404]).toContain(atOnce.mcp);
    expect(atOnce.chat).toBe(401);
  });

  it("ends the tenant's listen stream on the other node, and only that tenant's", async () => {
    let ended: string | undefined;
    void listening.gone.closed.then((how) => (ended = how));
    expect(await pollUntil('B to end the deleted tenant’s listen stream', async () => ended, { timeoutMs: 20_000 })).toBe('graceful');

    let staysClosed = false;
    void listening.stays.closed.then(() => (staysClosed = true));
    must(await apiClient(nodeA, keys.stays).post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } }), 201);
    await listening.stays.waitFor(TOOLS);
    expect(staysClosed).toBe(false);
  });

  it('ends the run streaming on the other node with an error, storing nothing of it', async () => {
    const events = await chat.ended;

    expect(events.filter((e) => e.event === 'error').map((e) => e.data)).toEqual([
      { code: 'run_failed', message: 'The run was stopped: its tenant was deleted. Nothing of this turn was saved.' },
    ]);
    expect(events.map((e) => e.event)).not.toContain('usage');
    expect(events.at(-1)).toEqual({ event: 'message', data: '[DONE]' });
    // The model call was cut off, not left to stream on.
    await pollUntil('the model stream to be cut off', async () => (fake.requests.some((r) => r.clientClosed) ? true : undefined));
    for (const table of ['conversations', 'conversation_messages', 'usage_records']) expect(await rowsOf(table, tenantIds.gone)).toBe(0);
    const { rows } = await pool.query('select 1 from usage_records where run_id = $1 union all select 1 from conversations where id = $2', [chat.runId, chat.conversationId]);
    expect(rows).toEqual([]);
  });

  it("closes the tenant's upstream connection on the other node, keeping the other tenant's", async () => {
    await pollUntil('B to close the deleted tenant’s upstream connection', async () => (upstreams.gone.openListenStreams === 0 ? true : undefined), { timeoutMs: 20_000 });
    expect(upstreams.stays.openListenStreams).toBe(1);

    const client = await connectV2(`${nodeB}/t/stays-co/mcp`, keys.stays);
    expect((await client.callTool('up__echo', { message: 'still here' })).content).toEqual([{ type: 'text', text: 'echo: still here' }]);
    await client.close();
  });

  it("destroys the tenant's OAuth grants with their tokens, and no other tenant's", async () => {
    expect(await oauthModelsOf(oauth.gone.grantIds)).toEqual([]);
    for (const node of [nodeA, nodeB]) {
      const refreshed = await token(node, { grant_type: 'refresh_token', client_id: oauth.gone.clientId, refresh_token: oauth.gone.tokens.refresh_token });
      expect(refreshed.status).toBe(400);
      expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
      expect((await postMcp(`${node}/t/gone-co/mcp`, oauth.gone.tokens.access_token)).status).toBe(401);
    }

    expect(await oauthModelsOf(oauth.stays.grantIds)).toEqual(expect.arrayContaining(['AccessToken', 'Grant', 'RefreshToken']));
    expect((await postMcp(`${nodeB}/t/stays-co/mcp`, oauth.stays.tokens.access_token)).status).toBe(200);
  });
});
