import { describe, expect, it } from 'vitest';
import { claimsFor, createAccessTokenVerifier, looksLikeAccessToken, type StoredAccessToken } from '../../src/gateway/oauth/access-token.ts';

const AUDIENCE = 'https://gw.example/t/acme/mcp/bots/helper';
const NOW = 1_780_000_000;
const TOKEN = 'A'.repeat(40) + '-_z';

/** An access token as oidc-provider keeps it. */
const stored = (overrides: Record<string, unknown> = {}): StoredAccessToken => ({
  accountId: 'user-1',
  clientId: 'client-1',
  grantId: 'grant-1',
  aud: AUDIENCE,
  scope: 'mcp offline_access',
  exp: NOW + 540,
  extra: { tenant_id: 'tenant-1' },
  ...overrides,
});

describe('access-token checks', () => {
  it('accepts a stored token for this endpoint', () => {
    expect(claimsFor(stored(), AUDIENCE, NOW)).toEqual({
      userId: 'user-1',
      clientId: 'client-1',
      tenantId: 'tenant-1',
      grantId: 'grant-1',
      scopes: ['mcp', 'offline_access'],
      expiresAt: NOW + 540,
    });
  });

  it('refuses an expired token, another endpoint, several audiences, or one without what the gateway needs', () => {
    const cases: Array<[string, StoredAccessToken, string?]> = [
      ['expired', stored({ exp: NOW })],
      ['no expiry', stored({ exp: undefined })],
      ['another endpoint', stored({ aud: 'https://gw.example/t/acme/mcp' })],
      ['another tenant endpoint', stored(), 'https://gw.example/t/other/mcp/bots/helper'],
      ['several audiences', stored({ aud: [AUDIENCE, 'https://gw.example/t/acme/mcp'] })],
      ['no audience', stored({ aud: undefined })],
      ['no tenant', stored({ extra: {} })],
      ['no extra claims', stored({ extra: undefined })],
      ['a tenant that is not a string', stored({ extra: { tenant_id: 7 } })],
      ['no grant', stored({ grantId: undefined })],
      ['no account', stored({ accountId: undefined })],
      ['no client', stored({ clientId: undefined })],
    ];
    for (const [name, token, audience] of cases) {
      expect({ name, claims: claimsFor(token, audience ?? AUDIENCE, NOW) }).toEqual({ name, claims: undefined });
    }
  });

  it('looks up only what has the shape of an access token', async () => {
    const looked: string[] = [];
    const verify = createAccessTokenVerifier(async (token) => {
      looked.push(token);
      return token === TOKEN ? stored({ exp: Math.floor(Date.now() / 1000) + 60 }) : undefined;
    });
    expect(await verify(TOKEN, AUDIENCE)).toMatchObject({ userId: 'user-1', tenantId: 'tenant-1' });
    expect(await verify('B'.repeat(43), AUDIENCE)).toBeUndefined();
    for (const other of [`bgk_${'a'.repeat(43)}`, `bgr_${'a'.repeat(43)}`, 'aaa.bbb.ccc', 'A'.repeat(42), `${TOKEN}A`, `${'A'.repeat(42)}.`]) {
      expect(await verify(other, AUDIENCE)).toBeUndefined();
    }
    expect(looked).toEqual([TOKEN, 'B'.repeat(43)]);
  });

  it('tells access tokens from API keys and run credentials', () => {
    expect(looksLikeAccessToken(TOKEN)).toBe(true);
    expect(looksLikeAccessToken(`bgk_${'a'.repeat(43)}`)).toBe(false);
    expect(looksLikeAccessToken(`bgr_${'a'.repeat(43)}`)).toBe(false);
    expect(looksLikeAccessToken('eyJhbGciOiJFUzI1NiJ9.e30.sig')).toBe(false);
  });
});
