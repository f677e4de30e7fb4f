import { Router } from 'express';
import * as z from 'zod';
import type { SourcePool } from '../../servers/index.ts';
import type { TenancyModule } from '../../tenancy/index.ts';
import { requirePermission } from '../auth.ts';
import { contextOf, parseInput, principalOf } from '../http.ts';

const deleteTenantBody = z.strictObject({ confirm: z.string() });

/** The caller's tenant as a whole. */
export function createTenantRoutes({ tenancy, sources }: { tenancy: TenancyModule; sources: SourcePool }): Router {
  const router = Router();

  router.delete('/tenant', requirePermission('tenant:delete'), async (req, res) => {
    const body = parseInput(deleteTenantBody, req.body, 'body');
    const { tenant, actor } = principalOf(res);
    const context = contextOf(req, res);
    await tenancy.tenants.remove(tenant, context, body.confirm);
    // The tenant's own trail is gone with it: this line and tenant_deletions are what remain.
    req.log.warn({ tenantId: tenant.id, slug: tenant.slug, actor, requestId: context.requestId }, 'tenant deleted');
    await sources.closeTenant(tenant.id);
    res.status(204).end();
  });

  return router;
}
