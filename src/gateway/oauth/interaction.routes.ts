import express, { Router, type Request, type Response } from 'express';
import type { Provider } from 'oidc-provider';
import type { OidcErrors } from './adapter.ts';
import { AppError } from '../../shared/errors.ts';
import type { OAuthStorage, SessionService, Tenant, ValidSession } from '../../tenancy/index.ts';
import { contextOf, param } from '../http.ts';
import { checkCsrf, loginUrl, readSession } from '../session/index.ts';
import { sendContinuePage, sendOAuthPage } from './page-response.ts';
import { renderConsentPage, renderMessagePage, renderNotMemberPage, type ConsentView } from './pages.ts';
import { OAUTH_MOUNT, singleResource } from './provider.ts';
import { MCP_SCOPES, parseMcpResource, type McpEndpoint, type McpResource } from './resource.ts';

/** What the interaction pages need of the running authorization server. */
export interface RunningProvider {
  provider: Provider;
  /** The provider's Koa app as a Node request handler. */
  handle: (req: Request, res: Response) => void;
  issuer: string;
  /** oidc-provider's error classes. */
  errors: OidcErrors;
  /** Client ids the operator registered (BOTGATE_OAUTH_CLIENTS). */
  preRegistered: ReadonlySet<string>;
}

/** Whether the tenant has the server or bot an endpoint serves. */
export type EndpointExists = (tenant: Tenant, endpoint: McpEndpoint) => Promise<boolean>;

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const parseForm = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

function formField(req: Request, name: string): string {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body && typeof body === 'object' ? body[name] : undefined;
  return typeof value === 'string' ? value : '';
}

function describeResource({ endpoint, tenantSlug }: McpResource): string {
  if (!endpoint) return `every tool and bot of tenant ${tenantSlug}`;
  return `the ${endpoint.kind === 'bots' ? 'bot' : 'server'} ${endpoint.slug} of tenant ${tenantSlug}`;
}

/** The page for an endpoint whose server or bot the tenant does not have. */
const noSuchEndpointPage = ({ endpoint, tenantSlug }: McpResource) =>
  renderMessagePage(
    'No such endpoint',
    `The tenant ${tenantSlug} has no ${endpoint?.kind === 'bots' ? 'bot' : 'server'} ${endpoint?.slug ?? ''}. Nothing was changed; check the URL the app was given.`,
  );

/** A text parameter of the authorization request, or ''. */
const textParam = (params: Record<string, unknown>, name: string) => (typeof params[name] === 'string' ? params[name] : '');

/** The CSP source that admits a redirect to `url`: its origin, or its scheme for app schemes (`vscode:`). */
function formTarget(url: URL | null): string | undefined {
  if (!url) return undefined;
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}

const requestedScopes = (params: Record<string, unknown>) =>
  typeof params['scope'] === 'string' ? [...new Set(params['scope'].split(' ').filter((s) => s !== ''))] : [];

/**
 * `/oauth/interaction/{uid}`: the browser steps of an authorization. Sign-in
 * is Botgate's own (`/login`, then back here); consent names the client, where
 * it sends the person back to, what it asks for and in which tenant, and needs
 * the session's CSRF token to be approved or denied.
 */
export function createInteractionRoutes(deps: {
  running: () => RunningProvider | undefined;
  storage: OAuthStorage;
  sessions: SessionService;
  endpointExists: EndpointExists;
}): Router {
  const router = Router();

  function runningOrThrow(): RunningProvider {
    const running = deps.running();
    if (!running) throw new AppError('unavailable', 'the authorization server is starting');
    return running;
  }

  /** The interaction of this browser, or a page saying it is over. */
  async function interactionOf(req: Request, res: Response, running: RunningProvider): Promise<Interaction | undefined> {
    try {
      const details = await running.provider.interactionDetails(req, res);
      if (details.uid === param(req, 'uid')) return details;
    } catch (error) {
      if (!(error instanceof running.errors.SessionNotFound)) throw error;
    }
    sendOAuthPage(res, 400, renderMessagePage('This request has expired', 'The authorization request was not found or has expired. Start again from your app.'));
    return undefined;
  }

  async function consentView(running: RunningProvider, details: Interaction, session: ValidSession, resource: McpResource) {
    const clientId = textParam(details.params, 'client_id');
    const client = await running.provider.Client.find(clientId);
    const redirect = URL.parse(textParam(details.params, 'redirect_uri'));
    const membership = await deps.storage.membership(session.user.id, { slug: resource.tenantSlug });
    const previous = await deps.storage.consents.find(session.user.id, clientId, resource.url);
    const view: Omit<ConsentView, 'csrfToken'> = {
      clientName: client?.clientName ?? clientId,
      clientId,
      clientKind: running.preRegistered.has(clientId) ? 'pre-registered' : clientId.startsWith('https://') ? 'metadata-document' : 'self-registered',
      redirectHost: redirect?.host ?? 'an unknown address',
      loopback: redirect !== null && LOOPBACK.has(redirect.hostname),
      scopes: requestedScopes(details.params).filter((s) => s !== 'offline_access' || client?.grantTypeAllowed('refresh_token')),
      resource: resource.url,
      resourceLabel: describeResource(resource),
      userEmail: session.user.email,
      tenants: membership ? [{ id: membership.tenant.id, slug: membership.tenant.slug, name: membership.tenant.name }] : [],
      formAction: `${OAUTH_MOUNT}/interaction/${details.uid}`,
      approvedBefore: previous !== undefined && membership?.tenant.id === previous.tenantId,
    };
    return { view, membership, redirectTarget: formTarget(redirect) };
  }

  function resourceOf(running: RunningProvider, details: Interaction): McpResource | undefined {
    const indicator = singleResource(details.params);
    return indicator === undefined ? undefined : parseMcpResource(running.issuer, indicator);
  }

  router.get(`${OAUTH_MOUNT}/interaction/:uid`, async (req, res) => {
    const running = runningOrThrow();
    const details = await interactionOf(req, res, running);
    if (!details) return;
    const session = await readSession(req, deps.sessions);
    if (!session) return res.redirect(303, loginUrl(`${OAUTH_MOUNT}/interaction/${details.uid}`));
    // Every flow is signed in as whoever is signed in to Botgate now; a different person restarts the checks.
    if (details.prompt.name === 'login' || details.session?.accountId !== session.user.id) {
      const next = await running.provider.interactionResult(req, res, { login: { accountId: session.user.id } }, { mergeWithLastSubmission: false });
      return sendContinuePage(res, next);
    }
    if (details.prompt.name !== 'consent') throw new AppError('bad_request', `unexpected prompt ${details.prompt.name}`);
    const resource = resourceOf(running, details);
    if (!resource) return sendOAuthPage(res, 400, renderMessagePage('Unknown endpoint', 'The app did not name one MCP endpoint of this gateway.'));
    const { view, membership, redirectTarget } = await consentView(running, details, session, resource);
    const targets = redirectTarget ? [redirectTarget] : [];
    if (!membership) {
      const page = renderNotMemberPage({ userEmail: session.user.email, tenantSlug: resource.tenantSlug, formAction: view.formAction, csrfToken: session.csrfToken });
      return sendOAuthPage(res, 403, page, targets);
    }
    if (resource.endpoint && !(await deps.endpointExists(membership.tenant, resource.endpoint))) {
      return sendOAuthPage(res, 404, noSuchEndpointPage(resource), targets);
    }
    return sendOAuthPage(res, 200, renderConsentPage({ ...view, csrfToken: session.csrfToken }), targets);
  });

  router.post(`${OAUTH_MOUNT}/interaction/:uid`, parseForm, async (req, res) => {
    const running = runningOrThrow();
    const session = await readSession(req, deps.sessions);
    if (!session) return sendOAuthPage(res, 401, renderMessagePage('Signed out', 'You are no longer signed in. Start again from your app.'));
    try {
      checkCsrf(req, session);
    } catch {
      return sendOAuthPage(res, 403, renderMessagePage('This form has expired', 'The request could not be verified as coming from this page. Nothing was changed.'));
    }
    const details = await interactionOf(req, res, running);
    if (!details) return;
    if (details.prompt.name !== 'consent' || details.session?.accountId !== session.user.id) {
      return sendOAuthPage(res, 409, renderMessagePage('Sign-in changed', 'You signed in as someone else during this request. Nothing was changed; start again from your app.'));
    }
    if (formField(req, 'decision') !== 'approve') {
      return running.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the person declined the request' }, { mergeWithLastSubmission: false });
    }
    const resource = resourceOf(running, details);
    if (!resource) return sendOAuthPage(res, 400, renderMessagePage('Unknown endpoint', 'The app did not name one MCP endpoint of this gateway.'));
    const membership = await deps.storage.membership(session.user.id, { slug: resource.tenantSlug });
    if (!membership) {
      return sendOAuthPage(res, 403, renderMessagePage('You cannot connect this client', `You are not a member of the tenant ${resource.tenantSlug}. Nothing was changed.`));
    }
    // The endpoint's path fixes the tenant: a token is for that tenant only.
    if (formField(req, 'tenant') !== membership.tenant.id) {
      return sendOAuthPage(res, 400, renderMessagePage('Choose the tenant', `This endpoint belongs to the tenant ${resource.tenantSlug}; choose it to continue. Nothing was changed.`));
    }
    // An approval is for an endpoint that exists: one given for a slug before its server or bot was created would reach it.
    if (resource.endpoint && !(await deps.endpointExists(membership.tenant, resource.endpoint))) {
      return sendOAuthPage(res, 404, noSuchEndpointPage(resource));
    }

    const clientId = textParam(details.params, 'client_id');
    const requested = requestedScopes(details.params);
    const known = new Set<string>([...MCP_SCOPES, 'offline_access']);
    const resourceScopes = requested.filter((s) => (MCP_SCOPES as readonly string[]).includes(s));
    const existing = details.grantId ? await running.provider.Grant.find(details.grantId) : undefined;
    const grant =
      existing && existing.accountId === session.user.id && existing.clientId === clientId
        ? existing
        : new running.provider.Grant({ accountId: session.user.id, clientId });
    grant.addOIDCScope(requested.filter((s) => known.has(s)));
    if (resourceScopes.length > 0) grant.addResourceScope(resource.url, resourceScopes);
    // A grant approved again keeps what it held: the approval lists all of it, not only this request's.
    const granted = grant
      .getResourceScope(resource.url)
      .split(' ')
      .filter((s) => (MCP_SCOPES as readonly string[]).includes(s));
    const grantId = await grant.save();
    const client = await running.provider.Client.find(clientId);
    const context = { ...contextOf(req, res), actor: { type: 'user' as const, id: session.user.id } };
    const consent = await deps.storage.consents.record(context, {
      userId: session.user.id,
      tenantId: membership.tenant.id,
      clientId,
      clientName: client?.clientName ?? null,
      resource: resource.url,
      scopes: granted,
      grantId,
    });
    // Deleted while this was recorded: its deletion may have withdrawn the approvals before this one was in.
    if (resource.endpoint && !(await deps.endpointExists(membership.tenant, resource.endpoint))) {
      await deps.storage.consents.revoke(context, session.user.id, consent.id);
      return sendOAuthPage(res, 404, noSuchEndpointPage(resource));
    }
    return running.provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  });

  return router;
}
