import { Router } from 'express';
import * as z from 'zod';
import type { TenancyModule } from '../../tenancy/index.ts';
import { requirePermission } from '../auth.ts';
import { parseInput, principalOf } from '../http.ts';
import { usageTotalsJson } from '../serialize.ts';
import { visibleActors } from '../visibility.ts';

const usageQuery = z
  .strictObject({
    group_by: z.enum(['day', 'bot', 'model', 'principal']),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((q) => q.since === undefined || q.until === undefined || new Date(q.since) < new Date(q.until), {
    path: ['until'],
    message: 'must be later than since',
  });


/** `GET /api/v1/usage`: model calls and their cost, summed by day, bot, model or principal. */
export function createUsageRoutes({ tenancy }: { tenancy: TenancyModule }): Router {
  const router = Router();
  router.get('/usage', requirePermission('usage:read'), async (req, res) => {
    const query = parseInput(usageQuery, req.query, 'query');
    const principal = principalOf(res);
    const summary = await tenancy.usage.summarize(principal.tenant.id, {
      groupBy: query.group_by,
      since: query.since === undefined ? undefined : new Date(query.since),
      until: query.until === undefined ? undefined : new Date(query.until),
      principals: visibleActors(principal),
    });
    res.json({
      groups: summary.groups.map((group) => ({ key: group.key, ...usageTotalsJson(group) })),
      total: usageTotalsJson(summary.total),
    });
  });
  return router;
}
