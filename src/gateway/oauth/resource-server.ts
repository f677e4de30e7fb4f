import type { OAuthStorage, Principal, Scope } from '../../tenancy/index.ts';
import { looksLikeAccessToken, type AccessTokenVerifier } from './access-token.ts';
import { bearerChallenge, DEFAULT_SCOPE, protectedResourceMetadataUrl, resourceUrl, type ChallengeError } from './resource.ts';

/** A person acting through an OAuth access token on one MCP endpoint. */
export interface OAuthAccess {
  principal: Principal;
  /** The token has `mcp:read` and not `mcp`: only tools marked read-only may be listed and called. */
  readOnly: boolean;
}

/** How MCP endpoints accept the gateway's own access tokens and challenge for them. */
export interface OAuthResourceServer {
  /** Whether a bearer token is an access token for this server to judge (not an API key or run credential). */
  handles(token: string): boolean;
  /** The access behind a token presented at `path` (`/t/{tenant}/mcp...`), or undefined when it is refused. */
  authenticate(token: string, path: string): Promise<OAuthAccess | undefined>;
  /** The `WWW-Authenticate` value for a refusal at `path`; undefined before the server has started. */
  challenge(path: string, error?: ChallengeError, scope?: string): string | undefined;
}

/** The running authorization server's side of access-token checks. */
export interface TokenIssuer {
  issuer: string;
  verify: AccessTokenVerifier;
}

/**
 * Accepts an access token only when all hold: issued by the gateway and kept
 * by it (not expired, not revoked, its grant not revoked: one query), for this
 * exact endpoint URL (audience), and the person still a member of the tenant
 * the token was bound to at consent. The route then checks that this tenant is
 * the path's tenant.
 */
export function createOAuthResourceServer(deps: { storage: OAuthStorage; issuer: () => TokenIssuer | undefined }): OAuthResourceServer {
  return {
    handles: looksLikeAccessToken,

    async authenticate(token, path) {
      const running = deps.issuer();
      if (!running) return undefined;
      const claims = await running.verify(token, resourceUrl(running.issuer, path));
      if (!claims) return undefined;
      const membership = await deps.storage.membership(claims.userId, { id: claims.tenantId });
      if (!membership) return undefined;
      const full = claims.scopes.includes('mcp');
      const readOnly = !full && claims.scopes.includes('mcp:read');
      const scopes: Scope[] = full || readOnly ? ['mcp'] : [];
      return {
        principal: {
          tenant: membership.tenant,
          actor: { type: 'user', id: claims.userId },
          keyId: null,
          userId: claims.userId,
          role: membership.role,
          scopes,
          tools: null,
        },
        readOnly,
      };
    },

    challenge(path, error, scope = DEFAULT_SCOPE) {
      const running = deps.issuer();
      if (!running) return undefined;
      return bearerChallenge({ resourceMetadataUrl: protectedResourceMetadataUrl(resourceUrl(running.issuer, path)), scope, error });
    },
  };
}
