import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { generateApiKey } from '../../src/tenancy/api-key.ts';
import { createApiKeyService } from '../../src/tenancy/api-key.service.ts';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';
import { fakeClock } from '../support/clock.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

function uniqueSlug(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

describeEachDatabase('api keys', (use) => {
  it('shows the secret once: list and get never carry a secret or digest', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('keys') });

    const issued = await tenancy.apiKeys.create(tenant.id, operator, { name: 'ci', scopes: ['mcp', 'read', 'mcp'] });

    expect(issued.secret).toMatch(/^bgk_[A-Za-z0-9_-]{43}$/);
    expect(issued).toMatchObject({ name: 'ci', prefix: issued.secret.slice(0, 12), scopes: ['mcp', 'read'] });
    const listed = await tenancy.apiKeys.list(tenant.id);
    const fetched = await tenancy.apiKeys.get(tenant.id, issued.id);
    for (const shown of [...listed, fetched]) {
      expect(Object.keys(shown)).not.toContain('secret');
      expect(Object.keys(shown)).not.toContain('digest');
      expect(JSON.stringify(shown)).not.toContain(issued.secret);
    }
    const { secret: _secret, ...info } = issued;
    expect(listed).toEqual([info]);
    expect(fetched).toEqual(info);
  });

  it('authenticates a tenant-level key as owner of its tenant, within its scopes', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('auth') });
    const issued = await tenancy.apiKeys.create(tenant.id, operator, { name: 'tenant-key', scopes: ['read'] });

    const principal = await tenancy.apiKeys.authenticate(issued.secret);

    expect(principal).toEqual({ tenant, actor: { type: 'api_key', id: issued.id }, keyId: issued.id, userId: null, role: 'owner', scopes: ['read'], tools: null });
  });

  it("authenticates a user's key with that member's role, and not once the membership ends", async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('userkey') });
    const { member } = await tenancy.members.add(tenant.id, operator, { email: `${randomUUID()}@example.com`, role: 'auditor' });
    const issued = await tenancy.apiKeys.create(tenant.id, operator, { name: 'mine', scopes: ['read'], userId: member.userId });

    expect(await tenancy.apiKeys.authenticate(issued.secret)).toEqual({
      tenant,
      actor: { type: 'api_key', id: issued.id },
      keyId: issued.id,
      userId: member.userId,
      role: 'auditor',
      scopes: ['read'],
      tools: null,
    });

    await tenancy.members.remove(tenant.id, operator, member.userId);

    expect(await tenancy.apiKeys.authenticate(issued.secret)).toBeUndefined();
  });

  it('refuses to make a key for someone who is not a member, and changes nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: uniqueSlug('nm-a') });
    const b = await tenancy.tenants.create(operator, { slug: uniqueSlug('nm-b') });
    const { member: ofB } = await tenancy.members.add(b.id, operator, { email: `${randomUUID()}@example.com`, role: 'owner' });
    const keysBefore = await countRows(db, 'api_keys');
    const eventsBefore = await countRows(db, 'audit_events');

    for (const userId of [ofB.userId, randomUUID(), 'not-a-uuid']) {
      await expect(tenancy.apiKeys.create(a.id, operator, { name: 'x', scopes: ['mcp'], userId })).rejects.toMatchObject({
        code: 'validation_failed',
        message: 'user: not a member of this tenant',
      });
    }
    await expect(tenancy.apiKeys.create(a.id, operator, { name: 'x', scopes: ['root' as 'mcp'] })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/^scopes: /),
    });
    expect(await countRows(db, 'api_keys')).toBe(keysBefore);
    expect(await countRows(db, 'audit_events')).toBe(eventsBefore);
  });

  it.each([
    ['an unknown well-formed key', () => generateApiKey().secret],
    ['a truncated key', () => 'bgk_abc'],
    ['a key with a Bearer prefix', () => `Bearer ${generateApiKey().secret}`],
    ['an empty string', () => ''],
    ['SQL', () => "bgk_' or '1'='1"],
  ])('authenticates nobody for %s', async (_why, presented) => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('wrong') });
    await tenancy.apiKeys.create(tenant.id, operator, { name: 'real', scopes: ['admin'] });

    expect(await tenancy.apiKeys.authenticate(presented())).toBeUndefined();
  });

  it('stops authenticating a revoked key; revoking again changes nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('revoke') });
    const issued = await tenancy.apiKeys.create(tenant.id, operator, { name: 'doomed', scopes: ['mcp'] });

    const revoked = await tenancy.apiKeys.revoke(tenant.id, operator, issued.id);
    const eventsAfterFirst = await countRows(db, 'audit_events');
    const again = await tenancy.apiKeys.revoke(tenant.id, operator, issued.id);

    expect(revoked.revokedAt).toEqual(expect.any(Date));
    expect(again).toEqual(revoked);
    expect(await countRows(db, 'audit_events')).toBe(eventsAfterFirst);
    expect(await tenancy.apiKeys.authenticate(issued.secret)).toBeUndefined();
  });

  it('stops authenticating a key once it expires', async () => {
    const { db } = use();
    const clock = fakeClock();
    const tenancy = createTenancyModule({ db });
    const apiKeys = createApiKeyService({ db, now: clock.now });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('expiry') });
    const issued = await apiKeys.create(tenant.id, operator, { name: 'short', scopes: ['mcp'], expiresInMs: 60_000 });

    expect(issued.expiresAt).toEqual(new Date(clock.now().getTime() + 60_000));
    clock.advance(59_999);
    expect(await apiKeys.authenticate(issued.secret)).toMatchObject({ keyId: issued.id });
    clock.advance(1);
    expect(await apiKeys.authenticate(issued.secret)).toBeUndefined();
  });

  it("answers not_found for another tenant's key id and leaves that key active", async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: uniqueSlug('own-a') });
    const b = await tenancy.tenants.create(operator, { slug: uniqueSlug('own-b') });
    const ofB = await tenancy.apiKeys.create(b.id, operator, { name: 'b-key', scopes: ['admin'] });
    const eventsBefore = await countRows(db, 'audit_events');
    const keysBefore = await countRows(db, 'api_keys');

    for (const id of [ofB.id, randomUUID(), 'not-a-uuid', "' or 1=1 --"]) {
      await expect(tenancy.apiKeys.get(a.id, id)).rejects.toMatchObject({ name: 'AppError', code: 'not_found' });
      await expect(tenancy.apiKeys.revoke(a.id, operator, id)).rejects.toMatchObject({ code: 'not_found' });
      await expect(tenancy.apiKeys.rotate(a.id, operator, id, 60_000)).rejects.toMatchObject({ code: 'not_found' });
    }

    expect(await tenancy.apiKeys.list(a.id)).toEqual([]);
    expect((await tenancy.apiKeys.get(b.id, ofB.id)).revokedAt).toBeNull();
    expect((await tenancy.apiKeys.get(b.id, ofB.id)).replacedBy).toBeNull();
    expect(await tenancy.apiKeys.authenticate(ofB.secret)).toMatchObject({ tenant: { id: b.id }, keyId: ofB.id });
    expect(await countRows(db, 'audit_events')).toBe(eventsBefore);
    expect(await countRows(db, 'api_keys')).toBe(keysBefore);
  });
});
