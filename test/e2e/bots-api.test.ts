import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, runCliJsonInProcess, type CliOptions } from '../support/cli.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type ApiResponse, type AuditEventJson, type ErrorBody } from '../support/http.ts';

interface BotJson {
  id: string;
  slug: string;
  name: string;
  description: string;
  model: string;
  priced: boolean;
  system_prompt: string;
  temperature: number | null;
  max_tokens: number;
  thinking_budget: number | null;
  servers: Array<{ slug: string; tools?: string[] }>;
  bots: string[];
  anthropic_api_key: 'set' | null;
  created_at: string;
  updated_at: string;
}

const API_KEY = 'sk-ant-restKeyThatMustNeverBeEchoed-0123';

function expectError(response: ApiResponse<unknown>, status: number, code: string): ErrorBody {
  const body = response.body as ErrorBody;
  expect({ status: response.status, code: body?.error?.code }).toEqual({ status, code });
  expect(body.requestId).toBe(response.requestId);
  return body;
}

describe('REST API and CLI: bots', () => {
  let gateway: GatewayProcess;
  let cli: CliOptions;
  const keys = {} as Record<'a' | 'b' | 'read', string>;

  const a = () => apiClient(gateway.url, keys.a);
  /** Everything about tenant A's bots a refused request might change. */
  async function stateOfA() {
    const bots = (await a().get<{ bots: BotJson[] }>('/api/v1/bots')).body.bots;
    const audit = (await a().get<{ events: AuditEventJson[] }>('/api/v1/audit?resource_type=bot&limit=200')).body.events;
    return { bots, audit: audit.map((e) => e.id) };
  }

  beforeAll(async () => {
    cli = { dataDir: await makeDataDir() };
    gateway = await startGateway({ dataDir: cli.dataDir });
    keys.a = (await seedTenant(cli.dataDir, 'bot-a')).key.secret;
    keys.b = (await seedTenant(cli.dataDir, 'bot-b')).key.secret;
    keys.read = (await operatorCommand<{ key: { secret: string } }>(cli.dataDir, 'key.create', { tenant: 'bot-a', name: 'reader', scopes: ['read'] })).key
      .secret;
    await a().post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } });
  });

  afterAll(async () => {
    await gateway?.stop();
    if (cli) await fs.rm(cli.dataDir, { recursive: true, force: true });
  });

  it('creates, lists, reads, updates and deletes a bot, never showing its Anthropic key', async () => {
    const created = await a().post<{ bot: BotJson }>('/api/v1/bots', {
      json: {
        slug: 'docs',
        name: 'Docs helper',
        description: 'Answers questions about the files server. Ask in plain English.',
        model: 'claude-haiku-4-5',
        system_prompt: 'Be brief.',
        temperature: 0.2,
        max_tokens: 1000,
        servers: [{ slug: 'files', tools: ['read_file'] }],
        anthropic_api_key: API_KEY,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.bot).toEqual({
      id: expect.any(String),
      slug: 'docs',
      name: 'Docs helper',
      description: 'Answers questions about the files server. Ask in plain English.',
      model: 'claude-haiku-4-5',
      priced: true,
      suggested_model: null,
      system_prompt: 'Be brief.',
      temperature: 0.2,
      max_tokens: 1000,
      thinking_budget: null,
      servers: [{ slug: 'files', tools: ['read_file'] }],
      bots: [],
      anthropic_api_key: 'set',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });

    const listed = await a().get<{ bots: BotJson[] }>('/api/v1/bots');
    expect(listed.body.bots).toEqual([created.body.bot]);
    expect((await a().get<{ bot: BotJson }>('/api/v1/bots/docs')).body.bot).toEqual(created.body.bot);

    const patched = await a().patch<{ bot: BotJson }>('/api/v1/bots/docs', { json: { model: 'claude-future-9', temperature: null } });
    expect(patched.status).toBe(200);
    expect(patched.body.bot).toMatchObject({ id: created.body.bot.id, model: 'claude-future-9', priced: false, suggested_model: null, temperature: null, anthropic_api_key: 'set' });
    // A misspelt model is accepted (the API may know models the table does not), and the priced one it is near is named.
    const misspelt = await a().patch<{ bot: BotJson }>('/api/v1/bots/docs', { json: { model: 'claude-sonet-4-5' } });
    expect(misspelt.body.bot).toMatchObject({ model: 'claude-sonet-4-5', priced: false, suggested_model: 'claude-sonnet-4-5' });

    // Extended thinking must fit in max_tokens and takes no temperature; refused changes leave the bot as it was.
    const thinking = (body: Record<string, unknown>) => a().patch('/api/v1/bots/docs', { json: body });
    expect(expectError(await thinking({ thinking_budget: 1024 }), 400, 'validation_failed').error.message).toBe('thinking_budget: must be less than max_tokens (1000)');
    expect(expectError(await thinking({ thinking_budget: 100 }), 400, 'validation_failed').error.message).toMatch(/^thinking_budget: must be at least 1024/);
    expect(expectError(await thinking({ thinking_budget: 2048, max_tokens: 4096, temperature: 0.5 }), 400, 'validation_failed').error.message).toMatch(/^temperature: must be null/);
    expect((await a().get<{ bot: BotJson }>('/api/v1/bots/docs')).body.bot).toMatchObject({ thinking_budget: null, max_tokens: 1000, temperature: null });
    expect((await thinking({ thinking_budget: 2048, max_tokens: 4096 })).body).toMatchObject({ bot: { thinking_budget: 2048, max_tokens: 4096 } });

    const refused = expectError(await a().patch('/api/v1/bots/docs', { json: { bots: ['docs'] } }), 400, 'validation_failed');
    expect(refused.error.message).toBe('bots.0: a bot cannot attach itself');
    expectError(await a().post('/api/v1/bots', { json: { slug: 'x', model: 'claude-haiku-4-5', description: 'd', max_tokens: 0 } }), 400, 'validation_failed');
    expectError(await a().post('/api/v1/bots', { json: { slug: 'x', model: 'claude-haiku-4-5', description: 'd', colour: 'red' } }), 400, 'validation_failed');
    expectError(await a().post('/api/v1/bots', { json: { slug: 'docs', model: 'claude-haiku-4-5', description: 'd' } }), 409, 'conflict');

    expect((await a().delete('/api/v1/bots/docs')).status).toBe(204);
    expectError(await a().get('/api/v1/bots/docs'), 404, 'not_found');

    const audit = await a().get<{ events: AuditEventJson[] }>('/api/v1/audit?resource_type=bot&limit=50');
    // The two model changes and the thinking change; refused changes left no event.
    expect(audit.body.events.map((e) => e.action)).toEqual(['bot.delete', 'bot.update', 'bot.update', 'bot.update', 'bot.create']);
    for (const response of [created, listed, patched, audit]) expect(JSON.stringify(response.body)).not.toContain(API_KEY);
  });

  it('lets a read-scoped key read bots but not change them', async () => {
    await a().post('/api/v1/bots', { json: { slug: 'kept', description: 'Kept for the read test.', model: 'claude-haiku-4-5' } });
    const before = await stateOfA();
    const reader = apiClient(gateway.url, keys.read);
    expect((await reader.get('/api/v1/bots')).status).toBe(200);
    expect((await reader.get('/api/v1/bots/kept')).status).toBe(200);
    const refused = expectError(await reader.post('/api/v1/bots', { json: { slug: 'r', description: 'd', model: 'claude-haiku-4-5' } }), 403, 'forbidden');
    expect(refused.error.message).toMatch(/admin/);
    expectError(await reader.patch('/api/v1/bots/kept', { json: { name: 'changed' } }), 403, 'forbidden');
    expectError(await reader.delete('/api/v1/bots/kept'), 403, 'forbidden');
    expect(await stateOfA()).toEqual(before);
  });

  it("answers 404 to another tenant's key for A's bots, and leaves them as they were", async () => {
    await a().post('/api/v1/bots', { json: { slug: 'private', description: 'Tenant A only.', model: 'claude-haiku-4-5', anthropic_api_key: API_KEY } });
    const before = await stateOfA();
    const b = apiClient(gateway.url, keys.b);
    for (const response of [
      await b.get('/api/v1/bots/private'),
      await b.patch('/api/v1/bots/private', { json: { system_prompt: 'Leak everything.' } }),
      await b.delete('/api/v1/bots/private'),
      await b.get('/api/v1/bots/no-such-bot'),
    ]) {
      expect(expectError(response, 404, 'not_found').error.message).toBe('bot not found');
    }
    // Nor can B attach A's bot or server to one of its own.
    const attach = await b.post('/api/v1/bots', { json: { slug: 'thief', description: 'd', model: 'claude-haiku-4-5', bots: ['private'] } });
    expect(expectError(attach, 400, 'validation_failed').error.message).toBe('bots.0: no bot "private" in this tenant');
    expect((await b.get<{ bots: BotJson[] }>('/api/v1/bots')).body.bots).toEqual([]);
    expect(await stateOfA()).toEqual(before);
  });

  it('creates and lists bots with the CLI', async () => {
    const created = await runCliJsonInProcess<{ bot: BotJson; tenant: string; can_answer: boolean }>(
      [
        'bot', 'create', '--tenant', 'bot-a', '--slug', 'cli-bot', '--model', 'claude-sonnet-4-5', '--system', 'You help.',
        '--description', 'Delegates file questions to the kept bot.', '--servers', 'files', '--bots', 'kept',
        '--max-tokens', '8000', '--thinking-budget', '2048',
      ],
      cli,
    );
    expect(created).toEqual({
      tenant: 'bot-a',
      bot: expect.objectContaining({
        slug: 'cli-bot',
        name: 'cli-bot',
        model: 'claude-sonnet-4-5',
        priced: true,
        system_prompt: 'You help.',
        servers: [{ slug: 'files' }],
        bots: ['kept'],
        max_tokens: 8000,
        thinking_budget: 2048,
        anthropic_api_key: null,
      }),
      // Neither the bot nor the gateway here has an Anthropic key.
      can_answer: false,
    });
    // A budget that is not a number, or one the service refuses, exits non-zero naming it, and creates nothing.
    const notNumber = await runCliInProcess(['bot', 'create', '--tenant', 'bot-a', '--slug', 'x1', '--model', 'claude-haiku-4-5', '--system', 's', '--description', 'd', '--thinking-budget', 'lots'], cli);
    expect(notNumber).toMatchObject({ code: 2, stderr: expect.stringContaining('--thinking-budget takes a whole number') as unknown });
    const tooBig = await runCliInProcess(['bot', 'create', '--tenant', 'bot-a', '--slug', 'x2', '--model', 'claude-haiku-4-5', '--system', 's', '--description', 'd', '--thinking-budget', '5000'], cli);
    expect(tooBig).toMatchObject({ code: 1, stderr: expect.stringContaining('--thinking-budget: must be less than --max-tokens (4096)') as unknown });
    // --temperature reaches the service as bot update's does.
    const base = ['bot', 'create', '--tenant', 'bot-a', '--model', 'claude-haiku-4-5', '--system', 's', '--description', 'd'];
    const warmThinking = await runCliInProcess([...base, '--slug', 'x3', '--temperature', '0.3', '--thinking-budget', '1024'], cli);
    expect(warmThinking).toMatchObject({ code: 1, stderr: expect.stringContaining('--temperature: must be null while --thinking-budget is set') as unknown });
    const notTemperature = await runCliInProcess([...base, '--slug', 'x4', '--temperature', 'warm'], cli);
    expect(notTemperature).toMatchObject({ code: 2, stderr: expect.stringContaining('--temperature takes a number from 0 to 1') as unknown });
    const listed = await runCliJsonInProcess<{ bots: BotJson[]; tenant: string }>(['bot', 'list', '--tenant', 'bot-a'], cli);
    expect(listed.bots.map((b) => b.slug)).toEqual(['cli-bot', 'kept', 'private']);
    expect(listed.bots[0]).toEqual(created.bot);

    const unpriced = await runCliInProcess(
      ['bot', 'create', '--tenant', 'bot-a', '--slug', 'future', '--model', 'claude-future-9', '--system', '', '--description', 'Tries a new model.'],
      cli,
    );
    expect(unpriced.code).toBe(0);
    // Neither the bot nor the gateway has an Anthropic key: the CLI says so on stderr, and the bot is created.
    expect(unpriced.stderr).toMatch(/^botgate: warning: bot future cannot answer: it has no Anthropic API key of its own, and the gateway has no ANTHROPIC_API_KEY/);
    expect(unpriced.stdout).toMatch(/^created bot future \([0-9a-f-]{36}\) in bot-a using claude-future-9\nwarning: claude-future-9 is not in the price table/);
    const text = await runCliInProcess(['bot', 'list', '--tenant', 'bot-a'], cli);
    expect(text.stdout).toContain('cli-bot\tclaude-sonnet-4-5\tfiles\tkept\n');
    expect(text.stdout).toContain('future\tclaude-future-9 (unpriced)\t\t\n');

    const refused = await runCliInProcess(['bot', 'create', '--tenant', 'bot-a', '--slug', 'lonely', '--model', 'claude-haiku-4-5', '--system', 'x'], cli);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^botgate: --description: required/);
    expect((await runCliJsonInProcess<{ bots: BotJson[] }>(['bot', 'list', '--tenant', 'bot-a'], cli)).bots).toHaveLength(4);
  });
});
