import { Router } from 'express';
import * as z from 'zod';
import type { TenancyModule } from '../../tenancy/index.ts';
import { requirePermission } from '../auth.ts';
import { contextOf, parseInput, principalOf } from '../http.ts';

const deleteTenantBody = z.strictObject({ confirm: z.string() });

export interface TenantRouteDependencies {
  tenancy: TenancyModule;
}

/**
 * The caller's tenant as a whole. Once a deletion is committed, every node (this one too) hears
 * of it on the change bus and lets go of the tenant: see `forgetDeletedTenants` in compose.ts.
 */
export function createTenantRoutes({ tenancy }: TenantRouteDependencies): Router {
  const router = Router();

  router.delete('/tenant', requirePermission('tenant:delete'), async (req, res) => {
    const body = parseInput(deleteTenantBody, req.body, 'body');
    const { tenant, actor } = principalOf(res);
    const context = contextOf(req, res);
    await tenancy.tenants.remove(tenant, context, body.confirm);
    // The tenant's own trail is gone with it: this line and tenant_deletions are what remain.
    req.log.warn({ tenantId: tenant.id, slug: tenant.slug, actor, requestId: context.requestId }, 'tenant deleted');
    res.status(204).end();
  });

  return router;
}
