import { Router } from 'express';
import type { OAuthClientConfig } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { OAuthStorage, SessionService } from '../../tenancy/index.ts';
import { createAccessTokenVerifier } from './access-token.ts';
import { createConsentRoutes } from './consents.routes.ts';
import { createInteractionRoutes, type EndpointExists, type RunningProvider } from './interaction.routes.ts';
import { createOAuthRoutes, pinForwardedHeaders } from './oauth.routes.ts';
import { createProvider, OAUTH_MOUNT } from './provider.ts';
import { createOAuthResourceServer, type OAuthResourceServer, type TokenIssuer } from './resource-server.ts';
import { deriveCookieKeys, loadSigningKeys } from './signing-keys.ts';

export interface OAuthModule {
  /**
   * Loads (or, on the first start of a fresh database, makes) the signing keys
   * and starts the authorization server for `issuer`: PUBLIC_URL, or the URL
   * the gateway listens on, known only once it listens. Before this, OAuth
   * paths answer 503 and MCP endpoints accept API keys only.
   */
  start(issuer: string): Promise<void>;
  /** `/.well-known/oauth-*`, `/oauth/*`: mount before the MCP routes. */
  router: Router;
  /** The MCP endpoints' side: access-token checks and challenges. */
  resourceServer: OAuthResourceServer;
  /** Stops the periodic clean-up of expired state. */
  close(): void;
}

export interface OAuthModuleDeps {
  storage: OAuthStorage;
  sessions: SessionService;
  /** Seals the signing keys; cookie keys derive from it. The same on every replica. */
  secretKey: Buffer;
  /** Pre-registered clients (BOTGATE_OAUTH_CLIENTS). */
  clients: readonly OAuthClientConfig[];
  /** Private networks client metadata documents may be fetched from (BOTGATE_ALLOW_PRIVATE_NETWORKS). */
  allowPrivateNetworks: readonly string[];
  /** Seconds an access token lives (BOTGATE_OAUTH_ACCESS_TOKEN_TTL). */
  accessTokenTtl: number;
  /** Whether clients may identify themselves by a metadata document (BOTGATE_OAUTH_METADATA_DOCUMENTS); on when absent. */
  metadataDocuments?: boolean;
  logger: Logger;
  /** Whether a tenant has the server or bot an endpoint names: a person approves a client only for one that exists. */
  endpointExists: EndpointExists;
}

const CLEANUP_INTERVAL_MS = 10 * 60_000;

/** The gateway as OAuth 2.1 authorization server for MCP clients, and its MCP endpoints as resource servers. */
export function createOAuthModule(deps: OAuthModuleDeps): OAuthModule {
  let running: (RunningProvider & TokenIssuer) | undefined;
  let cleanup: NodeJS.Timeout | undefined;
  const current = () => running;

  const router = Router();
  // The interaction pages use the provider's API on the request too: the same headers apply.
  router.use(OAUTH_MOUNT, (req, _res, next) => {
    if (running) pinForwardedHeaders(running.issuer, req);
    next();
  });
  router.use(createInteractionRoutes({ running: current, storage: deps.storage, sessions: deps.sessions, endpointExists: deps.endpointExists }));
  router.use(createConsentRoutes({ storage: deps.storage, sessions: deps.sessions }));
  router.use(createOAuthRoutes({ running: current, storage: deps.storage }));

  return {
    router,
    resourceServer: createOAuthResourceServer({ storage: deps.storage, issuer: current }),

    async start(issuer) {
      const keys = await loadSigningKeys(deps.storage, deps.secretKey);
      const { provider, errors } = await createProvider({
        issuer,
        storage: deps.storage,
        keys,
        cookieKeys: deriveCookieKeys(deps.secretKey),
        clients: deps.clients,
        allowPrivateNetworks: deps.allowPrivateNetworks,
        accessTokenTtl: deps.accessTokenTtl,
        metadataDocuments: deps.metadataDocuments ?? true,
        logger: deps.logger,
      });
      // Fail at start, not at a client's first request, when an operator's client is invalid.
      for (const client of deps.clients) {
        try {
          await provider.Client.find(client.client_id);
        } catch (error) {
          throw new Error(`BOTGATE_OAUTH_CLIENTS: client ${client.client_id} is invalid: ${(error as { error_description?: string }).error_description ?? String(error)}`, { cause: error });
        }
      }
      running = {
        provider,
        handle: provider.callback(),
        issuer,
        errors,
        preRegistered: new Set(deps.clients.map((c) => c.client_id)),
        verify: createAccessTokenVerifier((token) => provider.AccessToken.find(token)),
      };
      const sweep = () =>
        deps.storage.deleteExpired().catch((error: unknown) => deps.logger.warn({ err: error }, 'deleting expired OAuth state failed'));
      cleanup = setInterval(() => void sweep(), CLEANUP_INTERVAL_MS);
      cleanup.unref();
    },

    close() {
      if (cleanup) clearInterval(cleanup);
    },
  };
}

export type { OAuthAccess, OAuthResourceServer } from './resource-server.ts';
export type { EndpointExists } from './interaction.routes.ts';
