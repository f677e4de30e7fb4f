import fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, textReply, type FakeAnthropic } from '../fakes/anthropic.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, request, seedTenant } from '../support/http.ts';
import { connectV2 } from '../support/mcp-clients.ts';

const API_KEY = 'sk-ant-e2e-metrics-key';
const METRICS_TOKEN = randomBytes(32).toString('hex');

/** Prometheus text exposition as `name{label="value",...}` (labels sorted) → value; comments left out. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const [, name = '', labels = '', value = ''] = match;
    const pairs = [...labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(pairs.length > 0 ? `${name}{${pairs.join(',')}}` : name, Number(value));
  }
  return samples;
}

/** The key `parseExposition` gives a sample. */
const sample = (name: string, labels: Record<string, string> = {}) => {
  const pairs = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  return pairs.length > 0 ? `${name}{${pairs.join(',')}}` : name;
};

describe('/metrics', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let fake: FakeAnthropic;
  let key: string;
  const tenant = 'metered';

  async function scrape(): Promise<{ text: string; samples: Map<string, number> }> {
    const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    return { text, samples: parseExposition(text) };
  }

  /** How much each sample grew while `action` ran. */
  async function growthDuring(action: () => Promise<void>): Promise<{ grew: (key: string) => number; text: string }> {
    const before = (await scrape()).samples;
    await action();
    const after = await scrape();
    return { grew: (k) => (after.samples.get(k) ?? 0) - (before.get(k) ?? 0), text: after.text };
  }

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: API_KEY });
    dataDir = await makeDataDir();
    gateway = await startGateway({
      dataDir,
      env: { BOTGATE_METRICS_TOKEN: METRICS_TOKEN, ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fake.url },
    });
    key = (await seedTenant(dataDir, tenant)).key.secret;
    const admin = apiClient(gateway.url, key);
    for (const [path, json] of [
      ['/api/v1/servers', { slug: 'files', kind: 'filesystem' }],
      ['/api/v1/bots', { slug: 'helper', model: 'claude-sonnet-4-5', description: 'Answers questions.', system_prompt: 'Be brief.' }],
      ['/api/v1/bots', { slug: 'mystery', model: 'claude-made-up-9', description: 'A model nobody prices.', system_prompt: 'Be brief.' }],
    ] as const) {
      const created = await admin.post(path, { json });
      if (created.status !== 201) throw new Error(`setup: ${path} answered ${created.status}: ${JSON.stringify(created.body)}`);
    }
  });

  afterAll(async () => {
    await gateway?.stop();
    await fake?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a scraper without the token, or with another, and tells it how to authenticate', async () => {
    for (const authorization of [undefined, `Bearer ${METRICS_TOKEN.slice(0, -1)}`, `Bearer ${key}`]) {
      const response = await request(gateway.url, 'GET', '/metrics', { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(response.body).toMatchObject({ error: { code: 'unauthorized', message: expect.stringContaining('BOTGATE_METRICS_TOKEN') } });
      expect(JSON.stringify(response.body)).not.toContain('botgate_');
    }
  });

  it('counts requests by method, route pattern and status, never by a path or tenant a client chose', async () => {
    const probe = `no-such-page-${randomBytes(6).toString('hex')}`;
    const { grew, text } = await growthDuring(async () => {
      expect((await request(gateway.url, 'GET', '/api/v1/me', { key })).status).toBe(200);
      expect((await request(gateway.url, 'GET', '/api/v1/keys/00000000-0000-4000-8000-000000000000', { key })).status).toBe(404);
      expect((await request(gateway.url, 'GET', `/${probe}`)).status).toBe(404);
      expect((await request(gateway.url, 'GET', '/api/v1/me')).status).toBe(401);
      expect((await request(gateway.url, 'GET', '/.well-known/oauth-authorization-server')).status).toBe(200);
      expect((await request(gateway.url, 'GET', '/oauth/jwks')).status).toBe(200);
    });
    expect(grew(sample('botgate_http_requests_total', { method: 'GET', route: '/api/v1/me', status: '200' }))).toBe(1);
    expect(grew(sample('botgate_http_requests_total', { method: 'GET', route: '/api/v1/keys/:id', status: '404' }))).toBe(1);
    expect(grew(sample('botgate_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }))).toBe(1);
    // Refused before any route took it: the credential check runs for the whole API.
    expect(grew(sample('botgate_http_requests_total', { method: 'GET', route: 'unmatched', status: '401' }))).toBe(1);
    expect(grew(sample('botgate_http_requests_total', { method: 'GET', route: '/.well-known/oauth-authorization-server', status: '200' }))).toBe(1);
    // The OAuth server routes its own requests: they count by its prefix.
    expect(grew(sample('botgate_http_requests_total', { method: 'GET', route: '/oauth/*', status: '200' }))).toBe(1);
    expect(grew(sample('botgate_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/me' }))).toBe(1);
    for (const secret of [probe, tenant, key]) expect(text).not.toContain(secret);
  });

  it('counts tool calls by server kind and outcome, and times them', async () => {
    const { grew, text } = await growthDuring(async () => {
      const client = await connectV2(`${gateway.url}/t/${tenant}/mcp/servers/files`, key);
      try {
        expect((await client.callTool('write_file', { path: 'a.txt', content: 'counted' })).isError ?? false).toBe(false);
        expect((await client.callTool('read_file', { path: 'missing.txt' })).isError).toBe(true);
      } finally {
        await client.close();
      }
    });
    expect(grew(sample('botgate_tool_calls_total', { kind: 'filesystem', outcome: 'ok' }))).toBe(1);
    expect(grew(sample('botgate_tool_calls_total', { kind: 'filesystem', outcome: 'tool_error' }))).toBe(1);
    expect(grew(sample('botgate_tool_call_duration_seconds_count', { kind: 'filesystem', outcome: 'ok' }))).toBe(1);
    expect(grew(sample('botgate_http_requests_total', { method: 'POST', route: '/t/:tenant/mcp/servers/:server', status: '200' }))).toBeGreaterThanOrEqual(2);
    expect(text).not.toContain('a.txt');
    expect(text).not.toContain(tenant);
  });

  it("counts bots' model calls, tokens and dollars by priced model, and unpriced models as one", async () => {
    fake.script(textReply('Friday.', { input_tokens: 100, output_tokens: 20 }), textReply('Maybe.', { input_tokens: 7, output_tokens: 3 }));
    const { grew, text } = await growthDuring(async () => {
      for (const bot of ['helper', 'mystery']) {
        const client = await connectV2(`${gateway.url}/t/${tenant}/mcp/bots/${bot}`, key);
        try {
          expect((await client.callTool('ask', { message: 'When is the launch?' })).isError ?? false).toBe(false);
        } finally {
          await client.close();
        }
      }
    });
    expect(grew(sample('botgate_model_calls_total', { model: 'claude-sonnet-4-5', outcome: 'ok' }))).toBe(1);
    expect(grew(sample('botgate_model_tokens_total', { model: 'claude-sonnet-4-5', type: 'input' }))).toBe(100);
    expect(grew(sample('botgate_model_tokens_total', { model: 'claude-sonnet-4-5', type: 'output' }))).toBe(20);
    // claude-sonnet-4-5 at $3 input and $15 output per million tokens (prices.json).
    expect(grew(sample('botgate_model_cost_usd_total', { model: 'claude-sonnet-4-5' }))).toBeCloseTo(0.0006, 10);
    expect(grew(sample('botgate_model_calls_total', { model: 'unpriced', outcome: 'ok' }))).toBe(1);
    expect(grew(sample('botgate_model_tokens_total', { model: 'unpriced', type: 'input' }))).toBe(7);
    expect(text).not.toContain('claude-made-up-9');
    expect(grew(sample('botgate_tool_calls_total', { kind: 'bot', outcome: 'ok' }))).toBe(2);
  });

  it("reports the audit queue and the process's own figures", async () => {
    const { samples } = await scrape();
    expect(samples.get('botgate_audit_events_pending')).toBeGreaterThanOrEqual(0);
    expect(samples.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(samples.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });
});

describe('/metrics without BOTGATE_METRICS_TOKEN', () => {
  let gateway: GatewayProcess;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir });
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('is off: nothing is served, whatever is presented', async () => {
    for (const headers of [{}, { authorization: 'Bearer anything-at-all-that-is-long-enough-000000' }] as Array<Record<string, string>>) {
      const response = await request(gateway.url, 'GET', '/metrics', { headers });
      expect(response.status).toBe(404);
      expect(response.body).toMatchObject({ error: { code: 'not_found', message: 'metrics are off: set BOTGATE_METRICS_TOKEN to serve them to a scraper' } });
    }
  });
});
