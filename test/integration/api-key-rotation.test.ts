import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import type { Db } from '../../src/shared/db.ts';
import { createApiKeyService } from '../../src/tenancy/api-key.service.ts';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';
import { fakeClock } from '../support/clock.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

function uniqueSlug(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** The stored last_used_at at full (microsecond) precision, read as owner. */
async function storedLastUsed(db: Db, keyId: string): Promise<string | null> {
  const result = await sql<{ at: string | null }>`select last_used_at::text as at from api_keys where id = ${keyId}`.execute(db);
  return result.rows[0]?.at ?? null;
}

/** Moves last_used_at into the past as owner: the SQL guard compares against the database's now(). */
async function backdateLastUsed(db: Db, keyId: string, interval: string): Promise<string | null> {
  await sql`update api_keys set last_used_at = now() - ${interval}::interval where id = ${keyId}`.execute(db);
  return storedLastUsed(db, keyId);
}

describeEachDatabase('api key rotation and use', (use) => {
  it('keeps the old key working for the grace period only, then only the new one', async () => {
    const { db } = use();
    const clock = fakeClock();
    const tenancy = createTenancyModule({ db });
    const apiKeys = createApiKeyService({ db, now: clock.now });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('rotate') });
    const old = await apiKeys.create(tenant.id, operator, { name: 'deploy', scopes: ['mcp', 'read'] });

    const { key: next, previous } = await apiKeys.rotate(tenant.id, operator, old.id, 3_600_000);

    expect(next.secret).not.toBe(old.secret);
    expect(next).toMatchObject({ name: 'deploy', scopes: ['mcp', 'read'], userId: null, expiresAt: null });
    expect(previous).toMatchObject({ id: old.id, replacedBy: next.id, expiresAt: new Date(clock.now().getTime() + 3_600_000) });
    expect(await apiKeys.get(tenant.id, old.id)).toMatchObject({ replacedBy: next.id });
    expect(await apiKeys.authenticate(next.secret)).toMatchObject({ keyId: next.id });
    expect(await apiKeys.authenticate(old.secret)).toMatchObject({ keyId: old.id });

    clock.advance(3_600_000 - 1);
    expect(await apiKeys.authenticate(old.secret)).toMatchObject({ keyId: old.id });
    clock.advance(1);
    expect(await apiKeys.authenticate(old.secret)).toBeUndefined();
    expect(await apiKeys.authenticate(next.secret)).toMatchObject({ keyId: next.id });
  });

  it('refuses to rotate a key twice, and changes nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('twice') });
    const old = await tenancy.apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['mcp'] });
    const { key: next } = await tenancy.apiKeys.rotate(tenant.id, operator, old.id, 60_000);
    const keysBefore = await countRows(db, 'api_keys');
    const eventsBefore = await countRows(db, 'audit_events');

    await expect(tenancy.apiKeys.rotate(tenant.id, operator, old.id, 60_000)).rejects.toMatchObject({
      name: 'AppError',
      code: 'conflict',
    });

    expect(await countRows(db, 'api_keys')).toBe(keysBefore);
    expect(await countRows(db, 'audit_events')).toBe(eventsBefore);
    expect(await tenancy.apiKeys.get(tenant.id, old.id)).toMatchObject({ replacedBy: next.id });
  });

  it('refuses to rotate a revoked key, and changes nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('rotrev') });
    const old = await tenancy.apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['mcp'] });
    await tenancy.apiKeys.revoke(tenant.id, operator, old.id);
    const keysBefore = await countRows(db, 'api_keys');

    await expect(tenancy.apiKeys.rotate(tenant.id, operator, old.id, 60_000)).rejects.toMatchObject({ code: 'conflict' });

    expect(await countRows(db, 'api_keys')).toBe(keysBefore);
    expect(await tenancy.apiKeys.get(tenant.id, old.id)).toMatchObject({ replacedBy: null });
  });

  it('never extends a key by rotating it: successor and grace both end at the original expiry', async () => {
    const { db } = use();
    const clock = fakeClock();
    const tenancy = createTenancyModule({ db });
    const apiKeys = createApiKeyService({ db, now: clock.now });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('noextend') });
    const old = await apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['mcp'], expiresInMs: 600_000 });
    clock.advance(60_000);

    const { key: next, previous } = await apiKeys.rotate(tenant.id, operator, old.id, 3_600_000);

    expect(previous.expiresAt).toEqual(old.expiresAt);
    expect(next.expiresAt).toEqual(old.expiresAt);
    clock.advance(540_000);
    expect(await apiKeys.authenticate(next.secret)).toBeUndefined();
    expect(await apiKeys.authenticate(old.secret)).toBeUndefined();
  });

  it("rotates a user's key into another key of the same user", async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('rotuser') });
    const { member } = await tenancy.members.add(tenant.id, operator, { email: `${randomUUID()}@example.com`, role: 'admin' });
    const old = await tenancy.apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['admin'], userId: member.userId });

    const { key: next } = await tenancy.apiKeys.rotate(tenant.id, operator, old.id, 60_000);

    expect(await tenancy.apiKeys.authenticate(next.secret)).toMatchObject({ userId: member.userId, role: 'admin' });
  });

  it('writes last_used_at on first use, then at most once a minute', async () => {
    const { db } = use();
    const clock = fakeClock();
    const tenancy = createTenancyModule({ db });
    const apiKeys = createApiKeyService({ db, now: clock.now });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('lastused') });
    const issued = await apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['mcp'] });
    expect(await storedLastUsed(db, issued.id)).toBeNull();

    await apiKeys.authenticate(issued.secret);
    const first = await storedLastUsed(db, issued.id);
    expect(first).not.toBeNull();
    expect((await apiKeys.get(tenant.id, issued.id)).lastUsedAt).toEqual(expect.any(Date));

    // Within the minute, on this process's clock: no write, even though the database row would allow one.
    const longAgo = await backdateLastUsed(db, issued.id, '2 minutes');
    clock.advance(59_000);
    await apiKeys.authenticate(issued.secret);
    expect(await storedLastUsed(db, issued.id)).toBe(longAgo);

    // Over a minute later: written again.
    clock.advance(2_000);
    await apiKeys.authenticate(issued.secret);
    const rewritten = await storedLastUsed(db, issued.id);
    expect(rewritten).not.toBe(longAgo);
    expect(new Date(rewritten ?? 0).getTime()).toBeGreaterThan(new Date(longAgo ?? 0).getTime());
  });

  it('lets another replica skip the write when the row was touched within the minute', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('replica') });
    const issued = await tenancy.apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['mcp'] });
    await tenancy.apiKeys.authenticate(issued.secret);
    const recent = await backdateLastUsed(db, issued.id, '30 seconds');

    // A second service has no memory of the first use: only the SQL guard stands in the way.
    const replica = createApiKeyService({ db });
    expect(await replica.authenticate(issued.secret)).toMatchObject({ keyId: issued.id });
    expect(await storedLastUsed(db, issued.id)).toBe(recent);

    const stale = await backdateLastUsed(db, issued.id, '61 seconds');
    const another = createApiKeyService({ db });
    await another.authenticate(issued.secret);
    expect(await storedLastUsed(db, issued.id)).not.toBe(stale);
  });

  it('records use without writing an audit event', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('quiet') });
    const issued = await tenancy.apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['mcp'] });
    const eventsBefore = await countRows(db, 'audit_events');

    await tenancy.apiKeys.authenticate(issued.secret);

    expect(await countRows(db, 'audit_events')).toBe(eventsBefore);
    expect(await storedLastUsed(db, issued.id)).not.toBeNull();
  });
});
