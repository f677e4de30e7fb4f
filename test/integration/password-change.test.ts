import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { Db } from '../../src/shared/db.ts';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const visitor = { ip: '203.0.113.9', userAgent: 'vitest', requestId: null };
const meta = { ip: '203.0.113.9', userAgent: 'vitest' };
const SET_BY_OWNER = 'a password the owner chose';
const CHOSEN = 'one the person chose themselves';

/** What a password change may touch, read as the owner role: the user's row, their sessions, the audit trail. */
async function stateOf(db: Db, userId: string) {
  return {
    user: await db.selectFrom('users').select(['password_hash', 'password_chosen']).where('id', '=', userId).executeTakeFirstOrThrow(),
    sessions: (await db.selectFrom('sessions').select('id').where('user_id', '=', userId).orderBy('id').execute()).map((s) => s.id),
    audit: await db.selectFrom('audit_events').select(['tenant_id', 'action', 'actor_type', 'actor_id', 'after']).where('resource_id', '=', userId).orderBy('seq').execute(),
  };
}

describeEachDatabase('password changes', (use) => {
  async function setup() {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const slug = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
    const first = await tenancy.tenants.create(operator, { slug: slug('pwa') });
    const second = await tenancy.tenants.create(operator, { slug: slug('pwb') });
    const email = `person-${randomUUID().slice(0, 8)}@example.com`;
    const { member } = await tenancy.members.add(first.id, operator, { email, role: 'member', password: SET_BY_OWNER });
    return { db, tenancy, first, second, email, userId: member.userId };
  }

  it('marks a password set by an owner or the operator as not chosen, and one chosen on accepting an invitation as chosen', async () => {
    const { db, tenancy, first, userId } = await setup();
    const generated = await tenancy.members.add(first.id, operator, { email: `gen-${randomUUID().slice(0, 8)}@example.com`, role: 'member', generatePassword: true });
    const invitee = `new-${randomUUID().slice(0, 8)}@example.com`;
    const issued = await tenancy.invitations.create(first.id, operator, 'owner', { email: invitee, role: 'member' });
    const accepted = await tenancy.invitations.accept(issued.token, { password: CHOSEN }, visitor);

    const chosen = (id: string) => db.selectFrom('users').select('password_chosen').where('id', '=', id).executeTakeFirstOrThrow();
    expect(await chosen(userId)).toEqual({ password_chosen: false });
    expect(await chosen(generated.member.userId)).toEqual({ password_chosen: false });
    expect(await chosen(accepted?.user.id ?? '')).toEqual({ password_chosen: true });
  });

  it('changes the password after checking the current one, ends the other sessions, and records it in each of the person\'s tenants', async () => {
    const { db, tenancy, first, second, email, userId } = await setup();
    await tenancy.members.add(second.id, operator, { email, role: 'auditor', attachExisting: true });
    const current = await tenancy.sessions.login(email, SET_BY_OWNER, meta);
    const other = await tenancy.sessions.login(email, SET_BY_OWNER, meta);
    const person = { userId, sessionId: current?.session.id ?? '' };

    expect(await tenancy.accounts.changePassword(person, { current: SET_BY_OWNER, next: CHOSEN }, visitor)).toBe('changed');

    const after = await stateOf(db, userId);
    expect(after.user.password_chosen).toBe(true);
    expect(after.sessions).toEqual([current?.session.id]);
    expect(await tenancy.sessions.validate(other?.token ?? '')).toBeUndefined();
    expect(await tenancy.sessions.validate(current?.token ?? '')).toMatchObject({ user: { id: userId } });
    expect(await tenancy.sessions.login(email, SET_BY_OWNER, meta)).toBeUndefined();
    expect(await tenancy.sessions.login(email, CHOSEN, meta)).toBeDefined();
    const changes = after.audit.filter((event) => event.action === 'account.password_change');
    expect(changes.map((event) => event.tenant_id).sort()).toEqual([first.id, second.id].sort());
    for (const event of changes) {
      expect(event).toMatchObject({ actor_type: 'user', actor_id: userId, after: { email, source: 'account', otherSessionsEnded: 1 } });
    }
    // Nothing of either password is stored with the event.
    expect(JSON.stringify(changes)).not.toContain(CHOSEN);
  });

  it('refuses a wrong current password, a short new one and the current one again, changing nothing', async () => {
    const { db, tenancy, email, userId } = await setup();
    const current = await tenancy.sessions.login(email, SET_BY_OWNER, meta);
    await tenancy.sessions.login(email, SET_BY_OWNER, meta);
    const person = { userId, sessionId: current?.session.id ?? '' };
    const before = await stateOf(db, userId);

    expect(await tenancy.accounts.changePassword(person, { current: 'not the current one at all', next: CHOSEN }, visitor)).toBe('wrong_password');
    expect(await tenancy.accounts.changePassword(person, { current: 'x'.repeat(5000), next: CHOSEN }, visitor)).toBe('wrong_password');
    expect(await tenancy.accounts.changePassword({ userId: randomUUID(), sessionId: person.sessionId }, { current: SET_BY_OWNER, next: CHOSEN }, visitor)).toBe('wrong_password');
    await expect(tenancy.accounts.changePassword(person, { current: SET_BY_OWNER, next: 'short' }, visitor)).rejects.toMatchObject({
      code: 'validation_failed',
      message: 'password: must be at least 12 characters',
    });
    await expect(tenancy.accounts.changePassword(person, { current: SET_BY_OWNER, next: SET_BY_OWNER }, visitor)).rejects.toMatchObject({
      code: 'validation_failed',
      message: 'password: choose a password other than your current one',
    });

    expect(await stateOf(db, userId)).toEqual(before);
  });
});
