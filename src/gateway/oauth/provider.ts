import type { ClientMetadata, Configuration, KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { OAuthClientConfig } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { OAuthStorage } from '../../tenancy/index.ts';
import { TENANT_CLAIM } from './access-token.ts';
import { createDatabaseAdapter, type OidcErrors } from './adapter.ts';
import { isNativeClient, readingNativeByDefault } from './native-clients.ts';
import { createPolicyFetch } from './outbound-fetch.ts';
import { escapeHtml, renderMessagePage } from './pages.ts';
import { MCP_SCOPES, parseMcpResource } from './resource.ts';
import { SIGNING_ALG, type SigningKeys } from './signing-keys.ts';

/** Where the provider is mounted under the gateway. */
export const OAUTH_MOUNT = '/oauth';

const MINUTE = 60;
const DAY = 24 * 60 * MINUTE;
/** ID tokens (OpenID Connect) are no part of the MCP flow; their lifetime is not the operator's setting. */
const ID_TOKEN_TTL_S = 10 * MINUTE;
/** A remembered approval lasts this long after it was last given; then the person is asked again. */
const GRANT_TTL_S = 90 * DAY;
/** Refresh tokens rotate on every use; an unused one lapses after this. */
const REFRESH_TOKEN_TTL_S = 30 * DAY;

/** The one resource of an authorization request, or undefined. */
export function singleResource(params: Record<string, unknown>): string | undefined {
  const { resource } = params;
  if (typeof resource === 'string') return resource;
  return Array.isArray(resource) && resource.length === 1 && typeof resource[0] === 'string' ? resource[0] : undefined;
}

function toClientMetadata(client: OAuthClientConfig): ClientMetadata {
  return {
    ...client,
    grant_types: client.grant_types ?? ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? (client.client_secret ? 'client_secret_basic' : 'none'),
  };
}

export interface ProviderOptions {
  /** The issuer identifier: PUBLIC_URL, or the URL the gateway listens on. */
  issuer: string;
  storage: OAuthStorage;
  keys: SigningKeys;
  cookieKeys: string[];
  clients: readonly OAuthClientConfig[];
  allowPrivateNetworks: readonly string[];
  /**
   * Seconds an access token lives (BOTGATE_OAUTH_ACCESS_TOKEN_TTL). Membership and the grant are
   * checked on every request anyway; this bounds how long a token leaked from a client works.
   */
  accessTokenTtl: number;
  /**
   * Whether clients may identify themselves by a client ID metadata document. Off (a gateway that
   * cannot reach the clients' sites), discovery no longer offers it, and clients register instead.
   */
  metadataDocuments: boolean;
  logger: Logger;
}

/**
 * oidc-provider configured as the gateway's OAuth 2.1 authorization server for
 * MCP clients: authorization code + PKCE (S256) only, RFC 8707 resource
 * indicators required (the token's audience is one MCP endpoint), opaque access
 * tokens, rotating refresh tokens, revocation, dynamic registration and Client
 * ID Metadata Documents. The person signs in with Botgate's own session and
 * approves on the gateway's consent page (interaction.routes.ts).
 */
export async function createProvider(options: ProviderOptions): Promise<{ provider: Provider; errors: OidcErrors }> {
  const { issuer, storage, logger, accessTokenTtl } = options;
  const { errors, interactionPolicy, Provider } = await importOidcProvider(logger);

  const policy = interactionPolicy.base();
  // The provider's own browser session is not the person's Botgate session: every authorization
  // passes through the interaction, which signs the flow in as whoever is signed in to Botgate now.
  policy
    .get('login')
    ?.checks.add(
      new interactionPolicy.Check('botgate_sign_in', 'the Botgate session confirms the person', 'login_required', (ctx) => !ctx.oidc.result?.login),
    );

  const configuration: Configuration = {
    adapter: createDatabaseAdapter(storage, errors),
    clients: options.clients.map(toClientMetadata),
    jwks: { keys: options.keys.privateJwks },
    cookies: {
      keys: options.cookieKeys,
      names: { session: 'botgate_oauth_session', interaction: 'botgate_oauth_interaction', resume: 'botgate_oauth_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    scopes: [...MCP_SCOPES, 'offline_access'],
    claims: { openid: ['sub'] },
    responseTypes: ['code'],
    // private_key_jwt: clients whose metadata document names a key set (jwks_uri), as ChatGPT's does.
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      // MCP clients are public clients: PKCE, no secret.
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: SIGNING_ALG,
    },
    enabledJWA: { idTokenSigningAlgValues: [SIGNING_ALG], clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'] },
    // A client names the redirect URI it wants; a single registered one is not assumed.
    allowOmittingSingleRegisteredRedirectUri: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: false },
      introspection: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      claimsParameter: { enabled: false },
      registration: { enabled: true, initialAccessToken: false, issueRegistrationAccessToken: false },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      clientIdMetadataDocument: {
        enabled: options.metadataDocuments,
        ack: 'draft-02',
        // The fetch itself enforces the address policy (outbound-fetch.ts); https is required by the provider.
        allowFetch: () => true,
        allowClient: () => true,
        cacheDuration: { min: 5 * MINUTE, max: DAY },
      },
      resourceIndicators: {
        enabled: true,
        // No resource, no token: a token must be bound to the one MCP endpoint it is for.
        defaultResource: (_ctx, _client, oneOf) => {
          if (oneOf !== undefined && (!Array.isArray(oneOf) || oneOf.length === 1)) return Array.isArray(oneOf) ? (oneOf[0] as string) : oneOf;
          throw new errors.InvalidTarget(`the resource parameter is required: the URL of the MCP endpoint, e.g. ${issuer}/t/{tenant}/mcp`);
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const resource = parseMcpResource(issuer, indicator);
          if (!resource) throw new errors.InvalidTarget(`the resource must be an MCP endpoint of this gateway, e.g. ${issuer}/t/{tenant}/mcp`);
          // Opaque, not JWT: oidc-provider then keeps each access token through the adapter, so
          // that the revocation endpoint (RFC 7009) ends one at once on every replica; it refuses
          // to revoke JWTs. The gateway is its own only resource server and looks tokens up in
          // the database on each request anyway (the grant check), so nothing is lost.
          return {
            scope: MCP_SCOPES.join(' '),
            audience: resource.url,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
    // The tenant picked at consent is kept with the token (its grant is kept anyway).
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind !== 'AccessToken' || typeof token.grantId !== 'string') return undefined;
      const consent = await storage.consents.findByGrant(token.grantId);
      if (!consent) throw new errors.InvalidGrant('the approval behind this grant was withdrawn');
      return { [TENANT_CLAIM]: consent.tenantId };
    },
    loadExistingGrant: async (ctx) => {
      const { oidc } = ctx;
      const granted = oidc.result?.consent?.grantId;
      if (granted) return oidc.provider.Grant.find(granted);
      const accountId = oidc.session?.accountId;
      const clientId = oidc.client?.clientId;
      const resource = singleResource(oidc.params ?? {});
      if (!accountId || !clientId || !resource) return undefined;
      const consent = await storage.consents.find(accountId, clientId, resource);
      // Remembered only while the person still belongs to the tenant it was given for.
      if (!consent || !(await storage.membership(accountId, { id: consent.tenantId }))) return undefined;
      return oidc.provider.Grant.find(consent.grantId);
    },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    // Tokens belong to the grant, not to the provider's browser session.
    expiresWithSession: () => false,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    interactions: { policy, url: (_ctx, interaction) => `${OAUTH_MOUNT}/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: MINUTE,
      ClientCredentials: accessTokenTtl,
      DeviceCode: 10 * MINUTE,
      BackchannelAuthenticationRequest: 10 * MINUTE,
      Grant: GRANT_TTL_S,
      IdToken: ID_TOKEN_TTL_S,
      Interaction: 30 * MINUTE,
      RefreshToken: REFRESH_TOKEN_TTL_S,
      Session: DAY,
    },
    extraClientMetadata: {
      // Not an extra property: its hook is where a registration's application type is settled.
      properties: ['application_type'],
      validator: (ctx, key, _value, metadata) => {
        if (key !== 'application_type' || ctx?.oidc?.route !== 'registration') return;
        // The type as sent: by now a missing one reads `web`, the provider's default.
        const sent = ctx.oidc.body?.['application_type'];
        if (isNativeClient(sent, metadata['redirect_uris'])) metadata['application_type'] = 'native';
      },
    },
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false,
    fetch: readingNativeByDefault(createPolicyFetch(options.allowPrivateNetworks)) as NonNullable<Configuration['fetch']>,
    renderError: (ctx, out) => {
      ctx.type = 'html';
      const description = out.error_description ?? 'The request could not be completed.';
      const hint = isDocumentFetchFailure(description) ? `<p>${escapeHtml(DOCUMENT_FETCH_HINT)}</p>` : '';
      ctx.body = renderMessagePage('Authorization failed', description, `${hint}<p><small>Error: <code>${escapeHtml(out.error)}</code></small></p>`);
    },
  };

  const provider = new Provider(issuer, configuration);
  // The express mount pins Host and X-Forwarded-* to the issuer's, so that endpoint URLs are the public ones.
  provider.proxy = true;

  provider.use(async (ctx, next) => {
    await next();
    const oidcCtx = ctx as Partial<KoaContextWithOIDC>;
    if (oidcCtx.oidc?.route === 'discovery') describeForMcp(ctx.body);
  });

  const log = logger.child({ component: 'oauth' });
  provider.on('server_error', (_ctx: unknown, error: Error) => log.error({ err: error }, 'authorization server error'));
  // Why a client's metadata document could not be read: the page the person sees cannot say more than that it failed.
  provider.on('authorization.error', (ctx: KoaContextWithOIDC, error: Error & { error_description?: string; error_detail?: string }) => {
    if (!isDocumentFetchFailure(error.error_description)) return;
    const cause = error.cause instanceof Error ? error.cause.message : error.error_detail;
    log.warn({ clientId: ctx.oidc?.params?.['client_id'], cause }, `a client metadata document could not be fetched (${cause ?? 'no detail'}); ${DOCUMENT_FETCH_HINT}`);
  });
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => log.info({ grantId }, 'grant revoked'));
  provider.on('registration_create.success', (_ctx: unknown, client: { clientId: string }) => log.info({ clientId: client.clientId }, 'client registered'));
  return { provider, errors };
}

/** What to do when a client's metadata document cannot be fetched: most often, the gateway cannot reach the client's host. */
const DOCUMENT_FETCH_HINT =
  "The gateway reads a client's metadata document from the address its client ID names, over HTTPS. Where the gateway cannot reach it, " +
  'the operator can turn metadata documents off (BOTGATE_OAUTH_METADATA_DOCUMENTS=off); clients then register themselves instead.';

const isDocumentFetchFailure = (description: string | undefined) => description?.startsWith('client_id metadata document fetch failed') === true;

/** The notice oidc-provider prints on import under Node < 22. */
const RUNTIME_NOTICE = /Unsupported runtime/;

/**
 * Loads oidc-provider when the server starts, not when the gateway's modules
 * load: on import it prints a notice on Node < 22 ("Unsupported runtime"),
 * which would otherwise land on every CLI command's stderr. It runs on Node
 * 20, which this project supports and tests, so that notice is logged as
 * information, not as a warning an operator should act on; anything else the
 * library prints on import stays a warning.
 */
async function importOidcProvider(logger: Logger): Promise<typeof import('oidc-provider')> {
  const warn = console.warn; // oxlint-disable-line no-console -- restored below
  // oxlint-disable-next-line no-console -- the library's own console output is redirected, not produced
  console.warn = (...args: unknown[]) => {
    const message = args.map(String).join(' ');
    if (RUNTIME_NOTICE.test(message)) logger.info({ component: 'oauth' }, `${message} (Botgate supports Node 20 and is tested on it)`);
    else logger.warn({ component: 'oauth' }, message);
  };
  try {
    return await import('oidc-provider');
  } finally {
    // oxlint-disable-next-line no-console -- restoring what was replaced above
    console.warn = warn;
  }
}

/** RFC 8414 metadata as MCP clients need it: the MCP scopes, without the OpenID Connect parts that do not apply. */
function describeForMcp(metadata: unknown): void {
  if (!metadata || typeof metadata !== 'object') return;
  const body = metadata as Record<string, unknown>;
  body['scopes_supported'] = [...MCP_SCOPES, 'offline_access'];
  body['response_modes_supported'] = ['query'];
  for (const key of ['claims_supported', 'claim_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported', 'claims_parameter_supported']) {
    delete body[key];
  }
}
