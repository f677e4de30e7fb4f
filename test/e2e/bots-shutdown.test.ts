import fs from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { messageEvents, sseReply, startFakeAnthropic, textReply, type FakeAnthropic, type FakeReply } from '../fakes/anthropic.ts';
import { connectFullV2 } from '../support/mcp-full-clients.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, seedTenant } from '../support/http.ts';

const API_KEY = 'sk-ant-e2e-operator-key';

interface UsageJson {
  total: { calls: number };
}

/** An answer whose stream stops after its first words and goes on only after the test is over. */
function stalledReply(): FakeReply {
  const events = messageEvents(textReply('This answer never finishes.', { input_tokens: 33, output_tokens: 9 }));
  const cut = events.findIndex((step) => 'event' in step && step.event === 'content_block_delta');
  return sseReply([...events.slice(0, cut + 1), { stallMs: 120_000 }, ...events.slice(cut + 1)]);
}

describe('bot runs across a clean shutdown', () => {
  const gateways: GatewayProcess[] = [];
  let fake: FakeAnthropic | undefined;
  let dataDir: string | undefined;

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await fake?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('tells a chat and an MCP ask still running that the gateway is shutting down, meters their model calls, and exits 0', async () => {
    fake = await startFakeAnthropic({ apiKey: API_KEY });
    dataDir = await makeDataDir();
    const env = { ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fake.url };
    const first = await startGateway({ dataDir, env });
    gateways.push(first);
    const { key } = await seedTenant(dataDir, 'closing');
    const created = await apiClient(first.url, key.secret).post('/api/v1/bots', {
      json: { slug: 'storyteller', model: 'claude-sonnet-4-5', description: 'Tells long stories.', system_prompt: 'You tell stories.' },
    });
    expect(created.status).toBe(201);
    fake.script(stalledReply(), stalledReply());

    const chat = await fetch(`${first.url}/api/v1/bots/storyteller/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Tell me a long story.' }),
    });
    // What the caller got, or how its stream broke.
    const chatText = chat.text().catch((error: unknown) => `broken: ${String(error)}`);
    const client = await connectFullV2(`${first.url}/t/closing/mcp/bots/storyteller`, key.secret);
    const asked = client.callTool('ask', { message: 'Tell me another long story.' }).then(
      (result) => ({ isError: result.isError, text: result.content[0]?.type === 'text' ? result.content[0].text : '' }),
      (error: unknown) => ({ broken: String(error) }),
    );
    // Both runs are in their model call, its answer stalled halfway.
    await pollUntil('both model calls to start', async () => (fake?.requests.length === 2 ? true : undefined));

    const exit = await first.stop(60_000);
    const [chatStream, askResult] = await Promise.all([chatText, asked]);
    await client.close();
    // A second gateway on the same data reads what the first one kept.
    const second = await startGateway({ dataDir, env });
    gateways.push(second);
    const usage = await apiClient(second.url, key.secret).get<UsageJson>('/api/v1/usage?group_by=bot');

    // The chat's last event before [DONE].
    const chatError = /event: error\ndata: (.*)\n\ndata: \[DONE\]\n\n$/.exec(chatStream)?.[1];
    const stopped = 'The run was stopped: the gateway is shutting down. Nothing of this turn was saved; ask again in a moment.';
    expect({ exit, meteredCalls: usage.body.total.calls, chatError: chatError && (JSON.parse(chatError) as unknown), askResult }).toEqual({
      exit: { code: 0, signal: null },
      meteredCalls: 2,
      chatError: { code: 'run_failed', message: stopped },
      askResult: { isError: true, text: stopped },
    });
    expect(chatStream).toContain('event: content\n');
  }, 120_000);
});
