import { Client as V2Client, StreamableHTTPClientTransport as V2Transport, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordingMcpServer } from '../fakes/recording-mcp-server.ts';
import { pollUntil, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, type AuditEventJson } from '../support/http.ts';
import { connectV1 } from '../support/mcp-clients.ts';
import { postLegacyToolCall, postToolCall, type RawCall } from '../support/raw-tool-call.ts';
import { startRecordedGateway, type RecordedGateway } from '../support/recorded-gateway.ts';

const ELICITATION = { elicitation: { form: {} } };
const CONFIRM_SCHEMA = { type: 'object', properties: { sure: { type: 'boolean' } }, required: ['sure'] };

/**
 * A v2 client (auto) that declares form elicitation and answers every request
 * for input with `answer` (or what it gives for the request), keeping what it was asked.
 */
async function connectAnswering(
  url: string,
  key: string,
  answer: ElicitResult | ((params: ElicitRequest['params']) => ElicitResult),
): Promise<{ client: V2Client; asked: ElicitRequest['params'][] }> {
  const asked: ElicitRequest['params'][] = [];
  const client = new V2Client({ name: 'e2e-asked', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities: ELICITATION });
  client.setRequestHandler('elicitation/create', (request) => {
    asked.push(request.params);
    return typeof answer === 'function' ? answer(request.params) : answer;
  });
  await client.connect(new V2Transport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return { client, asked };
}

const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');

describe('a 2026-07-28 upstream asking the client for input (input_required) through the gateway', () => {
  let setup: RecordedGateway | undefined;
  let gateway: GatewayProcess;
  let upstream: RecordingMcpServer;
  let key: string;

  beforeAll(async () => {
    setup = await startRecordedGateway();
    ({ gateway, upstream, key } = setup);
  });

  afterAll(() => setup?.stop());

  it('passes the question to a v2 client and its answer back, on the aggregate and the single-server endpoint', async () => {
    for (const [endpoint, tool] of [
      ['/t/acme/mcp', 'rec__delete-file'],
      ['/t/acme/mcp/servers/rec', 'delete-file'],
    ] as const) {
      const { client, asked } = await connectAnswering(`${gateway.url}${endpoint}`, key, { action: 'accept', content: { sure: true } });
      try {
        const result = await client.callTool({ name: tool, arguments: { path: '/srv/a.txt' } });
        expect(result).toMatchObject({ content: [{ type: 'text', text: 'deleted /srv/a.txt' }] });
        expect(result.isError).toBeFalsy();
        expect(asked).toEqual([{ mode: 'form', message: 'Delete /srv/a.txt?', requestedSchema: CONFIRM_SCHEMA }]);
      } finally {
        await client.close();
      }
    }
  });

  it('passes a declined answer back as declined: the upstream keeps the file', async () => {
    const { client, asked } = await connectAnswering(`${gateway.url}/t/acme/mcp`, key, { action: 'decline' });
    try {
      const result = await client.callTool({ name: 'rec__delete-file', arguments: { path: '/srv/b.txt' } });
      expect(textOf(result)).toBe('kept /srv/b.txt (decline)');
      expect(asked).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('passes questions of prompts/get and resources/read through too, under the aggregate’s names', async () => {
    const answers: Record<string, ElicitResult> = {
      'Sign off as?': { action: 'accept', content: { name: 'Ada' } },
      'Show the private note?': { action: 'accept', content: {} },
    };
    const { client, asked } = await connectAnswering(`${gateway.url}/t/acme/mcp`, key, (params) => answers[params.message] ?? { action: 'cancel' });
    try {
      expect((await client.getPrompt({ name: 'rec__sign-off' })).messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Signed off by Ada' } }]);
      expect((await client.readResource({ uri: 'botgate://rec/note://private' })).contents).toEqual([
        { uri: 'botgate://rec/note://private', mimeType: 'text/plain', text: 'the private note' },
      ]);
      expect(asked.map((params) => params.message)).toEqual(['Sign off as?', 'Show the private note?']);
    } finally {
      await client.close();
    }
  });

  it('gives a 2025-era client, which cannot be asked, a tool error that says why', async () => {
    const client = await connectV1(`${gateway.url}/t/acme/mcp`, key);
    try {
      const result = await client.callTool('rec__delete-file', { path: '/srv/c.txt' });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/elicitation\/create.*capabilit/);
    } finally {
      await client.close();
    }
  });

  it('brings a 2025-era client’s call that the upstream asks only to come back with its state to its result', async () => {
    const client = await connectV1(`${gateway.url}/t/acme/mcp`, key);
    try {
      expect(textOf(await client.callTool('rec__settle', {}))).toBe('settled');
    } finally {
      await client.close();
    }
    // Asked for progress, it streams the progress, then the result, as the SDK's 2025-era path does.
    const call = { url: `${gateway.url}/t/acme/mcp`, key, name: 'rec__settle', progress: true };
    const direct = await postLegacyToolCall(call);
    expect(direct.messages).toEqual([
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'progress-1', progress: 1, message: 'settling' } },
      { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'settled' }] } },
    ]);
    expect(direct.messages).toEqual((await postLegacyToolCall({ ...call, chunked: true })).messages);
  });

  it('calls a 2025-era client’s tool again as many times as the SDK’s path would, and no more', async () => {
    const call = (rounds: number, chunked = false) =>
      postLegacyToolCall({ url: `${gateway.url}/t/acme/mcp/servers/rec`, key, name: 'settle-after', args: { rounds }, chunked });
    expect((await call(8)).json).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'settled after 8' }] } });
    const [direct, viaSdk] = await Promise.all([call(9), call(9, true)]);
    expect(direct.json).toMatchObject({ result: { isError: true, content: [{ text: 'The tool settle-after still asked to be called again after 8 rounds.' }] } });
    expect(viaSdk.json).toMatchObject({ result: { isError: true, content: [{ text: expect.stringMatching(/after 8 rounds/) }] } });
  });

  it('gives a 2025-era client whose call asks for input after progress a tool error that says why, as without progress', async () => {
    const answer = await postLegacyToolCall({ url: `${gateway.url}/t/acme/mcp`, key, name: 'rec__delete-file', args: { path: '/srv/p.txt' }, progress: true });
    expect(answer.messages[0]).toMatchObject({ method: 'notifications/progress', params: { message: 'found it' } });
    expect(answer.json).toMatchObject({ id: 7, result: { isError: true, content: [{ type: 'text', text: expect.stringMatching(/elicitation\/create.*capabilit/) }] } });
  });

  it('audits each round: the question asked, then the answered retry with the keys of its answers', async () => {
    const { client } = await connectAnswering(`${gateway.url}/t/acme/mcp/servers/rec`, key, { action: 'accept', content: { sure: true } });
    try {
      await client.callTool({ name: 'delete-file', arguments: { path: '/srv/audited.txt' } });
    } finally {
      await client.close();
    }
    type Round = { tool: string; arguments: { path?: string }; outcome: string; input_responses?: string[] };
    // Audit events are written in batches, shortly after the calls.
    const rounds = await pollUntil('both rounds to be audited', async () => {
      const events = (await apiClient(gateway.url, key).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=200')).body.events;
      const found = events.map((event) => event.after as Round).filter((after) => after.arguments.path === '/srv/audited.txt');
      return found.length === 2 ? found.reverse() : undefined;
    });
    expect(rounds.map(({ tool, outcome, input_responses }) => ({ tool, outcome, input_responses }))).toEqual([
      { tool: 'delete-file', outcome: 'input_required', input_responses: undefined },
      { tool: 'delete-file', outcome: 'ok', input_responses: ['confirm'] },
    ]);
  });

  it('audits no more than 32 of a retry’s answer keys, however many it sends', async () => {
    const answers = Object.fromEntries([['confirm', { action: 'accept', content: { sure: true } }], ...Array.from({ length: 99 }, (_, i) => [`extra-${i}`, { action: 'decline' }])]);
    const retry = await postToolCall({
      url: `${gateway.url}/t/acme/mcp/servers/rec`,
      key,
      name: 'delete-file',
      args: { path: '/srv/many.txt' },
      capabilities: ELICITATION,
      params: { inputResponses: answers, requestState: 'delete:/srv/many.txt' },
    });
    expect(retry.json).toMatchObject({ result: { content: [{ type: 'text', text: 'deleted /srv/many.txt' }] } });
    const audited = await pollUntil('the retry to be audited', async () => {
      const events = (await apiClient(gateway.url, key).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=200')).body.events;
      return events.map((event) => event.after as { arguments: { path?: string }; input_responses?: string[] }).find((after) => after.arguments.path === '/srv/many.txt');
    });
    expect(audited.input_responses).toEqual([...Object.keys(answers).slice(0, 32), '… (100 items)']);
  });

  describe('answered directly as the SDK path answers', () => {
    const call = (extra: Partial<RawCall> = {}): RawCall => ({
      url: `${gateway.url}/t/acme/mcp`,
      key,
      name: 'rec__delete-file',
      args: { path: '/srv/d.txt' },
      capabilities: ELICITATION,
      ...extra,
    });

    it('the question, carrying the upstream’s request state verbatim and the gateway as the server', async () => {
      const direct = await postToolCall(call());
      expect(direct.json).toEqual((await postToolCall(call({ chunked: true }))).json);
      expect(direct.status).toBe(200);
      expect(direct.json).toEqual({
        jsonrpc: '2.0',
        id: 7,
        result: {
          resultType: 'input_required',
          inputRequests: { confirm: { method: 'elicitation/create', params: { mode: 'form', message: 'Delete /srv/d.txt?', requestedSchema: CONFIRM_SCHEMA } } },
          requestState: 'delete:/srv/d.txt',
          _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'botgate/acme', version: expect.any(String) } },
        },
      });
    });

    it('the question after progress, on the stream the progress opened', async () => {
      const direct = await postToolCall(call({ progress: true }));
      expect(direct.contentType).toBe('text/event-stream');
      expect(direct.messages).toEqual((await postToolCall(call({ progress: true, chunked: true }))).messages);
      expect(direct.messages).toEqual([
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'progress-1', progress: 1, total: 2, message: 'found it' } },
        { jsonrpc: '2.0', id: 7, result: expect.objectContaining({ resultType: 'input_required', requestState: 'delete:/srv/d.txt' }) },
      ]);
    });

    it('the retry with the client’s answers, with and without progress', async () => {
      const retry = call({ params: { inputResponses: { confirm: { action: 'accept', content: { sure: true } } }, requestState: 'delete:/srv/d.txt' } });
      const direct = await postToolCall(retry);
      expect(direct.json).toMatchObject({ result: { resultType: 'complete', content: [{ type: 'text', text: 'deleted /srv/d.txt' }] } });
      expect(direct.json).toEqual((await postToolCall({ ...retry, chunked: true })).json);
      expect((await postToolCall({ ...retry, progress: true })).messages).toEqual((await postToolCall({ ...retry, progress: true, chunked: true })).messages);
    });

    it('a client that declares no elicitation: the upstream is told so and does not ask; a tool error says why', async () => {
      const direct = await postToolCall(call({ capabilities: {} }));
      expect(direct.json).toEqual((await postToolCall(call({ capabilities: {}, chunked: true }))).json);
      expect(direct.json).toMatchObject({ result: { isError: true, content: [{ type: 'text', text: expect.stringMatching(/capabilit/) }] } });
    });

    it('a request state that is not a string is refused as invalid params; nothing reaches the upstream', async () => {
      const before = upstream.requests.filter((r) => r.rpcMethod === 'tools/call').length;
      const answer = await postToolCall(call({ params: { inputResponses: {}, requestState: 42 } }));
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32602 } });
      expect(upstream.requests.filter((r) => r.rpcMethod === 'tools/call')).toHaveLength(before);
    });

    it('a retry does not get a restricted key past its restriction: refused, and nothing reaches the upstream', async () => {
      const restricted = await operatorCommand<{ key: { secret: string } }>(setup!.dataDir, 'key.create', {
        tenant: 'acme',
        name: 'echo only',
        scopes: ['mcp'],
        tools: ['rec__echo'],
      });
      const before = upstream.requests.filter((r) => r.rpcMethod === 'tools/call').length;
      const answers = { inputResponses: { confirm: { action: 'accept', content: { sure: true } } }, requestState: 'delete:/srv/d.txt' };
      const answer = await postToolCall(call({ key: restricted.key.secret, params: answers }));
      expect(answer.json).toMatchObject({ result: { isError: true, content: [{ type: 'text', text: 'This API key may not use the tool delete-file of rec.' }] } });
      expect(upstream.requests.filter((r) => r.rpcMethod === 'tools/call')).toHaveLength(before);
    });
  });
});
