import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { freePort, startEverything, stopEverything } from '../support/everything-server.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { postToolCall } from '../support/raw-tool-call.ts';
import { startRoundRobinProxy } from '../support/round-robin-proxy.ts';

const textOf = (result: { content: unknown[] }) => result.content.map((c) => (c as { text?: string }).text ?? '').join('\n');

interface CallJson {
  result: {
    resultType?: string;
    inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
    requestState?: string;
    isError?: boolean;
    content: unknown[];
  };
}

// Two gateway replicas on one PostgreSQL database behind an imaginary load balancer: a 2025-era
// upstream's question is asked through one, and the client's retry with the answer lands on the other.
describe.skipIf(!TEST_DATABASE_URL)('a 2025-era upstream’s question answered through another gateway replica', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  let upstream: ChildProcess | undefined;
  const gateways: GatewayProcess[] = [];
  const dataDirs: string[] = [];
  let key: string;
  let otherKey: string;
  const capabilities = { elicitation: { form: {} } };
  const endpoint = (node: number, tenant = 'acme') => `${gateways[node]?.url ?? ''}/t/${tenant}/mcp/servers/everything`;
  const call = (node: number, requestId: string, params?: Record<string, unknown>) =>
    postToolCall({ url: endpoint(node), key, name: 'trigger-elicitation-request', capabilities, headers: { 'x-request-id': requestId }, ...(params && { params }) });

  beforeAll(async () => {
    const port = await freePort();
    database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    dataDirs.push(await makeDataDir(), await makeDataDir());
    const env = { BOTGATE_SECRET_KEY: randomBytes(32).toString('hex'), BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' };
    upstream = await startEverything(port);
    // One after the other: the first migrates the empty database.
    for (const dataDir of dataDirs) gateways.push(await startGateway({ dataDir, databaseUrl: database.url, env }));
    key = (await seedTenant(dataDirs[0] ?? '', 'acme')).key.secret;
    otherKey = (await seedTenant(dataDirs[0] ?? '', 'other')).key.secret;
    for (const tenant of ['acme', 'other']) {
      await operatorCommand(dataDirs[0] ?? '', 'server.create', { tenant, slug: 'everything', kind: 'remote', config: { url: `http://127.0.0.1:${port}/mcp` } });
    }
  });

  afterAll(async () => {
    await Promise.all([...gateways.map((gateway) => gateway.stop()), stopEverything(upstream)]);
    await database?.drop();
    await Promise.all(dataDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  it('carries the answer to the replica holding the call, and its result back to the client', async () => {
    const asked = ((await call(0, 'replica-asks-1')).json as CallJson).result;
    expect(asked.resultType).toBe('input_required');
    const [questionKey] = Object.keys(asked.inputRequests ?? {});

    const answer = { [questionKey ?? '']: { action: 'accept', content: { name: 'Grace Hopper', check: true } } };
    const answered = ((await call(1, 'replica-asks-2', { requestState: asked.requestState, inputResponses: answer })).json as CallJson).result;

    expect(answered.isError).toBeFalsy();
    expect(textOf(answered)).toContain('User provided the requested information');
    expect(textOf(answered)).toContain('- Name: Grace Hopper');
    // Both rounds are in the one audit trail, each written by the replica the request reached.
    const events = await pollUntil('both rounds’ audit events', async () => {
      const all = (await apiClient(gateways[1]?.url ?? '', key).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=100')).body.events;
      const mine = all.filter((event) => event.request_id?.startsWith('replica-asks-'));
      return mine.length === 2 ? mine : undefined;
    });
    expect(events.map((event) => [event.request_id, (event.after as { outcome?: string }).outcome])).toEqual([
      ['replica-asks-2', 'ok'],
      ['replica-asks-1', 'input_required'],
    ]);
  });

  it('serves a real client behind a load balancer that sends its retry to the other replica', async () => {
    const balancer = await startRoundRobinProxy(gateways.map((gateway) => gateway.url));
    const client = new V2Client({ name: 'e2e-balanced', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities });
    client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { name: 'Katherine Johnson', check: true } }));
    try {
      await client.connect(new V2Transport(new URL(`${balancer.url}/t/acme/mcp/servers/everything`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));

      const result = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });

      expect(result.isError).toBeFalsy();
      expect(textOf(result as { content: unknown[] })).toContain('- Name: Katherine Johnson');
      // The call asked through one replica, and its retry with the answer went to the other.
      expect(balancer.toolCalls).toEqual([0, 1]);
    } finally {
      await client.close();
      await balancer.close();
    }
  });

  it('asks again through the other replica for a missing answer, and refuses there a spent or forged state, another tenant’s, and another caller’s', async () => {
    const asked = ((await call(0, 'replica-asks-3')).json as CallJson).result;
    const [questionKey] = Object.keys(asked.inputRequests ?? {});

    // Answered nothing: the holding replica asks the same question again, under a new state it holds.
    const again = ((await call(1, 'replica-asks-4', { requestState: asked.requestState, inputResponses: {} })).json as CallJson).result;
    expect(again.resultType).toBe('input_required');
    expect(Object.keys(again.inputRequests ?? {})).toEqual([questionKey]);
    expect(again.requestState).not.toBe(asked.requestState);

    const spent = ((await call(1, 'replica-asks-5', { requestState: asked.requestState, inputResponses: {} })).json as CallJson).result;
    const forged = ((await call(1, 'replica-asks-6', { requestState: 'forged-state', inputResponses: {} })).json as CallJson).result;
    const stolen = (
      (
        await postToolCall({
          url: endpoint(1, 'other'),
          key: otherKey,
          name: 'trigger-elicitation-request',
          capabilities,
          params: { requestState: again.requestState, inputResponses: { [questionKey ?? '']: { action: 'accept', content: { name: 'Mallory' } } } },
        })
      ).json as CallJson
    ).result;
    const colleague = await apiClient(gateways[0]?.url ?? '', key).post<{ key: { secret: string } }>('/api/v1/keys', { json: { name: 'colleague', scopes: ['mcp'] } });
    const impersonated = (
      (
        await postToolCall({
          url: endpoint(1),
          key: colleague.body.key.secret,
          name: 'trigger-elicitation-request',
          capabilities,
          params: { requestState: again.requestState, inputResponses: { [questionKey ?? '']: { action: 'accept', content: { name: 'Mallory' } } } },
        })
      ).json as CallJson
    ).result;
    for (const refused of [spent, forged, stolen, impersonated]) {
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/no longer holds.*Call the tool again/);
    }

    // The call waited on, for its own client: answered through the replica holding it this time.
    const declined = ((await call(0, 'replica-asks-7', { requestState: again.requestState, inputResponses: { [questionKey ?? '']: { action: 'decline' } } })).json as CallJson).result;
    expect(declined.isError).toBeFalsy();
    expect(textOf(declined)).toContain('User declined to provide the requested information');
  });
});
