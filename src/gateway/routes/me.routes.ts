import { Router } from 'express';
import { sessionOf } from '../auth.ts';
import { principalOf } from '../http.ts';
import { tenantJson } from '../serialize.ts';

/** `GET /api/v1/me`: who the credential is; for a browser session, also its CSRF token. */
export function createMeRoutes(): Router {
  const router = Router();
  router.get('/me', (_req, res) => {
    const principal = principalOf(res);
    const session = sessionOf(res);
    res.json({
      tenant: tenantJson(principal.tenant),
      actor: principal.actor,
      key: principal.keyId === null ? null : { id: principal.keyId, scopes: principal.scopes, tools: principal.tools },
      user_id: principal.userId,
      role: principal.role,
      ...(session && {
        session: { user: session.user, expires_at: session.expiresAt.toISOString() },
        csrf_token: session.csrfToken,
      }),
    });
  });
  return router;
}
