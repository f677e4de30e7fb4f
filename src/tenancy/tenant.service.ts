import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../shared/db.ts';
import { APP_ROLE, isUniqueViolation, withAuthenticator, withTenant } from '../shared/db.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { recordAudit } from './audit.ts';
import { destroyTenantGrants } from './oauth.service.ts';
import { deleteTenant, findTenantBySlug, insertTenant, insertTenantDeletion, listTenants, lockTenant } from './tenant.repository.ts';
import type { RequestContext, Tenant } from './types.ts';
import { nameSchema, slugSchema } from './validation.ts';
import { parseOrThrow } from './parse.ts';

export interface TenantService {
  create(context: RequestContext, input: { slug: string; name?: string | undefined }): Promise<Tenant>;
  /** The tenant with this slug; 404 when there is none. */
  getBySlug(slug: string): Promise<Tenant>;
  /** Every tenant, by slug: for the operator, who sees them all (`botgate tenant list`). */
  list(): Promise<Tenant[]>;
  /**
   * Deletes the tenant and, by cascade, all of its data; `confirm` must be its slug. The OAuth
   * grants given for it go in the same transaction, with every token issued under them. The
   * deletion is recorded in `tenant_deletions` there too, since the tenant's own audit trail goes
   * with it. Returns the deleted tenant; 404 when it was already gone.
   */
  remove(tenant: Tenant, context: RequestContext, confirm: unknown): Promise<Tenant>;
}

export function createTenantService({
  db,
  onTenantDeleted,
}: {
  db: Db;
  /** Called once the deletion is committed: whatever is kept of the tenant in memory must go at once. */
  onTenantDeleted?: (tenantId: string) => void;
}): TenantService {
  return {
    async create(context, input) {
      const slug = parseOrThrow(slugSchema, input.slug, 'slug');
      const name = parseOrThrow(nameSchema, input.name ?? slug, 'name');
      if (await withAuthenticator(db, (trx) => findTenantBySlug(trx, slug))) {
        throw new AppError('conflict', `a tenant with slug "${slug}" already exists`);
      }
      const id = randomUUID();
      return withTenant(db, id, async (trx) => {
        const tenant = await insertTenant(trx, { id, slug, name });
        await recordAudit(trx, id, context, {
          action: 'tenant.create',
          resourceType: 'tenant',
          resourceId: id,
          after: tenant,
        });
        return tenant;
      }).catch((error: unknown) => {
        throw isUniqueViolation(error) ? new AppError('conflict', `a tenant with slug "${slug}" already exists`) : error;
      });
    },

    async getBySlug(slug) {
      const tenant = slugSchema.safeParse(slug).success
        ? await withAuthenticator(db, (trx) => findTenantBySlug(trx, slug))
        : undefined;
      if (!tenant) throw notFound('tenant');
      return tenant;
    },

    list: () => withAuthenticator(db, listTenants),

    async remove(tenant, context, confirm) {
      if (confirm !== tenant.slug) {
        throw new AppError('validation_failed', `confirm: must be the tenant's slug, "${tenant.slug}"`, { details: { field: 'confirm' } });
      }
      const deleted = await withTenant(db, tenant.id, async (trx) => {
        // Locked first: an OAuth approval given for the tenant meanwhile waits and then fails, so the
        // grants found next are all there are. They go while the consents naming them still exist.
        if (!(await lockTenant(trx, tenant.id))) return undefined;
        await destroyTenantGrants(trx, tenant.id);
        await sql`select set_config('role', ${APP_ROLE}, true)`.execute(trx);
        // The application role, confined by row-level security to this tenant, deletes its row; the
        // cascades run as the tables' owner, so they reach tables the role may not delete from itself.
        const removed = await deleteTenant(trx, tenant.id);
        if (removed) await insertTenantDeletion(trx, removed, context);
        return removed;
      });
      if (!deleted) throw notFound('tenant');
      onTenantDeleted?.(tenant.id);
      return deleted;
    },
  };
}
