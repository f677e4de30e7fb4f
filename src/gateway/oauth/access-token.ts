import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';

/** The claim that binds an access token to the tenant the person picked at consent. */
export const TENANT_CLAIM = 'tenant_id';
/** The grant a token was issued under: a revoked grant takes its tokens with it. */
export const GRANT_CLAIM = 'grant_id';

/** What the gateway relies on in a verified access token. */
export interface AccessTokenClaims {
  userId: string;
  clientId: string;
  tenantId: string;
  grantId: string;
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** Signatures the gateway's own tokens use. */
export const ACCESS_TOKEN_ALG = 'ES256';

/** Verifies access tokens against a fixed set of public keys. */
export type AccessTokenVerifier = (token: string, audience: string) => Promise<AccessTokenClaims | undefined>;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether a bearer token could be one of the gateway's JWT access tokens (and not an API key). */
export function looksLikeJwt(token: string): boolean {
  return token.length < 8192 && JWT_SHAPE.test(token);
}

/**
 * Checks the signature (the gateway's keys, ES256 only), `typ` at+jwt (RFC
 * 9068), the issuer, the audience (exactly the one MCP endpoint the request
 * addresses), expiry, and the claims the gateway needs. Undefined when any fails.
 */
export function createAccessTokenVerifier(options: {
  issuer: string;
  publicKeys: JWK[];
  now?: () => Date;
}): AccessTokenVerifier {
  const keys = createLocalJWKSet({ keys: options.publicKeys });
  return async (token, audience) => {
    if (!looksLikeJwt(token)) return undefined;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience,
        algorithms: [ACCESS_TOKEN_ALG],
        typ: 'at+jwt',
        requiredClaims: ['exp', 'sub', 'client_id', TENANT_CLAIM, GRANT_CLAIM],
        ...(options.now && { currentDate: options.now() }),
      }));
    } catch {
      return undefined;
    }
    // One audience only: a token minted for several resources is not this endpoint's.
    if (Array.isArray(payload['aud']) && payload['aud'].length !== 1) return undefined;
    const { sub, client_id: clientId, exp, scope } = payload;
    const tenantId = payload[TENANT_CLAIM];
    const grantId = payload[GRANT_CLAIM];
    if (typeof sub !== 'string' || typeof clientId !== 'string' || typeof exp !== 'number') return undefined;
    if (typeof tenantId !== 'string' || typeof grantId !== 'string') return undefined;
    return {
      userId: sub,
      clientId,
      tenantId,
      grantId,
      scopes: typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : [],
      expiresAt: exp,
    };
  };
}
