import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import type { Db } from '../../src/shared/db.ts';
import { createTenancyModule, type AuditEvent, type TenancyModule } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

function uniqueSlug(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** The events `change` adds to the tenant's trail, oldest first. */
async function eventsOf(tenancy: TenancyModule, tenantId: string, change: () => Promise<unknown>): Promise<AuditEvent[]> {
  const seen = new Set((await tenancy.audit.list(tenantId, { limit: 1000 })).events.map((e) => e.id));
  await change();
  const { events } = await tenancy.audit.list(tenantId, { limit: 1000 });
  return events.filter((e) => !seen.has(e.id)).reverse();
}

/** Every stored before/after of the tenant as raw JSON text, read as owner. */
async function storedJson(db: Db, tenantId: string): Promise<string> {
  const result = await sql<{ json: string }>`
    select coalesce(before::text, '') || ' ' || coalesce(after::text, '') as json
      from audit_events where tenant_id = ${tenantId}`.execute(db);
  return result.rows.map((r) => r.json).join('\n');
}

describeEachDatabase('audit trail', (use) => {
  it('records each change once, with actor, origin, resource and before/after', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const actorId = randomUUID();
    const suffix = randomUUID().slice(0, 8);
    const context = {
      actor: { type: 'user', id: actorId },
      ip: '203.0.113.7',
      userAgent: 'botgate-test/1.0',
      requestId: 'req-42',
    } as const;
    const tenant = await tenancy.tenants.create(context, { slug: uniqueSlug('trail'), name: 'Trail' });
    const tenantId = tenant.id;
    const { events: created } = await tenancy.audit.list(tenantId, { limit: 10 });
    expect(created).toEqual([
      expect.objectContaining({
        ...context,
        action: 'tenant.create',
        resourceType: 'tenant',
        resourceId: tenantId,
        before: null,
        after: { id: tenantId, slug: tenant.slug, name: 'Trail', createdAt: tenant.createdAt.toISOString() },
      }),
    ]);

    let userId = '';
    const added = await eventsOf(tenancy, tenantId, async () => {
      userId = (await tenancy.members.add(tenantId, context, { email: `Ada-${suffix}@Example.com`, role: 'admin' })).member.userId;
    });
    expect(added).toEqual([
      expect.objectContaining({
        ...context,
        action: 'member.add',
        resourceType: 'member',
        resourceId: userId,
        before: null,
        after: { email: `ada-${suffix}@example.com`, role: 'admin', createdUser: true },
      }),
    ]);

    const promoted = await eventsOf(tenancy, tenantId, () => tenancy.members.changeRole(tenantId, context, userId, 'owner'));
    expect(promoted).toEqual([
      expect.objectContaining({
        action: 'member.update',
        resourceId: userId,
        before: { email: `ada-${suffix}@example.com`, role: 'admin' },
        after: { email: `ada-${suffix}@example.com`, role: 'owner' },
      }),
    ]);

    let keyId = '';
    const keyCreated = await eventsOf(tenancy, tenantId, async () => {
      keyId = (await tenancy.apiKeys.create(tenantId, context, { name: 'ci', scopes: ['mcp'] })).id;
    });
    expect(keyCreated).toEqual([
      expect.objectContaining({
        ...context,
        action: 'api_key.create',
        resourceType: 'api_key',
        resourceId: keyId,
        before: null,
        after: expect.objectContaining({ id: keyId, name: 'ci', scopes: ['mcp'], revokedAt: null }),
      }),
    ]);

    // Rotation is two changes: a new key, and the old key's shortened life.
    let nextId = '';
    const rotated = await eventsOf(tenancy, tenantId, async () => {
      nextId = (await tenancy.apiKeys.rotate(tenantId, context, keyId, 60_000)).key.id;
    });
    expect(rotated).toEqual([
      expect.objectContaining({ action: 'api_key.rotate', resourceId: nextId, before: null }),
      expect.objectContaining({
        action: 'api_key.update',
        resourceId: keyId,
        before: expect.objectContaining({ replacedBy: null, expiresAt: null }),
        after: expect.objectContaining({ replacedBy: nextId, expiresAt: expect.any(String) }),
      }),
    ]);

    const revoked = await eventsOf(tenancy, tenantId, () => tenancy.apiKeys.revoke(tenantId, context, nextId));
    expect(revoked).toEqual([
      expect.objectContaining({
        action: 'api_key.revoke',
        resourceId: nextId,
        before: expect.objectContaining({ revokedAt: null }),
        after: expect.objectContaining({ revokedAt: expect.any(String) }),
      }),
    ]);

    await tenancy.members.add(tenantId, context, { email: `grace-${suffix}@example.com`, role: 'owner' });
    const removed = await eventsOf(tenancy, tenantId, () => tenancy.members.remove(tenantId, context, userId));
    expect(removed).toEqual([
      expect.objectContaining({
        ...context,
        action: 'member.remove',
        resourceType: 'member',
        resourceId: userId,
        before: { email: `ada-${suffix}@example.com`, role: 'owner' },
        after: null,
      }),
    ]);
  });

  it('records nothing for reads and refused changes', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('quiet') });
    const key = await tenancy.apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['read'] });

    const events = await eventsOf(tenancy, tenant.id, async () => {
      await tenancy.apiKeys.list(tenant.id);
      await tenancy.apiKeys.get(tenant.id, key.id);
      await tenancy.members.list(tenant.id);
      await tenancy.apiKeys.authenticate(key.secret);
      await tenancy.apiKeys.create(tenant.id, operator, { name: '', scopes: ['mcp'] }).catch(() => undefined);
      await tenancy.members.remove(tenant.id, operator, randomUUID()).catch(() => undefined);
      await tenancy.tenants.create(operator, { slug: tenant.slug }).catch(() => undefined);
    });

    expect(events).toEqual([]);
  });

  it('never stores a key secret, a key digest or a password, even in nested fields', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('secrets') });
    const password = 'a long and secret password';
    const { member } = await tenancy.members.add(tenant.id, operator, { email: `${randomUUID()}@example.com`, role: 'owner', password });
    const first = await tenancy.apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['admin'], userId: member.userId });
    const { key: second } = await tenancy.apiKeys.rotate(tenant.id, operator, first.id, 60_000);
    await tenancy.apiKeys.revoke(tenant.id, operator, second.id);
    const digests = await db.selectFrom('api_keys').select('digest').where('tenant_id', '=', tenant.id).execute();
    const hashes = await db.selectFrom('users').select('password_hash').where('id', '=', member.userId).execute();

    const json = await storedJson(db, tenant.id);

    expect(json).toContain(first.id);
    expect(digests).toHaveLength(2);
    const forbidden = [first.secret, second.secret, password, ...digests.map((d) => d.digest), ...hashes.map((h) => h.password_hash ?? '')];
    for (const value of forbidden) {
      expect(value.length).toBeGreaterThan(20);
      expect(json).not.toContain(value);
    }
    expect(json).not.toMatch(/"(secret|digest|password\w*)"\s*:\s*"(?!\[redacted\])/i);
  });

  it('truncates a very long user agent instead of storing it whole', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const context = { ...operator, userAgent: 'x'.repeat(5000) };

    const tenant = await tenancy.tenants.create(context, { slug: uniqueSlug('ua') });

    const [event] = (await tenancy.audit.list(tenant.id, { limit: 1 })).events;
    expect(event?.userAgent).toBe('x'.repeat(512));
  });
});
