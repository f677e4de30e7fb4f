import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import type { Db } from '../../src/shared/db.ts';
import { createTenancyModule, type AuditEvent, type AuditQuery, type TenancyModule } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

function uniqueSlug(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function actingAs(id: string) {
  return { actor: { type: 'user', id }, ip: null, userAgent: null, requestId: null } as const;
}

/** A tenant whose trail holds the tenant's creation and `keys` key creations: 1 + keys events. */
async function tenantWithKeys(tenancy: TenancyModule, keys: number): Promise<string> {
  const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('page') });
  for (let i = 0; i < keys; i += 1) {
    await tenancy.apiKeys.create(tenant.id, operator, { name: `key-${i}`, scopes: ['mcp'] });
  }
  return tenant.id;
}

/** Follows nextCursor to the end, returning the size of each page and every event in order. */
async function readAllPages(tenancy: TenancyModule, tenantId: string, query: AuditQuery) {
  const sizes: number[] = [];
  const events: AuditEvent[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page += 1) {
    const result = await tenancy.audit.list(tenantId, { ...query, cursor });
    sizes.push(result.events.length);
    events.push(...result.events);
    if (result.nextCursor === null) return { sizes, events };
    cursor = result.nextCursor;
  }
  throw new Error('pagination did not end');
}

/** Sets the stored time of each event, as owner: the trail is append-only for the application. */
async function setEventTimes(db: Db, times: Array<[string, string]>): Promise<void> {
  for (const [id, at] of times) {
    await sql`update audit_events set created_at = ${at}::timestamptz where id = ${id}`.execute(db);
  }
}

describeEachDatabase('audit queries', (use) => {
  it('pages 7 events 3 at a time as 3 + 3 + 1, newest first, without gaps or duplicates', async () => {
    const tenancy = createTenancyModule({ db: use().db });
    const tenantId = await tenantWithKeys(tenancy, 6);
    const { events: all } = await tenancy.audit.list(tenantId, { limit: 100 });

    const { sizes, events } = await readAllPages(tenancy, tenantId, { limit: 3 });

    expect(all).toHaveLength(7);
    expect(sizes).toEqual([3, 3, 1]);
    expect(events.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(all.map((e) => e.action)).toEqual([...Array<string>(6).fill('api_key.create'), 'tenant.create']);
  });

  it('ends with a null cursor when the last page is exactly full', async () => {
    const tenancy = createTenancyModule({ db: use().db });
    const tenantId = await tenantWithKeys(tenancy, 5);

    expect((await readAllPages(tenancy, tenantId, { limit: 3 })).sizes).toEqual([3, 3]);
    expect((await readAllPages(tenancy, tenantId, { limit: 6 })).sizes).toEqual([6]);
  });

  it('pages within a filter', async () => {
    const tenancy = createTenancyModule({ db: use().db });
    const tenantId = await tenantWithKeys(tenancy, 6);

    const { sizes, events } = await readAllPages(tenancy, tenantId, { action: 'api_key.create', limit: 4 });

    expect(sizes).toEqual([4, 2]);
    expect(new Set(events.map((e) => e.id)).size).toBe(6);
  });

  it.each([
    ['random text', 'not a cursor'],
    ['punctuation', '!!!'],
    ['an empty string', ''],
    ['encoded letters', Buffer.from('abc').toString('base64url')],
    ['an encoded negative number', Buffer.from('-1').toString('base64url')],
    ['an encoded 20-digit number', Buffer.from('9'.repeat(20)).toString('base64url')],
    ['an encoded number beyond bigint', Buffer.from('9'.repeat(19)).toString('base64url')],
    ['encoded SQL', Buffer.from("1; drop table audit_events;--").toString('base64url')],
  ])('refuses a cursor that is %s as validation_failed', async (_why, cursor) => {
    const tenancy = createTenancyModule({ db: use().db });
    const tenantId = await tenantWithKeys(tenancy, 0);

    await expect(tenancy.audit.list(tenantId, { limit: 3, cursor })).rejects.toMatchObject({
      name: 'AppError',
      code: 'validation_failed',
      message: expect.stringMatching(/^cursor: /),
    });
  });

  it('filters by action, actor, resource type and resource id, alone and together', async () => {
    const tenancy = createTenancyModule({ db: use().db });
    const alice = randomUUID();
    const bob = randomUUID();
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('filter') });
    const one = await tenancy.apiKeys.create(tenant.id, actingAs(alice), { name: 'one', scopes: ['mcp'] });
    const two = await tenancy.apiKeys.create(tenant.id, actingAs(bob), { name: 'two', scopes: ['mcp'] });
    await tenancy.apiKeys.revoke(tenant.id, actingAs(alice), one.id);
    const { member } = await tenancy.members.add(tenant.id, actingAs(bob), { email: `${randomUUID()}@example.com`, role: 'member' });
    const list = async (query: Omit<AuditQuery, 'limit'>) =>
      (await tenancy.audit.list(tenant.id, { ...query, limit: 100 })).events.map((e) => `${e.action} ${e.resourceId}`);

    expect(await list({ action: 'api_key.create' })).toEqual([`api_key.create ${two.id}`, `api_key.create ${one.id}`]);
    expect(await list({ actorId: alice })).toEqual([`api_key.revoke ${one.id}`, `api_key.create ${one.id}`]);
    expect(await list({ resourceType: 'member' })).toEqual([`member.add ${member.userId}`]);
    expect(await list({ resourceId: one.id })).toEqual([`api_key.revoke ${one.id}`, `api_key.create ${one.id}`]);
    expect(await list({ action: 'api_key.create', actorId: bob })).toEqual([`api_key.create ${two.id}`]);
    expect(await list({ resourceType: 'tenant', actorId: alice })).toEqual([]);
    expect(await list({ action: "' or 1=1 --" })).toEqual([]);
    // Whose events a narrow key may see: by type and id together, an operator's (no id) included.
    expect(await list({ actors: [{ type: 'user', id: bob }] })).toEqual([`member.add ${member.userId}`, `api_key.create ${two.id}`]);
    expect(await list({ actors: [{ type: 'api_key', id: bob }] })).toEqual([]);
    expect(await list({ actors: [{ type: 'operator', id: null }, { type: 'user', id: alice }] })).toEqual([
      `api_key.revoke ${one.id}`,
      `api_key.create ${one.id}`,
      `tenant.create ${tenant.id}`,
    ]);
  });

  it('filters by time: since is inclusive, until exclusive', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenantId = await tenantWithKeys(tenancy, 3);
    const oldestFirst = (await tenancy.audit.list(tenantId, { limit: 100 })).events.reverse();
    await setEventTimes(
      db,
      oldestFirst.map((e, i): [string, string] => [e.id, `2020-01-0${i + 1}T00:00:00Z`]),
    );
    const ids = (events: AuditEvent[]) => events.map((e) => e.id);
    const list = async (query: Omit<AuditQuery, 'limit'>) => ids((await tenancy.audit.list(tenantId, { ...query, limit: 100 })).events);
    const [day1, day2, day3, day4] = ids(oldestFirst);

    expect(await list({ since: new Date('2020-01-02T00:00:00Z') })).toEqual([day4, day3, day2]);
    expect(await list({ until: new Date('2020-01-02T00:00:00Z') })).toEqual([day1]);
    expect(
      await list({ since: new Date('2020-01-02T00:00:00Z'), until: new Date('2020-01-04T00:00:00Z') }),
    ).toEqual([day3, day2]);
    expect(await list({ since: new Date('2020-01-05T00:00:00Z') })).toEqual([]);
    const [event] = (await tenancy.audit.list(tenantId, { limit: 1 })).events;
    expect(event?.createdAt).toEqual(new Date('2020-01-04T00:00:00Z'));
  });

  it("never shows one tenant another tenant's events, whatever the filter or cursor", async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const alice = randomUUID();
    const a = await tenancy.tenants.create(actingAs(alice), { slug: uniqueSlug('iso-a') });
    const keyOfA = await tenancy.apiKeys.create(a.id, actingAs(alice), { name: 'a', scopes: ['mcp'] });
    const b = await tenancy.tenants.create(operator, { slug: uniqueSlug('iso-b') });
    await tenancy.apiKeys.create(b.id, operator, { name: 'b', scopes: ['mcp'] });
    const stored = await db.selectFrom('audit_events').select('id').where('tenant_id', '=', b.id).execute();
    const ofB = stored.map((e) => e.id).sort();
    const firstPageOfA = await tenancy.audit.list(a.id, { limit: 1 });

    const seenByB = [
      ...(await tenancy.audit.list(b.id, { limit: 100 })).events,
      ...(await tenancy.audit.list(b.id, { limit: 100, actorId: alice })).events,
      ...(await tenancy.audit.list(b.id, { limit: 100, resourceId: keyOfA.id })).events,
      ...(await tenancy.audit.list(b.id, { limit: 100, resourceId: a.id })).events,
      ...(await tenancy.audit.list(b.id, { limit: 100, cursor: firstPageOfA.nextCursor ?? undefined })).events,
    ];

    expect(ofB).toHaveLength(2);
    expect(firstPageOfA.nextCursor).not.toBeNull();
    expect([...new Set(seenByB.map((e) => e.id))].sort()).toEqual(ofB);
    expect((await tenancy.audit.list(b.id, { limit: 100, actorId: alice })).events).toEqual([]);
  });
});
