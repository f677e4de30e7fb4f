import { Router } from 'express';
import { principalOf } from '../http.ts';
import { tenantJson } from '../serialize.ts';

/** `GET /api/v1/me`: who the credential is. */
export function createMeRoutes(): Router {
  const router = Router();
  router.get('/me', (_req, res) => {
    const principal = principalOf(res);
    res.json({
      tenant: tenantJson(principal.tenant),
      actor: principal.actor,
      key: principal.keyId === null ? null : { id: principal.keyId, scopes: principal.scopes, tools: principal.tools },
      user_id: principal.userId,
      role: principal.role,
    });
  });
  return router;
}
