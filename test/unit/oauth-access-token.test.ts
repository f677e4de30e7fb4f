import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, looksLikeJwt } from '../../src/gateway/oauth/access-token.ts';

const ISSUER = 'https://gw.example';
const AUDIENCE = `${ISSUER}/t/acme/mcp/bots/helper`;
const NOW = new Date('2026-06-01T12:00:00Z');
const epoch = (date: Date) => Math.floor(date.getTime() / 1000);

describe('access-token verification', () => {
  let privateKey: CryptoKey;
  let strangerKey: CryptoKey;
  let publicJwk: JWK;
  const verify = () => createAccessTokenVerifier({ issuer: ISSUER, publicKeys: [publicJwk], now: () => NOW });

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    strangerKey = (await generateKeyPair('ES256')).privateKey;
  });

  function sign(overrides: Record<string, unknown> = {}, options: { key?: CryptoKey; typ?: string; kid?: string } = {}) {
    const claims = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      client_id: 'client-1',
      tenant_id: 'tenant-1',
      grant_id: 'grant-1',
      scope: 'mcp',
      iat: epoch(NOW) - 60,
      exp: epoch(NOW) + 540,
      jti: 'j1',
      ...overrides,
    };
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: options.typ ?? 'at+jwt', kid: options.kid ?? 'k1' }).sign(options.key ?? privateKey);
  }

  it('accepts a token of the gateway for this endpoint', async () => {
    expect(await verify()(await sign(), AUDIENCE)).toEqual({
      userId: 'user-1',
      clientId: 'client-1',
      tenantId: 'tenant-1',
      grantId: 'grant-1',
      scopes: ['mcp'],
      expiresAt: epoch(NOW) + 540,
    });
  });

  it('refuses an expired token, another endpoint, another issuer, a foreign key or a plain JWT', async () => {
    const cases: Array<[string, Promise<string>, string?]> = [
      ['expired', sign({ exp: epoch(NOW) - 1 })],
      ['another endpoint', sign({ aud: `${ISSUER}/t/acme/mcp` })],
      ['another tenant endpoint', sign(), `${ISSUER}/t/other/mcp/bots/helper`],
      ['several audiences', sign({ aud: [AUDIENCE, `${ISSUER}/t/acme/mcp`] })],
      ['another issuer', sign({ iss: 'https://evil.example' })],
      ['a foreign key', sign({}, { key: strangerKey })],
      ['not an access token', sign({}, { typ: 'JWT' })],
      ['no tenant', sign({ tenant_id: undefined })],
      ['no grant', sign({ grant_id: undefined })],
      ['no subject', sign({ sub: undefined })],
    ];
    for (const [name, token, audience] of cases) {
      expect({ name, verified: await verify()(await token, audience ?? AUDIENCE) }).toEqual({ name, verified: undefined });
    }
  });

  it('refuses unsigned and symmetric tokens made with the public key', async () => {
    const body = Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'u', client_id: 'c', tenant_id: 't', grant_id: 'g', exp: epoch(NOW) + 60 })).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${body}.`;
    expect(await verify()(none, AUDIENCE)).toBeUndefined();
    const hmac = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'u', client_id: 'c', tenant_id: 't', grant_id: 'g', exp: epoch(NOW) + 60 })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' })
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    expect(await verify()(hmac, AUDIENCE)).toBeUndefined();
  });

  it('tells JWTs from API keys and run credentials', () => {
    expect(looksLikeJwt('aaa.bbb.ccc')).toBe(true);
    expect(looksLikeJwt('bgk_abcdef')).toBe(false);
    expect(looksLikeJwt('a.b')).toBe(false);
    expect(looksLikeJwt(`${'a'.repeat(9000)}.b.c`)).toBe(false);
  });
});
