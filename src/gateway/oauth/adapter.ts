import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';
import type { OAuthStorage } from '../../tenancy/index.ts';

/** oidc-provider's error classes (the module is loaded when the server starts, see provider.ts). */
export type OidcErrors = (typeof import('oidc-provider'))['errors'];

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * A registered client's `scope` would cap what it may ever ask for, and MCP
 * clients register with the scope of their first request (`mcp:read`, say):
 * stepping up to `mcp` would then be refused. The gateway's scopes are the
 * same for every client; consent and the person's role decide, per request.
 */
function withoutScope(payload: AdapterPayload): AdapterPayload {
  const { scope: _scope, ...rest } = payload;
  return rest;
}

/**
 * oidc-provider's storage interface over the database, so that every gateway
 * node can serve every step of a flow. One instance per model name (Client,
 * Grant, AuthorizationCode, RefreshToken, Interaction, Session, ...).
 */
export function createDatabaseAdapter(storage: OAuthStorage, errors: OidcErrors): AdapterConstructor {
  return class DatabaseAdapter implements Adapter {
    readonly #model: string;

    constructor(model: string) {
      this.#model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      await storage.models.upsert(this.#model, id, this.#model === 'Client' ? withoutScope(payload) : payload, {
        grantId: stringOrNull(payload.grantId),
        userCode: stringOrNull(payload.userCode),
        uid: this.#model === 'Session' ? stringOrNull(payload.uid) : null,
        expiresIn: typeof expiresIn === 'number' ? expiresIn : undefined,
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      // The resource server's check on every MCP request: an access token counts only while its grant does.
      if (this.#model === 'AccessToken') return storage.models.findWithActiveGrant(this.#model, id);
      return storage.models.find(this.#model, id);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return storage.models.findBy(this.#model, 'uid', uid);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return storage.models.findBy(this.#model, 'user_code', userCode);
    }

    /**
     * The provider checks `consumed` before consuming, but two redemptions of
     * one code can both pass that check; the database lets only one win. The
     * loser is treated as a replay: the grant and its tokens are revoked.
     */
    async consume(id: string): Promise<void> {
      const { consumed, grantId } = await storage.models.consume(this.#model, id);
      if (consumed) return;
      if (grantId !== null) await storage.destroyGrant(grantId);
      throw new errors.InvalidGrant(`${this.#model === 'AuthorizationCode' ? 'authorization code' : 'grant'} already used`);
    }

    async destroy(id: string): Promise<void> {
      await storage.models.destroy(this.#model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await storage.models.revokeByGrant(this.#model, grantId);
    }
  };
}
