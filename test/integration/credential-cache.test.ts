import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { createApiKeyService } from '../../src/tenancy/api-key.service.ts';
import { createCredentialCache } from '../../src/tenancy/credential-cache.ts';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

// The gateway caches resolved keys on the embedded database, where every change passes through it.
describeEachDatabase('cached API keys', (use) => {
  it('answers from memory once resolved: the database is not read again', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db, cacheCredentials: true });
    const tenant = await tenancy.tenants.create(operator, { slug: `cache-${randomUUID().slice(0, 8)}` });
    const issued = await tenancy.apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['mcp'] });
    expect(await tenancy.apiKeys.authenticate(issued.secret)).toMatchObject({ keyId: issued.id });
    // Changed behind the service's back (never done by the gateway): the cached answer stands.
    await sql`update api_keys set scopes = '{read}' where id = ${issued.id}`.execute(db);
    expect(await tenancy.apiKeys.authenticate(issued.secret)).toMatchObject({ scopes: ['mcp'] });
  });

  it('refuses a key at once after it is revoked or its member leaves, and sees a role change', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db, cacheCredentials: true });
    const tenant = await tenancy.tenants.create(operator, { slug: `cache-${randomUUID().slice(0, 8)}` });
    const revoked = await tenancy.apiKeys.create(tenant.id, operator, { name: 'r', scopes: ['mcp'] });
    const { member } = await tenancy.members.add(tenant.id, operator, { email: `${randomUUID()}@example.com`, role: 'member' });
    const members = await tenancy.apiKeys.create(tenant.id, operator, { name: 'm', scopes: ['mcp'], userId: member.userId });
    for (const key of [revoked, members]) expect(await tenancy.apiKeys.authenticate(key.secret)).toBeDefined();

    await tenancy.apiKeys.revoke(tenant.id, operator, revoked.id);
    expect(await tenancy.apiKeys.authenticate(revoked.secret)).toBeUndefined();
    await tenancy.members.changeRole(tenant.id, operator, member.userId, 'auditor');
    expect(await tenancy.apiKeys.authenticate(members.secret)).toMatchObject({ role: 'auditor' });
    await tenancy.members.remove(tenant.id, operator, member.userId);
    expect(await tenancy.apiKeys.authenticate(members.secret)).toBeUndefined();

  });

  it('refuses a cached key once it has expired', async () => {
    const { db } = use();
    let at = Date.now();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: `cache-${randomUUID().slice(0, 8)}` });
    const apiKeys = createApiKeyService({ db, now: () => new Date(at), cache: createCredentialCache({ enabled: true }) });
    const issued = await apiKeys.create(tenant.id, operator, { name: 'e', scopes: ['mcp'], expiresInMs: 60_000 });
    expect(await apiKeys.authenticate(issued.secret)).toBeDefined();
    at += 60_001;
    expect(await apiKeys.authenticate(issued.secret)).toBeUndefined();
  });
});
