import { generateKeyPairSync, hkdfSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { openSecret, sealSecret } from '../../shared/crypto.ts';
import type { OAuthStorage } from '../../tenancy/index.ts';

/** The algorithm of the authorization server's own signatures (ID tokens, its JWKS). */
export const SIGNING_ALG = 'ES256';

/** The keys of the authorization server. */
export interface SigningKeys {
  /** Private JWKs for oidc-provider, the newest (the one that signs) first. */
  privateJwks: JWK[];
}

const sealContext = (kid: string) => `oauth_signing_key:${kid}`;

/**
 * The authorization server's signing keys, kept in the database so that every
 * node signs with the same ones; made on the first start (by one node, under
 * a lock) and sealed with the gateway's secret key. A key in DATA_DIR would be
 * one node's alone. Access tokens are opaque (provider.ts): nothing of theirs is signed.
 */
export async function loadSigningKeys(storage: OAuthStorage, secretKey: Buffer): Promise<SigningKeys> {
  const stored = await storage.signingKeys.loadOrCreate(async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(jwk);
    const full: JWK = { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' };
    return { kid, alg: SIGNING_ALG, sealedJwk: sealSecret(secretKey, JSON.stringify(full), sealContext(kid)) };
  });
  const privateJwks = stored.map((key) => JSON.parse(openSecret(secretKey, key.sealedJwk, sealContext(key.kid))) as JWK);
  return { privateJwks };
}

/**
 * Keys for oidc-provider's signed cookies (interaction and resume), the same on
 * every node: derived from the secret key, which every node shares already.
 */
export function deriveCookieKeys(secretKey: Buffer): string[] {
  return [Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), 'botgate oauth cookie keys v1', 32)).toString('base64url')];
}
