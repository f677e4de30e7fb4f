import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { withTenant, type Db } from '../../src/shared/db.ts';
import { createInvitationService, createTenancyModule, INVITATION_LIFETIME_MS } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';
import { fakeClock } from '../support/clock.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const visitor = { ip: '203.0.113.9', userAgent: 'vitest', requestId: null };
const PASSWORD = 'a long enough password';

async function snapshot(db: Db): Promise<number[]> {
  return Promise.all(['users', 'memberships', 'invitations', 'audit_events'].map((table) => countRows(db, table)));
}

describeEachDatabase('invitations', (use) => {
  async function setup() {
    const { db } = use();
    const clock = fakeClock();
    const tenancy = createTenancyModule({ db });
    const invitations = createInvitationService({ db, now: clock.now });
    const tenant = await tenancy.tenants.create(operator, { slug: `inv-${randomUUID().slice(0, 8)}` });
    const email = `invitee-${randomUUID().slice(0, 8)}@example.com`;
    return { db, clock, tenancy, invitations, tenant, email };
  }

  it('stores a digest, accepts once, and a second acceptance racing the first changes nothing', async () => {
    const { db, tenancy, invitations, tenant, email } = await setup();
    const issued = await invitations.create(tenant.id, operator, 'owner', { email, role: 'member' });
    expect(issued.token).toMatch(/^bgi_[A-Za-z0-9_-]{43}$/);
    const stored = await db.selectFrom('invitations').selectAll().where('id', '=', issued.id).execute();
    expect(JSON.stringify(stored)).not.toContain(issued.token);

    const results = await Promise.allSettled([
      invitations.accept(issued.token, { password: PASSWORD }, visitor),
      invitations.accept(issued.token, { password: PASSWORD }, visitor),
    ]);

    const accepted = results.filter((r) => r.status === 'fulfilled' && r.value !== undefined);
    expect(accepted).toHaveLength(1);
    expect((await tenancy.members.list(tenant.id)).map((m) => [m.email, m.role])).toEqual([[email, 'member']]);
    const after = await snapshot(db);
    expect(await invitations.accept(issued.token, { password: PASSWORD }, visitor)).toBeUndefined();
    expect(await invitations.open(issued.token)).toBeUndefined();
    expect(await snapshot(db)).toEqual(after);
    expect((await invitations.list(tenant.id))[0]).toMatchObject({ status: 'accepted', acceptedBy: expect.any(String) });
  });

  it('refuses expired and revoked links, and an admin inviting an owner, changing nothing', async () => {
    const { db, clock, invitations, tenant, email } = await setup();
    const expiring = await invitations.create(tenant.id, operator, 'admin', { email, role: 'admin' });
    const revoked = await invitations.create(tenant.id, operator, 'owner', { email, role: 'owner' });
    await invitations.revoke(tenant.id, operator, revoked.id);
    clock.advance(INVITATION_LIFETIME_MS + 1);
    const before = await snapshot(db);

    expect(await invitations.accept(expiring.token, { password: PASSWORD }, visitor)).toBeUndefined();
    expect(await invitations.accept(revoked.token, { password: PASSWORD }, visitor)).toBeUndefined();
    await expect(invitations.create(tenant.id, operator, 'admin', { email, role: 'owner' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(invitations.create(tenant.id, operator, 'member', { email, role: 'member' })).rejects.toMatchObject({
      code: 'forbidden',
    });

    expect(await snapshot(db)).toEqual(before);
    expect((await invitations.list(tenant.id)).map((i) => i.status).sort()).toEqual(['expired', 'revoked']);
  });

  it("asks an existing person to sign in rather than set a password, and keeps invitations inside their tenant", async () => {
    const { db, tenancy, invitations, tenant, email } = await setup();
    const other = await tenancy.tenants.create(operator, { slug: `inv-other-${randomUUID().slice(0, 8)}` });
    const { member } = await tenancy.members.add(other.id, operator, { email, role: 'owner', password: PASSWORD });
    const issued = await invitations.create(tenant.id, operator, 'owner', { email, role: 'auditor' });
    expect((await invitations.open(issued.token))?.existingUser).toBe(true);
    const before = await snapshot(db);

    await expect(invitations.accept(issued.token, { password: 'someone else entirely' }, visitor)).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(invitations.accept(issued.token, { userId: randomUUID() }, visitor)).rejects.toMatchObject({ code: 'forbidden' });
    expect(await snapshot(db)).toEqual(before);
    // Row-level security: the other tenant sees none of this tenant's invitations, and cannot revoke them.
    expect(await withTenant(db, other.id, (trx) => trx.selectFrom('invitations').select('id').execute())).toEqual([]);
    await expect(invitations.revoke(other.id, operator, issued.id)).rejects.toMatchObject({ code: 'not_found' });

    const accepted = await invitations.accept(issued.token, { userId: member.userId, choosePassword: { password: 'chosen by the person', keepSessionId: 'none' } }, visitor);
    expect(accepted).toMatchObject({ user: { id: member.userId }, role: 'auditor', createdUser: false });
  });

  it('makes an account whose password someone else set choose one to accept, in the same transaction as the membership', async () => {
    const { db, tenancy, invitations, tenant, email } = await setup();
    const other = await tenancy.tenants.create(operator, { slug: `inv-set-${randomUUID().slice(0, 8)}` });
    // The other tenant's owner made the account, with a password they know.
    const { member } = await tenancy.members.add(other.id, operator, { email, role: 'member', password: PASSWORD });
    const kept = await tenancy.sessions.login(email, PASSWORD, visitor);
    const planted = await tenancy.sessions.login(email, PASSWORD, visitor);
    const issued = await invitations.create(tenant.id, operator, 'owner', { email, role: 'member' });
    expect(await invitations.open(issued.token)).toMatchObject({ existingUser: true, mustChoosePassword: true });
    const before = await snapshot(db);
    const storedHash = () => db.selectFrom('users').select(['password_hash', 'password_chosen']).where('id', '=', member.userId).executeTakeFirstOrThrow();
    const hashBefore = await storedHash();

    await expect(invitations.accept(issued.token, { userId: member.userId }, visitor)).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('choose a new password to accept') as unknown,
    });
    const keepSessionId = kept?.session.id ?? '';
    await expect(invitations.accept(issued.token, { userId: member.userId, choosePassword: { password: PASSWORD, keepSessionId } }, visitor)).rejects.toMatchObject({
      code: 'validation_failed',
      message: 'password: choose a password other than your current one',
    });
    expect(await snapshot(db)).toEqual(before);
    expect(await storedHash()).toEqual(hashBefore);
    expect(await tenancy.sessions.validate(planted?.token ?? '')).toBeDefined();
    expect((await invitations.list(tenant.id))[0]?.status).toBe('pending');

    const chosen = 'the person chose this one';
    const accepted = await invitations.accept(issued.token, { userId: member.userId, choosePassword: { password: chosen, keepSessionId } }, visitor);

    expect(accepted).toMatchObject({ user: { id: member.userId }, role: 'member', createdUser: false });
    expect((await storedHash()).password_chosen).toBe(true);
    expect(await tenancy.sessions.validate(planted?.token ?? '')).toBeUndefined();
    expect(await tenancy.sessions.validate(kept?.token ?? '')).toMatchObject({ user: { id: member.userId } });
    expect(await tenancy.sessions.login(email, PASSWORD, visitor)).toBeUndefined();
    expect(await tenancy.sessions.login(email, chosen, visitor)).toBeDefined();
    // Recorded in both of the person's tenants, the one joined included.
    const changes = await db.selectFrom('audit_events').select(['tenant_id', 'after']).where('action', '=', 'account.password_change').where('resource_id', '=', member.userId).execute();
    expect(changes.map((event) => event.tenant_id).sort()).toEqual([tenant.id, other.id].sort());
    expect(changes[0]?.after).toMatchObject({ source: 'invitation', otherSessionsEnded: 1 });
  });

  it('lets an account that chose its own password accept without choosing again', async () => {
    const { db, tenancy, invitations, tenant, email } = await setup();
    const other = await tenancy.tenants.create(operator, { slug: `inv-own-${randomUUID().slice(0, 8)}` });
    const own = await invitations.create(other.id, operator, 'owner', { email, role: 'member' });
    const created = await invitations.accept(own.token, { password: PASSWORD }, visitor);
    const session = await tenancy.sessions.login(email, PASSWORD, visitor);
    const issued = await invitations.create(tenant.id, operator, 'owner', { email, role: 'admin' });
    expect(await invitations.open(issued.token)).toMatchObject({ existingUser: true, mustChoosePassword: false });

    const accepted = await invitations.accept(issued.token, { userId: created?.user.id ?? '' }, visitor);

    expect(accepted).toMatchObject({ role: 'admin', createdUser: false });
    expect(await tenancy.sessions.validate(session?.token ?? '')).toBeDefined();
    expect(await tenancy.sessions.login(email, PASSWORD, visitor)).toBeDefined();
    expect(await db.selectFrom('audit_events').select('id').where('action', '=', 'account.password_change').where('resource_id', '=', created?.user.id ?? '').execute()).toEqual([]);
  });
});
