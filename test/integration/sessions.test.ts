import { createHash, randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { withAuthenticator, withTenant, type Db } from '../../src/shared/db.ts';
import {
  createSessionService,
  createTenancyModule,
  SESSION_LIFETIME_MS,
} from '../../src/tenancy/index.ts';
import { verifyPassword } from '../../src/tenancy/password.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';
import { fakeClock } from '../support/clock.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const PASSWORD = 'correct horse battery staple';
const DAY = 86_400_000;
const meta = { ip: '203.0.113.7', userAgent: 'vitest' };

/** A tenant with one person who has a password; returns the person's email and id. */
async function seedPerson(db: Db, role: 'owner' | 'member' = 'member') {
  const tenancy = createTenancyModule({ db });
  const tenant = await tenancy.tenants.create(operator, { slug: `sess-${randomUUID().slice(0, 8)}` });
  const email = `person-${randomUUID().slice(0, 8)}@example.com`;
  const { member } = await tenancy.members.add(tenant.id, operator, { email, role, password: PASSWORD });
  return { tenancy, tenant, email, userId: member.userId };
}

/** The stored sessions of a user, read as the owner role (what a database dump would show). */
function storedSessions(db: Db, userId: string) {
  return db.selectFrom('sessions').selectAll().where('user_id', '=', userId).execute();
}

/** The argon2 parameters of a hash (`$argon2id$v=19$m=…,t=…,p=…`): what one check of it costs. */
const argon2Cost = (hashed: string) => hashed.split('$').slice(1, 4).join('$');

/** A session service that records the hash each password check is made against. */
function watchedSessions(db: Db) {
  const checkedHashes: string[] = [];
  const sessions = createSessionService({
    db,
    verify: (hashed, password) => {
      checkedHashes.push(hashed);
      return verifyPassword(hashed, password);
    },
  });
  return { sessions, checkedHashes };
}

describeEachDatabase('sessions', (use) => {
  it('signs in with the right password and gives a session token of 160 bits, base32', async () => {
    const { db } = use();
    const { email, userId } = await seedPerson(db);
    const clock = fakeClock();
    const sessions = createSessionService({ db, now: clock.now });

    const result = await sessions.login(email.toUpperCase(), PASSWORD, meta);

    expect(result?.token).toMatch(/^[a-z2-7]{32}$/);
    expect(result?.session).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      user: { id: userId, email },
      expiresAt: new Date(clock.now().getTime() + SESSION_LIFETIME_MS),
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(result?.session.csrfToken).not.toContain(result?.token ?? 'x');
  });

  it('answers a wrong password, an unknown email and a person without a password alike, each at the cost of one argon2 check', async () => {
    const { db } = use();
    const { tenancy, tenant, email, userId } = await seedPerson(db);
    const noPassword = `nopass-${randomUUID().slice(0, 8)}@example.com`;
    await tenancy.members.add(tenant.id, operator, { email: noPassword, role: 'member' });
    const { sessions, checkedHashes } = watchedSessions(db);
    const before = await countRows(db, 'sessions');

    const attempts = [
      [email, 'wrong password, long enough'],
      [`nobody-${randomUUID()}@example.com`, PASSWORD],
      [noPassword, ''],
      ['', ''],
      [email, 'x'.repeat(5000)],
      // An address PostgreSQL cannot hold: refused like any unknown one, not failing in the database.
      [`no\u0000body@example.com`, PASSWORD],
    ] as const;
    for (const [attemptEmail, password] of attempts) {
      const checksBefore = checkedHashes.length;
      expect(await sessions.login(attemptEmail, password, meta)).toBeUndefined();
      // Exactly one check each, so that no answer comes sooner than the others.
      expect(checkedHashes.length - checksBefore).toBe(1);
    }
    expect(await countRows(db, 'sessions')).toBe(before);

    // The person's own hash for the known email; for the rest (an over-long password included), a hash of the same cost.
    const stored = await withAuthenticator(db, (trx) => trx.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow());
    expect(checkedHashes[0]).toBe(stored.password_hash);
    for (const hashed of checkedHashes.slice(1)) {
      expect(hashed).not.toBe(stored.password_hash);
      expect(argon2Cost(hashed ?? '')).toBe(argon2Cost(stored.password_hash ?? 'none'));
    }
    expect(argon2Cost(stored.password_hash ?? '')).toMatch(/^argon2id\$v=19\$m=\d+,t=\d+,p=\d+$/);
  });

  it('stores only the SHA-256 of the token, never the token', async () => {
    const { db } = use();
    const { email, userId } = await seedPerson(db);
    const sessions = createSessionService({ db });

    const result = await sessions.login(email, PASSWORD, meta);

    const rows = await storedSessions(db, userId);
    expect(rows).toHaveLength(1);
    const token = result?.token ?? '';
    expect(rows[0]?.id).toBe(createHash('sha256').update(token).digest('hex'));
    expect(rows[0]).toMatchObject({ ip: meta.ip, user_agent: meta.userAgent });
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(rows)).not.toContain(result?.session.csrfToken);
  });

  it('validates a token, and refuses forged, altered and other-shaped tokens', async () => {
    const { db } = use();
    const { email, userId } = await seedPerson(db);
    const sessions = createSessionService({ db });
    const result = await sessions.login(email, PASSWORD, meta);
    const token = result?.token ?? '';

    expect(await sessions.validate(token)).toEqual(result?.session);
    const altered = `${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}`;
    for (const forged of [altered, 'a'.repeat(32), '', token.toUpperCase(), `${token}a`, result?.session.id ?? '']) {
      expect(await sessions.validate(forged)).toBeUndefined();
    }
    expect(await storedSessions(db, userId)).toHaveLength(1);
  });

  it('slides the expiry: extended when under 15 days remain, gone (and deleted) once expired', async () => {
    const { db } = use();
    const { email, userId } = await seedPerson(db);
    const clock = fakeClock();
    const sessions = createSessionService({ db, now: clock.now });
    const start = clock.now().getTime();
    const token = (await sessions.login(email, PASSWORD, meta))?.token ?? '';

    clock.advance(10 * DAY);
    expect((await sessions.validate(token))?.expiresAt).toEqual(new Date(start + 30 * DAY));
    expect((await storedSessions(db, userId))[0]?.last_extended_at).toEqual(new Date(start));

    clock.advance(6 * DAY); // 14 days left: extended to 30 from now
    expect((await sessions.validate(token))?.expiresAt).toEqual(new Date(start + 46 * DAY));
    expect(await storedSessions(db, userId)).toEqual([
      expect.objectContaining({ expires_at: new Date(start + 46 * DAY), last_extended_at: new Date(start + 16 * DAY) }),
    ]);

    clock.advance(30 * DAY);
    expect(await sessions.validate(token)).toBeUndefined();
    expect(await storedSessions(db, userId)).toEqual([]);
  });

  it('logs out one session, and everywhere ends all of one person and no one else', async () => {
    const { db } = use();
    const alice = await seedPerson(db);
    const bob = await seedPerson(db);
    const sessions = createSessionService({ db });
    const [a1, a2, a3, b1] = await Promise.all([
      sessions.login(alice.email, PASSWORD, meta),
      sessions.login(alice.email, PASSWORD, meta),
      sessions.login(alice.email, PASSWORD, meta),
      sessions.login(bob.email, PASSWORD, meta),
    ]);

    await sessions.logout(a1?.token ?? '');
    expect(await sessions.validate(a1?.token ?? '')).toBeUndefined();
    expect(await sessions.validate(a2?.token ?? '')).toBeDefined();
    expect(await storedSessions(db, alice.userId)).toHaveLength(2);

    await sessions.logoutEverywhere(alice.userId);
    expect(await sessions.validate(a2?.token ?? '')).toBeUndefined();
    expect(await sessions.validate(a3?.token ?? '')).toBeUndefined();
    expect(await storedSessions(db, alice.userId)).toEqual([]);
    expect(await sessions.validate(b1?.token ?? '')).toMatchObject({ user: { id: bob.userId } });
    // Harmless on nonsense.
    await sessions.logout('not a token');
    await sessions.logoutEverywhere('not a uuid');
  });

  it("lists the person's tenants with the role in each", async () => {
    const { db } = use();
    const { tenancy, tenant, email, userId } = await seedPerson(db, 'owner');
    const second = await tenancy.tenants.create(operator, { slug: `sess-two-${randomUUID().slice(0, 8)}` });
    await tenancy.members.add(second.id, operator, { email, role: 'auditor', attachExisting: true });
    const sessions = createSessionService({ db });

    const memberships = await sessions.memberships(userId);

    const byTenant = (a: { tenant: { id: string } }, b: { tenant: { id: string } }) => a.tenant.id.localeCompare(b.tenant.id);
    expect(memberships.map((m) => ({ tenant: { id: m.tenant.id }, role: m.role })).sort(byTenant)).toEqual(
      [
        { tenant: { id: tenant.id }, role: 'owner' },
        { tenant: { id: second.id }, role: 'auditor' },
      ].sort(byTenant),
    );
    expect(await sessions.memberships(randomUUID())).toEqual([]);
  });

  it('keeps sessions away from the application and authenticator roles', async () => {
    const { db } = use();
    const { tenant, email } = await seedPerson(db);
    await createSessionService({ db }).login(email, PASSWORD, meta);

    await expect(withTenant(db, tenant.id, (trx) => trx.selectFrom('sessions').select('id').execute())).rejects.toThrow(
      /permission denied/,
    );
    await expect(withAuthenticator(db, (trx) => trx.selectFrom('sessions').select('id').execute())).rejects.toThrow(
      /permission denied/,
    );
  });
});
