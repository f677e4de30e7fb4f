import express, { Router } from 'express';
import type { OAuthStorage, SessionService } from '../../tenancy/index.ts';
import { contextOf, param } from '../http.ts';
import { checkCsrf, loginUrl, readSession } from '../session/index.ts';
import { sendOAuthPage } from './page-response.ts';
import { renderConsentsPage, renderMessagePage } from './pages.ts';
import { OAUTH_MOUNT } from './provider.ts';

const parseForm = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 5 });

/**
 * `/oauth/consents`: the clients a signed-in person has connected, and the
 * button that withdraws one (the approval, its grant and every token of it).
 */
export function createConsentRoutes(deps: { storage: OAuthStorage; sessions: SessionService }): Router {
  const router = Router();
  const page = `${OAUTH_MOUNT}/consents`;

  router.get(page, async (req, res) => {
    const session = await readSession(req, deps.sessions);
    if (!session) return res.redirect(303, loginUrl(page));
    const [consents, memberships] = await Promise.all([deps.storage.consents.list(session.user.id), deps.sessions.memberships(session.user.id)]);
    const slugs = new Map(memberships.map((m) => [m.tenant.id, m.tenant.slug]));
    const rows = consents.map((c) => ({
      id: c.id,
      clientName: c.clientName ?? c.clientId,
      clientId: c.clientId,
      resource: c.resource,
      tenant: slugs.get(c.tenantId) ?? 'no longer yours',
      scopes: c.scopes,
      updatedAt: c.updatedAt,
    }));
    return sendOAuthPage(res, 200, renderConsentsPage({ userEmail: session.user.email, consents: rows, csrfToken: session.csrfToken }));
  });

  router.post(`${page}/:id/revoke`, parseForm, async (req, res) => {
    const session = await readSession(req, deps.sessions);
    if (!session) return res.redirect(303, loginUrl(page));
    try {
      checkCsrf(req, session);
    } catch {
      return sendOAuthPage(res, 403, renderMessagePage('This form has expired', 'The request could not be verified as coming from this page. Nothing was changed.'));
    }
    const context = { ...contextOf(req, res), actor: { type: 'user' as const, id: session.user.id } };
    const revoked = await deps.storage.consents.revoke(context, session.user.id, param(req, 'id'));
    // Another person's approval looks exactly like one that does not exist.
    if (!revoked) return sendOAuthPage(res, 404, renderMessagePage('Not found', 'There is no such connected client.'));
    return res.redirect(303, page);
  });

  return router;
}
