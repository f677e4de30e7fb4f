import { randomUUID } from 'node:crypto';
import type { Db } from '../shared/db.ts';
import { isUniqueViolation, withAuthenticator, withTenant } from '../shared/db.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { recordAudit } from './audit.ts';
import { findTenantBySlug, insertTenant } from './tenant.repository.ts';
import type { RequestContext, Tenant } from './types.ts';
import { nameSchema, slugSchema } from './validation.ts';
import { parseOrThrow } from './parse.ts';

export interface TenantService {
  create(context: RequestContext, input: { slug: string; name?: string | undefined }): Promise<Tenant>;
  /** The tenant with this slug; 404 when there is none. */
  getBySlug(slug: string): Promise<Tenant>;
}

export function createTenantService({ db }: { db: Db }): TenantService {
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
  };
}
