import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { auth } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { seedTenant } from '../support/http.ts';
import { connectWithOAuth, MemoryOAuthProvider, OAuthBrowser, postMcp } from '../support/oauth.ts';

const TTL_S = 2;
const TENANT = 'short-lived';

// A gateway whose operator changed its OAuth settings: BOTGATE_OAUTH_ACCESS_TOKEN_TTL (tokens end when
// it says, and the refresh token gets new ones) and BOTGATE_OAUTH_METADATA_DOCUMENTS=off (a gateway
// that cannot reach the clients' sites: clients register instead).
describe('BOTGATE_OAUTH_ACCESS_TOKEN_TTL and BOTGATE_OAUTH_METADATA_DOCUMENTS', () => {
  let gateway: GatewayProcess;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir, env: { BOTGATE_OAUTH_ACCESS_TOKEN_TTL: String(TTL_S), BOTGATE_OAUTH_METADATA_DOCUMENTS: 'off' } });
    await seedTenant(dataDir, TENANT);
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('ends an access token after the configured seconds with invalid_token; refreshing gives a working one', async () => {
    const endpoint = `${gateway.url}/t/${TENANT}/mcp`;
    const provider = new MemoryOAuthProvider('http://127.0.0.1:23001/callback', { clientName: 'Short-lived client' });
    await connectWithOAuth({ provider, serverUrl: endpoint, browser: new OAuthBrowser(gateway.url), credentials: { email: `owner@${TENANT}.example`, password: 'correct horse battery staple' } });
    const first = provider.saved!;
    expect(first.expires_in).toBe(TTL_S);
    expect((await postMcp(endpoint, first.access_token)).status).toBe(200);

    await sleep(TTL_S * 1000 + 1500);
    const expired = await postMcp(endpoint, first.access_token);
    expect(expired.status).toBe(401);
    expect(expired.challenge).toContain('error="invalid_token"');
    expect(expired.challenge).toContain(`resource_metadata="${gateway.url}/.well-known/oauth-protected-resource/t/${TENANT}/mcp"`);

    // What a client does on invalid_token with a refresh token in hand.
    expect(await auth(provider, { serverUrl: endpoint })).toBe('AUTHORIZED');
    expect(provider.saved?.access_token).not.toBe(first.access_token);
    expect((await postMcp(endpoint, provider.saved!.access_token)).status).toBe(200);
  });

  it('with metadata documents off, does not offer them, refuses a client naming one, and a client that has one registers instead', async () => {
    const metadata = (await (await fetch(`${gateway.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata['client_id_metadata_document_supported']).toBeUndefined();
    expect(metadata['registration_endpoint']).toBe(`${gateway.url}/oauth/reg`);

    const endpoint = `${gateway.url}/t/${TENANT}/mcp`;
    const documentUrl = 'https://client.example/oauth/client.json';
    const named = new URL(`${gateway.url}/oauth/auth`);
    for (const [key, value] of Object.entries({
      client_id: documentUrl,
      redirect_uri: 'http://127.0.0.1:23002/callback',
      response_type: 'code',
      scope: 'mcp',
      resource: endpoint,
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    })) {
      named.searchParams.set(key, value);
    }
    const refused = await new OAuthBrowser(gateway.url).get(named.toString());
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('invalid_client');

    const provider = new MemoryOAuthProvider('http://127.0.0.1:23002/callback', { clientMetadataUrl: documentUrl, clientName: 'Client with a document' });
    await connectWithOAuth({ provider, serverUrl: endpoint, browser: new OAuthBrowser(gateway.url), credentials: { email: `owner@${TENANT}.example`, password: 'correct horse battery staple' } });
    expect(provider.client?.client_id).not.toBe(documentUrl);
    expect((await postMcp(endpoint, provider.saved!.access_token)).status).toBe(200);
  });
});
