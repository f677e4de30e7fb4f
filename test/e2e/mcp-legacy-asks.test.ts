import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
  type ClientCapabilities,
  type CreateMessageResult,
  type ElicitRequest,
} from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startEverything, stopEverything } from '../support/everything-server.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { connectV1 } from '../support/mcp-clients.ts';
import { postToolCall } from '../support/raw-tool-call.ts';

const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');

interface InputRequiredJson {
  result: { resultType: string; inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>; requestState?: string };
}

/** A v2 client (2026-07-28 with the gateway) that declares `capabilities` and answers questions as given. */
async function connectAnswering(url: string, key: string, capabilities: ClientCapabilities) {
  const asked: Array<{ method: string; params: unknown }> = [];
  const client = new V2Client({ name: 'e2e-legacy-asks', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities });
  if (capabilities.elicitation) {
    client.setRequestHandler('elicitation/create', (request: ElicitRequest) => {
      asked.push({ method: request.method, params: request.params });
      // A URL is opened, not filled in: its acceptance carries no content.
      return request.params.mode === 'url' ? { action: 'accept' } : { action: 'accept', content: { name: 'Ada Lovelace', check: true } };
    });
  }
  if (capabilities.sampling) {
    client.setRequestHandler('sampling/createMessage', (request): CreateMessageResult => {
      asked.push({ method: request.method, params: request.params });
      return { role: 'assistant', content: { type: 'text', text: 'sampled by the client' }, model: 'client-model', stopReason: 'endTurn' };
    });
  }
  await client.connect(new V2Transport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return { client, asked };
}

describe('a 2025-era upstream asking the client for input during a tool call, through the gateway', () => {
  let upstream: ChildProcess | undefined;
  let gateway: GatewayProcess | undefined;
  let dataDir: string;
  let key: string;
  let otherKey: string;
  const serverUrl = () => `${gateway!.url}/t/acme/mcp/servers/everything`;

  beforeAll(async () => {
    const port = await freePort();
    dataDir = await makeDataDir();
    [upstream, gateway] = await Promise.all([
      startEverything(port),
      startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } }),
    ]);
    key = (await seedTenant(dataDir, 'acme')).key.secret;
    otherKey = (await seedTenant(dataDir, 'other')).key.secret;
    for (const tenant of ['acme', 'other']) {
      await operatorCommand(dataDir, 'server.create', { tenant, slug: 'everything', kind: 'remote', config: { url: `http://127.0.0.1:${port}/mcp` } });
    }
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), stopEverything(upstream)]);
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('passes an elicitation to a 2026-07-28 client and its answer back, on the server endpoint and the aggregate', async () => {
    for (const [url, tool] of [
      [serverUrl(), 'trigger-elicitation-request'],
      [`${gateway!.url}/t/acme/mcp`, 'everything__trigger-elicitation-request'],
    ] as const) {
      const { client, asked } = await connectAnswering(url, key, { elicitation: { form: {} } });
      try {
        const result = await client.callTool({ name: tool, arguments: {} });

        expect(result.isError).toBeFalsy();
        expect(textOf(result)).toContain('User provided the requested information');
        expect(textOf(result)).toContain('- Name: Ada Lovelace');
        const question = { method: 'elicitation/create', params: expect.objectContaining({ message: 'Please provide inputs for the following fields:' }) };
        expect(asked).toEqual([question]);
      } finally {
        await client.close();
      }
    }
  });

  it('passes a URL elicitation only to a client that declared URL elicitation', async () => {
    const url = { arguments: { url: 'https://consent.example/flow', message: 'Approve the export' } };
    const urlClient = await connectAnswering(serverUrl(), key, { elicitation: { url: {} } });
    const formClient = await connectAnswering(serverUrl(), key, { elicitation: { form: {} } });
    try {
      const opened = await urlClient.client.callTool({ name: 'trigger-url-elicitation', ...url });
      const refused = await formClient.client.callTool({ name: 'trigger-url-elicitation', ...url });

      expect(textOf(opened)).toContain('User completed the URL elicitation flow');
      expect(urlClient.asked).toEqual([
        { method: 'elicitation/create', params: expect.objectContaining({ mode: 'url', url: 'https://consent.example/flow', message: 'Approve the export' }) },
      ]);
      expect(refused.isError).toBe(true);
      expect(formClient.asked).toEqual([]);
    } finally {
      await urlClient.client.close();
      await formClient.client.close();
    }
  });

  it('passes a sampling request to a client that declared sampling, and its completion back', async () => {
    const { client, asked } = await connectAnswering(serverUrl(), key, { sampling: {} });
    try {
      const result = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'say hi', maxTokens: 20 } });

      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toContain('sampled by the client');
      expect(asked).toEqual([{ method: 'sampling/createMessage', params: expect.objectContaining({ maxTokens: 20 }) }]);
    } finally {
      await client.close();
    }
  });

  it('refuses the question for a client that cannot answer it, as the upstream would be refused by it directly', async () => {
    const { client, asked } = await connectAnswering(serverUrl(), key, { sampling: {} });
    const v1 = await connectV1(serverUrl(), key);
    try {
      const v2Result = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      const v1Result = await v1.callTool('trigger-elicitation-request', {});

      expect(v2Result.isError).toBe(true);
      expect(textOf(v2Result)).toMatch(/Method not found/);
      expect(v1Result.isError).toBe(true);
      expect(asked).toEqual([]);
    } finally {
      await client.close();
      await v1.close();
    }
  });

  it('holds the call between the question and the retry, asks again for a missing answer, and refuses a state it does not hold or another caller’s', async () => {
    const capabilities = { elicitation: { form: {} } };
    // Each round names itself, so its audit event can be told from other tests'.
    const round = (n: number) => ({ 'x-request-id': `legacy-asks-round-${n}` });
    /** One round of the call: `params` carry a retry's answers and state. */
    const post = (n: number, params?: Record<string, unknown>) =>
      postToolCall({ url: serverUrl(), key, name: 'trigger-elicitation-request', capabilities, headers: round(n), ...(params && { params }) });
    const first = await post(1);
    const asking = (first.json as InputRequiredJson).result;
    expect(asking.resultType).toBe('input_required');
    expect(Object.values(asking.inputRequests ?? {})).toEqual([
      { method: 'elicitation/create', params: expect.objectContaining({ message: 'Please provide inputs for the following fields:' }) },
    ]);
    const [questionKey] = Object.keys(asking.inputRequests ?? {});

    // A retry without the answer gets the same question again, under a new state; the old one is spent.
    const unanswered = await post(2, { requestState: asking.requestState, inputResponses: {} });
    const again = (unanswered.json as InputRequiredJson).result;
    expect(again.resultType).toBe('input_required');
    expect(Object.keys(again.inputRequests ?? {})).toEqual([questionKey]);
    expect(again.requestState).not.toBe(asking.requestState);

    const spent = await post(3, { requestState: asking.requestState, inputResponses: {} });
    const forged = await post(4, { requestState: 'forged-state', inputResponses: {} });
    for (const refused of [spent, forged]) {
      const result = (refused.json as { result: { isError?: boolean; content: unknown[] } }).result;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/no longer holds.*Call the tool again/);
    }

    // Another tenant holding the state cannot answer for this one: its server holds no such call, and the call waits on.
    const stolen = await postToolCall({
      url: `${gateway!.url}/t/other/mcp/servers/everything`,
      key: otherKey,
      name: 'trigger-elicitation-request',
      capabilities,
      params: { requestState: again.requestState, inputResponses: { [questionKey!]: { action: 'accept', content: { name: 'Mallory' } } } },
    });
    expect(textOf((stolen.json as { result: { content: unknown[] } }).result)).toMatch(/no longer holds/);

    // Nor can another key of the same tenant: only the caller who was asked answers.
    const colleague = await apiClient(gateway!.url, key).post<{ key: { secret: string } }>('/api/v1/keys', { json: { name: 'colleague', scopes: ['mcp'] } });
    const impersonated = await postToolCall({
      url: serverUrl(),
      key: colleague.body.key.secret,
      name: 'trigger-elicitation-request',
      capabilities,
      params: { requestState: again.requestState, inputResponses: { [questionKey!]: { action: 'accept', content: { name: 'Mallory' } } } },
    });
    expect(textOf((impersonated.json as { result: { content: unknown[] } }).result)).toMatch(/no longer holds/);

    const answered = await post(5, { requestState: again.requestState, inputResponses: { [questionKey!]: { action: 'decline' } } });
    const done = (answered.json as { result: { isError?: boolean; content: unknown[] } }).result;
    expect(done.isError).toBeFalsy();
    expect(textOf(done)).toContain('User declined to provide the requested information');

    // Each round is a call of its own in the trail, newest first; audit events are written in batches.
    const events = await pollUntil('the rounds’ audit events', async () => {
      const all = (await apiClient(gateway!.url, key).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100')).body.events;
      const mine = all.filter((event) => event.request_id?.startsWith('legacy-asks-round-'));
      return mine.length === 5 ? mine : undefined;
    });
    const rounds = events.map((event) => {
      const after = event.after as { outcome?: string; input_responses?: string[] };
      return [after.outcome, after.input_responses ?? null];
    });
    expect(rounds).toEqual([
      ['ok', [questionKey]],
      ['tool_error', []],
      ['tool_error', []],
      ['input_required', []],
      ['input_required', null],
    ]);
  });
});
