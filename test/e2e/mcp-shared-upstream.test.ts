import fs from 'node:fs/promises';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlowListingMcpServer, type SlowListingMcpServer } from '../fakes/slow-listing-mcp-server.ts';
import { startVaultMcpServer } from '../fakes/vault-mcp-server.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';
import { connectV1, connectV2 } from '../support/mcp-clients.ts';

const REVISION = '2026-07-28';

/** A v2 client that answers every question the upstream asks with `answer`, keeping what it was asked. */
async function connectAnswering(url: string, key: string, answer: ElicitResult) {
  const asked: ElicitRequest['params'][] = [];
  const client = new V2Client({ name: 'answering', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler('elicitation/create', (request) => {
    asked.push(request.params);
    return answer;
  });
  await client.connect(new V2Transport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return { client, asked };
}

/** A 2026-07-28 `tools/list` over plain HTTP that the client gives up on after `abortAfterMs`. */
async function abandonedList(url: string, key: string, abortAfterMs: number): Promise<void> {
  const meta = {
    'io.modelcontextprotocol/protocolVersion': REVISION,
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'impatient', version: '1.0.0' },
  };
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': REVISION,
        'mcp-method': 'tools/list',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }),
      signal: AbortSignal.timeout(abortAfterMs),
    });
    await response.text();
  } catch {
    // Given up on, as meant.
  }
}

// A remote server's upstream connection is one per server, shared by every client of the tenant:
// nothing one client does through it may reach, or hide things from, another.
describe("one client of a tenant's shared upstream connection does not affect another", () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let slow: SlowListingMcpServer;
  let adminKey: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    [gateway, slow] = await Promise.all([startGateway({ dataDir, env: { BOTGATE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' } }), startSlowListingMcpServer()]);
    adminKey = (await seedTenant(dataDir, 'acme')).key.secret;
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'slow', kind: 'remote', config: { url: slow.url } });
    await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'files', kind: 'filesystem' });
  });

  afterAll(async () => {
    await gateway?.stop();
    await slow?.close();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("does not leave a server out of other clients' tool lists because one client gave up on its own listing", async () => {
    const narrow = await apiClient(gateway.url, adminKey).post<{ key: { secret: string } }>('/api/v1/keys', { json: { name: 'narrow', scopes: ['mcp'], tools: ['slow'] } });
    slow.listDelayMs = 400;
    try {
      const warm = await connectV2(`${gateway.url}/t/acme/mcp`, adminKey);
      expect(await warm.listToolNames()).toContain('slow__echo');
      await warm.close();

      await abandonedList(`${gateway.url}/t/acme/mcp`, narrow.body.key.secret, 100);
      // Until the upstream's answer to the abandoned listing would have come.
      await new Promise((resolve) => setTimeout(resolve, 500));

      const legacy = await connectV1(`${gateway.url}/t/acme/mcp`, adminKey);
      const modern = await connectV2(`${gateway.url}/t/acme/mcp`, adminKey);
      const lists = [await legacy.listToolNames(), await modern.listToolNames()];
      await Promise.all([legacy.close(), modern.close()]);
      for (const names of lists) expect(names).toContain('slow__echo');
    } finally {
      slow.listDelayMs = 0;
    }
  });

  it('does not give one person a resource another unlocked by answering the upstream, though the upstream says it may be cached', async () => {
    const vault = await startVaultMcpServer();
    try {
      await operatorCommand(dataDir, 'server.create', { tenant: 'acme', slug: 'vault', kind: 'remote', config: { url: vault.url } });
      await operatorCommand(dataDir, 'user.create', { tenant: 'acme', email: 'bob@acme.example', role: 'member', password: 'correct horse battery staple' });
      const bobKey = (await operatorCommand<{ key: { secret: string } }>(dataDir, 'key.create', { tenant: 'acme', name: 'bob', scopes: ['mcp'], user: 'bob@acme.example' })).key.secret;
      const uri = 'botgate://vault/vault://secret';

      const alice = await connectAnswering(`${gateway.url}/t/acme/mcp`, adminKey, { action: 'accept', content: { name: 'alice' } });
      const aliceRead = await alice.client.readResource({ uri });
      await alice.client.close();
      expect(aliceRead.contents).toEqual([{ uri, mimeType: 'text/plain', text: 'the secret of alice' }]);

      const bob = await connectAnswering(`${gateway.url}/t/acme/mcp`, bobKey, { action: 'accept', content: { name: 'bob' } });
      const bobRead = await bob.client.readResource({ uri }, { cacheMode: 'bypass' });
      await bob.client.close();
      expect(bob.asked.map((p) => p.message)).toEqual(['Who are you?']);
      expect(bobRead.contents).toEqual([{ uri, mimeType: 'text/plain', text: 'the secret of bob' }]);
      expect(vault.reads).toEqual(['asked', 'revealed:alice', 'asked', 'revealed:bob']);
    } finally {
      await vault.close();
    }
  });

  it('keeps secrets out of the audit trail of tool calls, under the names arguments commonly give them', async () => {
    const client = await connectV2(`${gateway.url}/t/acme/mcp`, adminKey);
    const secrets = {
      credentials: 'S3CRET-credentials',
      auth: 'S3CRET-auth',
      bearer: 'S3CRET-bearer',
      dsn: 'S3CRET-dsn',
      connection: 'postgres://app:S3CRET-url@db.internal/prod',
      private_key_pem: '-----BEGIN PRIVATE KEY-----S3CRET-pem',
      apiKeys: ['S3CRET-apikeys'],
      headers: { 'X-Auth': 'S3CRET-xauth' },
    };
    try {
      await client.callTool('slow__echo', { message: 'audited', ...secrets });
    } finally {
      await client.close();
    }
    const trail = apiClient(gateway.url, adminKey);
    const event = await pollUntil('the audited tool call', async () => {
      const { body } = await trail.get<{ events: AuditEventJson[] }>('/api/v1/audit?action=tool.call&limit=50');
      return body.events.find((e) => JSON.stringify(e.after).includes('"audited"'));
    });
    const stored = JSON.stringify(event.after);
    expect(stored).not.toMatch(/S3CRET/);
    expect(stored).toContain('postgres://app:[redacted]@db.internal/prod');
  });
});
