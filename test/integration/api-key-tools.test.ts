import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

describeEachDatabase('API keys restricted to tools', (use) => {
  it('stores the restriction and hands it to the principal, through rotation too', async () => {
    const tenancy = createTenancyModule({ db: use().db });
    const tenant = await tenancy.tenants.create(operator, { slug: `kt-${randomUUID().slice(0, 8)}` });
    const key = await tenancy.apiKeys.create(tenant.id, operator, {
      name: 'files only',
      scopes: ['mcp'],
      tools: ['files', 'gh__list_issues'],
    });

    expect(key.tools).toEqual(['files', 'gh__list_issues']);
    expect((await tenancy.apiKeys.authenticate(key.secret))?.tools).toEqual(['files', 'gh__list_issues']);
    const { key: successor } = await tenancy.apiKeys.rotate(tenant.id, operator, key.id, 0);
    expect((await tenancy.apiKeys.authenticate(successor.secret))?.tools).toEqual(['files', 'gh__list_issues']);
  });

  it('leaves keys without a restriction unrestricted', async () => {
    const tenancy = createTenancyModule({ db: use().db });
    const tenant = await tenancy.tenants.create(operator, { slug: `ku-${randomUUID().slice(0, 8)}` });
    const key = await tenancy.apiKeys.create(tenant.id, operator, { name: 'all', scopes: ['mcp'] });
    expect((await tenancy.apiKeys.authenticate(key.secret))?.tools).toBeNull();
  });

  it('refuses a malformed restriction and stores nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: `kb-${randomUUID().slice(0, 8)}` });
    const before = await countRows(db, 'api_keys');
    await expect(
      tenancy.apiKeys.create(tenant.id, operator, { name: 'bad', scopes: ['mcp'], tools: ['Files!'] }),
    ).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/^tools/) as unknown });
    expect(await countRows(db, 'api_keys')).toBe(before);
  });
});
