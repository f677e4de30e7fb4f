import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { createSessionService, createTenancyModule } from '../../src/tenancy/index.ts';
import { verifyPassword } from '../../src/tenancy/password.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const visitor = { ip: '203.0.113.9', userAgent: 'vitest', requestId: null };
const meta = { ip: '198.51.100.7', userAgent: 'attacker' };
const SET_BY_OWNER = 'a password the owner chose';
const CHOSEN = 'one the person chose themselves';

// A password change ends the person's other sessions: one opened with the old password while the change
// was made must not outlive it (whoever set that password could keep signing in with it).
describeEachDatabase('a sign-in racing a password change', (use) => {
  it('keeps no session of a sign-in with the old password whose check overlapped the change', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: `race-${randomUUID().slice(0, 8)}` });
    const email = `p-${randomUUID().slice(0, 8)}@example.com`;
    const { member } = await tenancy.members.add(tenant.id, operator, { email, role: 'member', password: SET_BY_OWNER });
    const mine = await tenancy.sessions.login(email, SET_BY_OWNER, visitor);

    // The owner, who knows the old password, signs in as the person; the argon2 check is slow on purpose.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let checked!: () => void;
    const verified = new Promise<void>((resolve) => (checked = resolve));
    const attackerSessions = createSessionService({
      db,
      verify: async (hash, password) => {
        const ok = await verifyPassword(hash, password);
        checked();
        await gate;
        return ok;
      },
    });
    const attackerLogin = attackerSessions.login(email, SET_BY_OWNER, meta);
    await verified;

    // Meanwhile the person changes the password: every other session is to end.
    expect(await tenancy.accounts.changePassword({ userId: member.userId, sessionId: mine?.session.id ?? '' }, { current: SET_BY_OWNER, next: CHOSEN }, visitor)).toBe('changed');
    release();
    const stolen = await attackerLogin;

    // The old password no longer signs in...
    expect(await tenancy.sessions.login(email, SET_BY_OWNER, meta)).toBeUndefined();
    // ...and the sign-in checked during the change keeps no session.
    expect(stolen).toBeUndefined();
    expect(await tenancy.sessions.validate(stolen?.token ?? '')).toBeUndefined();
  });
});
