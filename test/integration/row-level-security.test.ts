import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { withTenant } from '../../src/shared/db.ts';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

describeEachDatabase('row-level security', (use) => {
  it('confines a query that forgets the tenant filter to the current tenant', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: `rls-a-${randomUUID().slice(0, 8)}` });
    const b = await tenancy.tenants.create(operator, { slug: `rls-b-${randomUUID().slice(0, 8)}` });
    await tenancy.apiKeys.create(a.id, operator, { name: 'a-key', scopes: ['mcp'] });
    await tenancy.apiKeys.create(b.id, operator, { name: 'b-key', scopes: ['mcp'] });

    // No where clause on tenant_id at all: PostgreSQL itself filters.
    const seenByA = await withTenant(db, a.id, (trx) => trx.selectFrom('api_keys').select('name').execute());
    const tenantsSeenByA = await withTenant(db, a.id, (trx) => trx.selectFrom('tenants').select('slug').execute());
    const auditSeenByA = await withTenant(db, a.id, (trx) => trx.selectFrom('audit_events').select('tenant_id').execute());

    expect(seenByA.map((k) => k.name)).toEqual(['a-key']);
    expect(tenantsSeenByA.map((t) => t.slug)).toEqual([a.slug]);
    expect(new Set(auditSeenByA.map((e) => e.tenant_id))).toEqual(new Set([a.id]));
  });

  it('refuses to write a row into another tenant and changes nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: `w-a-${randomUUID().slice(0, 8)}` });
    const b = await tenancy.tenants.create(operator, { slug: `w-b-${randomUUID().slice(0, 8)}` });
    const before = await countRows(db, 'api_keys');

    const attempt = withTenant(db, a.id, (trx) =>
      trx
        .insertInto('api_keys')
        .values({ tenant_id: b.id, name: 'smuggled', prefix: 'bgk_x', digest: randomUUID(), scopes: ['admin'] })
        .execute(),
    );

    await expect(attempt).rejects.toThrow(/row-level security/);
    expect(await countRows(db, 'api_keys')).toBe(before);
  });

  it('sees nothing when no tenant is set', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: `n-${randomUUID().slice(0, 8)}` });
    await tenancy.apiKeys.create(a.id, operator, { name: 'k', scopes: ['mcp'] });

    const rows = await db.transaction().execute(async (trx) => {
      await sql`set local role botgate_app`.execute(trx);
      return trx.selectFrom('api_keys').select('id').execute();
    });

    expect(rows).toEqual([]);
  });

  it('keeps the audit trail append-only for the application role', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: `au-${randomUUID().slice(0, 8)}` });
    const before = await countRows(db, 'audit_events');

    await expect(
      withTenant(db, a.id, (trx) => trx.updateTable('audit_events').set({ action: 'forged' }).execute()),
    ).rejects.toThrow(/permission denied/);
    await expect(withTenant(db, a.id, (trx) => trx.deleteFrom('audit_events').execute())).rejects.toThrow(
      /permission denied/,
    );

    expect(await countRows(db, 'audit_events')).toBe(before);
    const actions = await withTenant(db, a.id, (trx) => trx.selectFrom('audit_events').select('action').execute());
    expect(actions.map((e) => e.action)).toEqual(['tenant.create']);
  });
});
