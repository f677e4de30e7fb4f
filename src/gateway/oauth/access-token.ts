/** The extra claim that binds an access token to the tenant the person picked at consent. */
export const TENANT_CLAIM = 'tenant_id';

/** What the gateway relies on in an access token it issued. */
export interface AccessTokenClaims {
  userId: string;
  clientId: string;
  tenantId: string;
  grantId: string;
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** An access token as oidc-provider finds it in storage (its `AccessToken` model). */
export interface StoredAccessToken {
  accountId?: unknown;
  clientId?: unknown;
  grantId?: unknown;
  aud?: unknown;
  scope?: unknown;
  exp?: unknown;
  extra?: unknown;
}

/** Finds an access token the gateway issued and checks it for one endpoint (`audience`). */
export type AccessTokenVerifier = (token: string, audience: string) => Promise<AccessTokenClaims | undefined>;

// oidc-provider's opaque tokens: 256 random bits, base64url. API keys (bgk_ + 43) and run credentials (bgr_ + 43) are longer.
const OPAQUE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Whether a bearer token could be one of the gateway's access tokens (and not an API key or run credential). */
export function looksLikeAccessToken(token: string): boolean {
  return OPAQUE_SHAPE.test(token);
}

/**
 * The claims of a stored access token when it is for exactly `audience` (the
 * one MCP endpoint the request addresses), has not expired by this process's
 * clock, and carries what the gateway needs; undefined otherwise.
 */
export function claimsFor(token: StoredAccessToken, audience: string, nowSeconds = Math.floor(Date.now() / 1000)): AccessTokenClaims | undefined {
  const { accountId, clientId, grantId, aud, scope, exp } = token;
  const tenantId = typeof token.extra === 'object' && token.extra !== null ? (token.extra as Record<string, unknown>)[TENANT_CLAIM] : undefined;
  // One audience only: a token minted for several resources is not this endpoint's.
  if (aud !== audience) return undefined;
  if (typeof exp !== 'number' || exp <= nowSeconds) return undefined;
  if (typeof accountId !== 'string' || typeof clientId !== 'string' || typeof grantId !== 'string' || typeof tenantId !== 'string') return undefined;
  return {
    userId: accountId,
    clientId,
    tenantId,
    grantId,
    scopes: typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : [],
    expiresAt: exp,
  };
}

/**
 * Checks a bearer token against the tokens the authorization server keeps:
 * `find` is oidc-provider's `AccessToken.find`, whose storage finds a token
 * only while it is unexpired, unrevoked and its grant active (one query).
 */
export function createAccessTokenVerifier(find: (token: string) => Promise<StoredAccessToken | undefined>): AccessTokenVerifier {
  return async (token, audience) => {
    if (!looksLikeAccessToken(token)) return undefined;
    const found = await find(token);
    return found ? claimsFor(found, audience) : undefined;
  };
}
