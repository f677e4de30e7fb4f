import { createHash } from 'node:crypto';
import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';
import { unstorableAt } from '../../shared/storable-json.ts';
import type { OAuthStorage } from '../../tenancy/index.ts';

/** oidc-provider's error classes (the module is loaded when the server starts, see provider.ts). */
export type OidcErrors = (typeof import('oidc-provider'))['errors'];

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The models whose id is a bearer secret: presenting it spends a code, or gets or renews
 * access. As configured only the first three are issued; the others are listed so that
 * turning their feature on cannot store them in the clear.
 *
 * Stored as given: clients, grants, interactions, sessions and pushed requests, whose ids
 * are public or references (a grant's id is in its consent and in its tokens) or work only
 * with a signed cookie; ReplayDetection, whose id is a digest already; and DeviceCode, which
 * the provider finds by its user code and then saves back under its `jti`, which a digest
 * could not give back (the device flow is off).
 */
const SECRET_KINDS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'BackchannelAuthenticationRequest',
  'ClientCredentials',
  'InitialAccessToken',
  'PreAuthorizedCode',
  'RegistrationAccessToken',
]);

/**
 * What a secret model is kept under, as API keys and browser sessions are: its SHA-256, so
 * that a read of the table or a dump of the database hands out no live token or code. The
 * provider always names such a model by the value the client presented (find, consume,
 * destroy), so the digest is all the lookup needs. The prefix keeps it apart from any raw id
 * (the provider's ids are base64url, without a colon), such as rows stored before.
 */
const digestId = (id: string): string => `sha256:${createHash('sha256').update(id, 'utf8').digest('base64url')}`;

/** The payload without the token's value (`jti`, the id again), which `find` puts back. */
function withoutJti(payload: AdapterPayload): AdapterPayload {
  const { jti: _jti, ...rest } = payload;
  return rest;
}

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
    readonly #secret: boolean;

    constructor(model: string) {
      this.#model = model;
      this.#secret = SECRET_KINDS.has(model);
    }

    /** The row id of the model the provider calls `id`. */
    #rowId(id: string): string {
      return this.#secret ? digestId(id) : id;
    }

    /** The payload as kept: a client's without its scope, a secret's without its value. */
    #stored(payload: AdapterPayload): AdapterPayload {
      if (this.#model === 'Client') return withoutScope(payload);
      return this.#secret ? withoutJti(payload) : payload;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      // A client's metadata (or a request's parameters) with text the database cannot store is refused, not a server error.
      const unstorable = unstorableAt(payload, this.#model);
      if (unstorable) {
        const message = `${unstorable.path.slice(this.#model.length + 1)} ${unstorable.reason}`;
        throw this.#model === 'Client' ? new errors.InvalidClientMetadata(message) : new errors.InvalidRequest(message);
      }
      await storage.models.upsert(this.#model, this.#rowId(id), this.#stored(payload), {
        grantId: stringOrNull(payload.grantId),
        userCode: stringOrNull(payload.userCode),
        uid: this.#model === 'Session' ? stringOrNull(payload.uid) : null,
        expiresIn: typeof expiresIn === 'number' ? expiresIn : undefined,
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      // Nothing is kept under an id the database cannot store (a client_id with a NUL, say).
      if (unstorableAt(id, 'id')) return undefined;
      const rowId = this.#rowId(id);
      // The resource server's check on every MCP request: an access token counts only while its grant does.
      const found =
        this.#model === 'AccessToken' ? await storage.models.findWithActiveGrant(this.#model, rowId) : await storage.models.find(this.#model, rowId);
      return found && this.#secret ? { ...found, jti: id } : found;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      if (unstorableAt(uid, 'uid')) return undefined;
      return storage.models.findBy(this.#model, 'uid', uid);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      if (unstorableAt(userCode, 'userCode')) return undefined;
      return storage.models.findBy(this.#model, 'user_code', userCode);
    }

    /**
     * The provider checks `consumed` before consuming, but two redemptions of
     * one code can both pass that check; the database lets only one win. The
     * loser is treated as a replay: the grant and its tokens are revoked.
     */
    async consume(id: string): Promise<void> {
      const { consumed, grantId } = await storage.models.consume(this.#model, this.#rowId(id));
      if (consumed) return;
      if (grantId !== null) await storage.destroyGrant(grantId);
      throw new errors.InvalidGrant(`${this.#model === 'AuthorizationCode' ? 'authorization code' : 'grant'} already used`);
    }

    async destroy(id: string): Promise<void> {
      await storage.models.destroy(this.#model, this.#rowId(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await storage.models.revokeByGrant(this.#model, grantId);
    }
  };
}
