import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { AppError } from '../../src/shared/errors.ts';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

function uniqueSlug(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

describeEachDatabase('tenants', (use) => {
  it('creates a tenant that can be found by its slug, with the slug as default name', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const slug = uniqueSlug('acme');

    const tenant = await tenancy.tenants.create(operator, { slug });

    expect(tenant).toEqual({ id: expect.any(String), slug, name: slug, createdAt: expect.any(Date) });
    expect(await tenancy.tenants.getBySlug(slug)).toEqual(tenant);
    const stored = await db.selectFrom('tenants').selectAll().where('id', '=', tenant.id).execute();
    expect(stored).toHaveLength(1);
  });

  it('refuses a duplicate slug with a conflict and changes nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const slug = uniqueSlug('dup');
    const first = await tenancy.tenants.create(operator, { slug, name: 'First' });
    const tenantsBefore = await countRows(db, 'tenants');
    const eventsBefore = await countRows(db, 'audit_events');

    const attempt = tenancy.tenants.create(operator, { slug, name: 'Second' });

    await expect(attempt).rejects.toBeInstanceOf(AppError);
    await expect(attempt).rejects.toMatchObject({ code: 'conflict', message: `a tenant with slug "${slug}" already exists` });
    expect(await countRows(db, 'tenants')).toBe(tenantsBefore);
    expect(await countRows(db, 'audit_events')).toBe(eventsBefore);
    expect(await tenancy.tenants.getBySlug(slug)).toEqual(first);
  });

  it('lets only one of two simultaneous creations with the same slug win', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const slug = uniqueSlug('race');

    const results = await Promise.allSettled([
      tenancy.tenants.create(operator, { slug, name: 'One' }),
      tenancy.tenants.create(operator, { slug, name: 'Two' }),
    ]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toMatchObject({ name: 'AppError', code: 'conflict' });
    const rows = await db.selectFrom('tenants').select('id').where('slug', '=', slug).execute();
    expect(rows).toHaveLength(1);
    const events = await db.selectFrom('audit_events').select('id').where('tenant_id', '=', rows[0]?.id ?? '').execute();
    expect(events).toHaveLength(1);
  });

  it.each([
    ['uppercase', 'Acme'],
    ['leading dash', '-acme'],
    ['64 characters', 'a'.repeat(64)],
    ['empty', ''],
    ['SQL', "a'; drop table tenants;--"],
    ['path traversal', '../acme'],
  ])('refuses a slug with %s as validation_failed, naming the field, and changes nothing', async (_why, slug) => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenantsBefore = await countRows(db, 'tenants');
    const eventsBefore = await countRows(db, 'audit_events');

    const attempt = tenancy.tenants.create(operator, { slug, name: 'Acme' });

    await expect(attempt).rejects.toMatchObject({
      name: 'AppError',
      code: 'validation_failed',
      message: expect.stringMatching(/^slug: /),
    });
    expect(await countRows(db, 'tenants')).toBe(tenantsBefore);
    expect(await countRows(db, 'audit_events')).toBe(eventsBefore);
  });

  it('stores a name full of quotes and SQL verbatim, and every table survives', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const name = 'O\'Brien & "Sons" \'; drop table users;-- \\ $$ `';
    const usersBefore = await countRows(db, 'users');

    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('quotes'), name });

    expect(tenant.name).toBe(name);
    expect((await tenancy.tenants.getBySlug(tenant.slug)).name).toBe(name);
    const stored = await db.selectFrom('tenants').select('name').where('id', '=', tenant.id).executeTakeFirstOrThrow();
    expect(stored.name).toBe(name);
    expect(await countRows(db, 'users')).toBe(usersBefore);
    expect(await countRows(db, 'tenants')).toBeGreaterThan(0);
  });

  it.each([
    ['blank', '   '],
    ['a control character', 'bad\u0007name'],
    ['201 characters', 'n'.repeat(201)],
  ])('refuses a name that is %s as validation_failed and changes nothing', async (_why, name) => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const slug = uniqueSlug('badname');
    const tenantsBefore = await countRows(db, 'tenants');

    await expect(tenancy.tenants.create(operator, { slug, name })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/^name: /),
    });
    expect(await countRows(db, 'tenants')).toBe(tenantsBefore);
    await expect(tenancy.tenants.getBySlug(slug)).rejects.toMatchObject({ code: 'not_found' });
  });

  it.each([
    ['an unknown slug', 'no-such-tenant-x'],
    ['an invalid slug', "a' or '1'='1"],
  ])('answers not_found for %s', async (_why, slug) => {
    const tenancy = createTenancyModule({ db: use().db });

    await expect(tenancy.tenants.getBySlug(slug)).rejects.toMatchObject({ name: 'AppError', code: 'not_found' });
  });
});
