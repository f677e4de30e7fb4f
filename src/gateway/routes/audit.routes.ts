import { Router } from 'express';
import * as z from 'zod';
import type { TenancyModule } from '../../tenancy/index.ts';
import { requirePermission } from '../auth.ts';
import { parseInput, principalOf } from '../http.ts';
import { auditEventJson } from '../serialize.ts';
import { visibleActors } from '../visibility.ts';

const text = z.string().min(1).max(200);

const auditQuery = z.strictObject({
  action: text.optional(),
  actor: text.optional(),
  resource_type: text.optional(),
  resource_id: text.optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/**
 * `GET /api/v1/audit`: the tenant's audit trail, newest first, filtered, cursor-paginated. A key
 * restricted to some tools reads only its own events, as it does usage and conversations: the
 * trail holds what other tools were called with.
 */
export function createAuditRoutes({ tenancy }: { tenancy: TenancyModule }): Router {
  const router = Router();
  router.get('/audit', requirePermission('audit:read'), async (req, res) => {
    const query = parseInput(auditQuery, req.query, 'query');
    const principal = principalOf(res);
    const page = await tenancy.audit.list(principal.tenant.id, {
      action: query.action,
      actorId: query.actor,
      actors: visibleActors(principal),
      resourceType: query.resource_type,
      resourceId: query.resource_id,
      since: query.since === undefined ? undefined : new Date(query.since),
      until: query.until === undefined ? undefined : new Date(query.until),
      cursor: query.cursor,
      limit: query.limit,
    });
    res.json({ events: page.events.map(auditEventJson), next_cursor: page.nextCursor });
  });
  return router;
}
