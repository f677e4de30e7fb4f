import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { ACCOUNT_FAILURES, ADDRESS_FAILURES, createLoginThrottle, PAIR_FAILURES } from '../../src/gateway/session/login-throttle.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { describeEachDatabase } from '../support/databases.ts';

const logger = createLogger({ level: 'silent' });

describeEachDatabase('login throttle', (use) => {
  it("locks an address out of an account after its failures there, not the account's owner elsewhere; a success clears the pair", async () => {
    const { url } = use();
    const throttle = createLoginThrottle({ databaseUrl: url, logger });
    try {
      expect(throttle.store).toBe(url ? 'postgres' : 'memory');
      const email = `throttled-${randomUUID()}@example.com`;
      const [guesser, owner] = ['198.51.100.1', '198.51.100.2'];
      for (let i = 0; i < PAIR_FAILURES - 1; i++) await throttle.recordFailure(email, guesser);
      expect(await throttle.check(email, guesser)).toBeUndefined();
      await throttle.recordSuccess(email, guesser);
      for (let i = 0; i < PAIR_FAILURES; i++) await throttle.recordFailure(email.toUpperCase(), guesser);

      const wait = await throttle.check(email, guesser);
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(15 * 60);
      expect(await throttle.check(email, owner)).toBeUndefined();
      expect(await throttle.check(`other-${email}`, guesser)).toBeUndefined();
    } finally {
      await throttle.close();
    }
  });

  it('bounds guesses at one account spread over many addresses, on every address', async () => {
    const { url } = use();
    const throttle = createLoginThrottle({ databaseUrl: url, logger });
    try {
      const email = `spread-${randomUUID()}@example.com`;
      for (let i = 0; i < ACCOUNT_FAILURES - 1; i++) await throttle.recordFailure(email, `2001:db8:1::${i.toString(16)}`);
      expect(await throttle.check(email, '2001:db8:2::1')).toBeUndefined();
      await throttle.recordFailure(email, '2001:db8:1::ffff');

      const wait = await throttle.check(email, '2001:db8:2::1');
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(60 * 60);
      expect(await throttle.check(`other-${email}`, '2001:db8:2::1')).toBeUndefined();
    } finally {
      await throttle.close();
    }
  });

  it('locks an address that fails across many accounts', async () => {
    const { url } = use();
    const throttle = createLoginThrottle({ databaseUrl: url, logger });
    try {
      const ip = `2001:db8::${randomUUID().slice(0, 4)}`;
      for (let i = 0; i < ADDRESS_FAILURES; i++) await throttle.recordFailure(`spray-${i}-${randomUUID()}@example.com`, ip);
      expect(await throttle.check(`fresh-${randomUUID()}@example.com`, ip)).toBeGreaterThan(0);
      expect(await throttle.check(`fresh-${randomUUID()}@example.com`, '2001:db8::ffff')).toBeUndefined();
    } finally {
      await throttle.close();
    }
  });

  it('shares counts between gateway nodes on PostgreSQL, storing digests rather than emails', async (context) => {
    const { db, url } = use();
    context.skip(url === undefined, 'the embedded database counts in memory, in its one process');
    const nodeA = createLoginThrottle({ databaseUrl: url, logger });
    const nodeB = createLoginThrottle({ databaseUrl: url, logger });
    try {
      const email = `shared-${randomUUID()}@example.com`;
      for (let i = 0; i < PAIR_FAILURES; i++) await (i % 2 === 0 ? nodeA : nodeB).recordFailure(email, '192.0.2.1');
      expect(await nodeA.check(email, '192.0.2.1')).toBeGreaterThan(0);
      expect(await nodeB.check(email, '192.0.2.1')).toBeGreaterThan(0);

      const keys = await sql<{ key: string }>`select key from login_attempts`.execute(db);
      expect(keys.rows.length).toBeGreaterThan(0);
      for (const { key } of keys.rows) expect(key).toMatch(/^(pair|account|address):[0-9a-f]{64}$/);
    } finally {
      await nodeA.close();
      await nodeB.close();
    }
  });
});
