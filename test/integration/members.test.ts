import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { Db } from '../../src/shared/db.ts';
import { createTenancyModule, type AddMemberInput } from '../../src/tenancy/index.ts';
import { verifyPassword } from '../../src/tenancy/password.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

function uniqueSlug(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function uniqueEmail(): string {
  return `user-${randomUUID().slice(0, 8)}@example.com`;
}

/** The users rows with this email, read as owner. */
function usersWithEmail(db: Db, email: string) {
  return db.selectFrom('users').select(['id', 'password_hash']).where('email', '=', email.toLowerCase()).execute();
}

/** Counts of the rows a refused change must not touch. */
async function snapshot(db: Db): Promise<number[]> {
  return [await countRows(db, 'users'), await countRows(db, 'memberships'), await countRows(db, 'audit_events')];
}

describeEachDatabase('members', (use) => {
  it('adds a new person with a role, lowercasing the email', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('add') });
    const email = uniqueEmail();

    const added = await tenancy.members.add(tenant.id, operator, { email: email.toUpperCase(), role: 'admin' });

    expect(added).toEqual({
      member: { userId: expect.any(String), email, role: 'admin', createdAt: expect.any(Date) },
      createdUser: true,
    });
    expect(await tenancy.members.list(tenant.id)).toEqual([added.member]);
    expect(await usersWithEmail(db, email)).toEqual([{ id: added.member.userId, password_hash: null }]);
  });

  it('refuses to add the same email twice, in any letter case, and changes nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('twice') });
    const email = uniqueEmail();
    await tenancy.members.add(tenant.id, operator, { email, role: 'member' });
    const before = await snapshot(db);

    for (const again of [email, email.toUpperCase()]) {
      await expect(tenancy.members.add(tenant.id, operator, { email: again, role: 'owner' })).rejects.toMatchObject({
        name: 'AppError',
        code: 'conflict',
      });
    }

    expect(await snapshot(db)).toEqual(before);
    expect((await tenancy.members.list(tenant.id)).map((m) => m.role)).toEqual(['member']);
  });

  it("sets a member's password for them, ending their sessions, and only for a member of the tenant named", async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: uniqueSlug('pw-a') });
    const b = await tenancy.tenants.create(operator, { slug: uniqueSlug('pw-b') });
    const email = uniqueEmail();
    const { member } = await tenancy.members.add(a.id, operator, { email, role: 'member', password: 'the forgotten one' });
    const meta = { ip: null, userAgent: null };
    const before = await tenancy.sessions.login(email, 'the forgotten one', meta);
    expect(before).toBeDefined();

    await expect(tenancy.members.resetPassword(b.id, operator, email, 'not for this tenant')).rejects.toMatchObject({ code: 'not_found' });
    expect(await tenancy.sessions.login(email, 'the forgotten one', meta)).toBeDefined();

    const reset = await tenancy.members.resetPassword(a.id, operator, email);
    expect(reset.member.userId).toBe(member.userId);
    expect(await tenancy.sessions.validate(before?.token ?? '')).toBeUndefined();
    expect(await tenancy.sessions.login(email, 'the forgotten one', meta)).toBeUndefined();
    expect(await tenancy.sessions.login(email, reset.generatedPassword ?? '', meta)).toBeDefined();
  });

  it("refuses a tenant's adding a person who has an account already, naming invitations, and changes nothing", async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: uniqueSlug('ex-a') });
    const b = await tenancy.tenants.create(operator, { slug: uniqueSlug('ex-b') });
    const email = uniqueEmail();
    await tenancy.members.add(a.id, operator, { email, role: 'member', password: 'first password 123' });
    const rowsBefore = await usersWithEmail(db, email);

    await expect(tenancy.members.add(b.id, operator, { email, role: 'admin' })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('invite them instead') as unknown,
    });
    expect(await tenancy.members.list(b.id)).toEqual([]);
    expect(await usersWithEmail(db, email)).toEqual(rowsBefore);
  });

  it('adds an existing person to a second tenant, as the operator may, without a second users row or a new password', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: uniqueSlug('ex-a') });
    const b = await tenancy.tenants.create(operator, { slug: uniqueSlug('ex-b') });
    const email = uniqueEmail();
    const inA = await tenancy.members.add(a.id, operator, { email, role: 'owner', password: 'first password 123' });
    const [{ password_hash: hashBefore } = { password_hash: null }] = await usersWithEmail(db, email);

    const inB = await tenancy.members.add(b.id, operator, {
      email,
      role: 'auditor',
      password: 'other password 456',
      generatePassword: true,
      attachExisting: true,
    });

    expect(inB).toEqual({ member: { ...inB.member, userId: inA.member.userId, role: 'auditor' }, createdUser: false });
    expect('generatedPassword' in inB).toBe(false);
    const rows = await usersWithEmail(db, email);
    expect(rows).toEqual([{ id: inA.member.userId, password_hash: hashBefore }]);
    expect(await verifyPassword(hashBefore ?? '', 'first password 123')).toBe(true);
    expect((await tenancy.members.list(a.id)).map((m) => m.role)).toEqual(['owner']);
  });

  it('generates a password only when asked and only for a new person, storing an argon2id hash', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('genpw') });
    const withGenerated = uniqueEmail();
    const withoutPassword = uniqueEmail();

    const generated = await tenancy.members.add(tenant.id, operator, {
      email: withGenerated,
      role: 'member',
      generatePassword: true,
    });
    const plain = await tenancy.members.add(tenant.id, operator, { email: withoutPassword, role: 'member' });

    expect(generated.generatedPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect('generatedPassword' in plain).toBe(false);
    const [stored] = await usersWithEmail(db, withGenerated);
    expect(stored?.password_hash).toMatch(/^\$argon2id\$/);
    expect(stored?.password_hash).not.toContain(generated.generatedPassword);
    expect(await verifyPassword(stored?.password_hash ?? '', generated.generatedPassword ?? '')).toBe(true);
    expect(await usersWithEmail(db, withoutPassword)).toEqual([{ id: plain.member.userId, password_hash: null }]);
  });

  it('stores a given password as an argon2id hash, never in plain text', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('pw') });
    const email = uniqueEmail();
    const password = 'correct horse battery staple';

    const added = await tenancy.members.add(tenant.id, operator, { email, role: 'member', password, generatePassword: true });

    expect('generatedPassword' in added).toBe(false);
    const [stored] = await usersWithEmail(db, email);
    expect(stored?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored?.password_hash).not.toContain(password);
    expect(await verifyPassword(stored?.password_hash ?? '', password)).toBe(true);
    expect(await verifyPassword(stored?.password_hash ?? '', 'wrong horse battery staple')).toBe(false);
  });

  it.each([
    ['a bad email', { email: 'not-an-email', role: 'member' }, /^email: /],
    ['an unknown role', { email: 'x@example.com', role: 'root' }, /^role: /],
    ['a short password', { email: 'y@example.com', role: 'member', password: 'short' }, /^password: /],
  ] as const)('refuses %s as validation_failed and changes nothing', async (_why, input, message) => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('bad') });
    const before = await snapshot(db);

    await expect(tenancy.members.add(tenant.id, operator, input as unknown as AddMemberInput)).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(message),
    });

    expect(await snapshot(db)).toEqual(before);
  });

  it('refuses to demote or remove the last owner, and changes nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('lastowner') });
    const { member: owner } = await tenancy.members.add(tenant.id, operator, { email: uniqueEmail(), role: 'owner' });
    await tenancy.members.add(tenant.id, operator, { email: uniqueEmail(), role: 'admin' });
    const before = await snapshot(db);

    await expect(tenancy.members.changeRole(tenant.id, operator, owner.userId, 'admin')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/last owner/),
    });
    await expect(tenancy.members.remove(tenant.id, operator, owner.userId)).rejects.toMatchObject({ code: 'conflict' });

    expect(await snapshot(db)).toEqual(before);
    expect((await tenancy.members.list(tenant.id)).map((m) => m.role).sort()).toEqual(['admin', 'owner']);
  });

  it('lets an owner step down once another owner exists, then protects the one left', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: uniqueSlug('handover') });
    const { member: first } = await tenancy.members.add(tenant.id, operator, { email: uniqueEmail(), role: 'owner' });
    const { member: second } = await tenancy.members.add(tenant.id, operator, { email: uniqueEmail(), role: 'admin' });

    await tenancy.members.changeRole(tenant.id, operator, second.userId, 'owner');
    const demoted = await tenancy.members.changeRole(tenant.id, operator, first.userId, 'member');
    await tenancy.members.remove(tenant.id, operator, first.userId);

    expect(demoted).toMatchObject({ userId: first.userId, role: 'member' });
    expect((await tenancy.members.list(tenant.id)).map((m) => [m.userId, m.role])).toEqual([[second.userId, 'owner']]);
    await expect(tenancy.members.remove(tenant.id, operator, second.userId)).rejects.toMatchObject({ code: 'conflict' });
  });

  it("answers not_found for another tenant's member or a non-uuid, and changes nothing", async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: uniqueSlug('nf-a') });
    const b = await tenancy.tenants.create(operator, { slug: uniqueSlug('nf-b') });
    await tenancy.members.add(a.id, operator, { email: uniqueEmail(), role: 'owner' });
    const { member: ofB } = await tenancy.members.add(b.id, operator, { email: uniqueEmail(), role: 'admin' });
    const before = await snapshot(db);

    for (const userId of [ofB.userId, randomUUID(), 'not-a-uuid', "' or 1=1 --"]) {
      await expect(tenancy.members.changeRole(a.id, operator, userId, 'owner')).rejects.toMatchObject({
        name: 'AppError',
        code: 'not_found',
      });
      await expect(tenancy.members.remove(a.id, operator, userId)).rejects.toMatchObject({ code: 'not_found' });
    }

    expect(await snapshot(db)).toEqual(before);
    expect(await tenancy.members.list(b.id)).toEqual([ofB]);
  });
});
