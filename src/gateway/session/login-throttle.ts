import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../../shared/logger.ts';

/**
 * Failed sign-ins to one account from one address before that address must wait for it. Counted
 * per pair, so that someone who merely knows a person's email cannot lock the person out from
 * their own address with a handful of wrong passwords...
 */
export const PAIR_FAILURES = 5;
const PAIR_WINDOW_S = 15 * 60;
/** ...while guesses at one account spread over many addresses are bounded all the same... */
export const ACCOUNT_FAILURES = 100;
const ACCOUNT_WINDOW_S = 60 * 60;
/** ...and failures one address may cause across all accounts. */
export const ADDRESS_FAILURES = 50;
const ADDRESS_WINDOW_S = 60 * 60;

/** Counts failed sign-ins per account (email) and address, per account, and per client address. */
export interface LoginThrottle {
  /** Seconds to wait when the pair, the account or the address has failed too often; undefined when free to try. */
  check(email: string, ip: string): Promise<number | undefined>;
  recordFailure(email: string, ip: string): Promise<void>;
  /** A correct password clears the pair's count (the account's and the address's stay, as guesses elsewhere go on). */
  recordSuccess(email: string, ip: string): Promise<void>;
  /** Where the counts live, for the start-up log. */
  readonly store: 'memory' | 'postgres';
  close(): Promise<void>;
}

/** Keys are digests: the store never holds an email or an address. */
function keyOf(kind: string, ...values: string[]): string {
  return createHash('sha256').update([kind, ...values.map((value) => value.trim().toLowerCase())].join('\u0000')).digest('hex');
}

function secondsUntil(res: RateLimiterRes | null, limit: number): number | undefined {
  if (!res || res.consumedPoints < limit) return undefined;
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}

/**
 * In memory on the embedded database (one process holds it); on PostgreSQL in the
 * `login_attempts` table (migration 0008) so that every gateway node counts the same
 * failures, with memory as rate-limiter-flexible's "insurance" should the database fail.
 */
export function createLoginThrottle({ databaseUrl, logger }: { databaseUrl: string | undefined; logger: Logger }): LoginThrottle {
  const options = (prefix: string, points: number, duration: number) => ({ keyPrefix: prefix, points, duration });
  const memory = (prefix: string, points: number, duration: number) => new RateLimiterMemory(options(prefix, points, duration));

  let pool: Pool | undefined;
  let pair: RateLimiterAbstract;
  let account: RateLimiterAbstract;
  let address: RateLimiterAbstract;
  if (databaseUrl) {
    const shared = new Pool({ connectionString: databaseUrl, max: 2 });
    shared.on('error', (error) => logger.warn({ err: error }, 'an idle sign-in throttle connection failed; it will be replaced'));
    pool = shared;
    const postgres = (prefix: string, points: number, duration: number) =>
      new RateLimiterPostgres({
        ...options(prefix, points, duration),
        storeClient: shared,
        storeType: 'pool',
        tableName: 'login_attempts',
        tableCreated: true,
        insuranceLimiter: memory(prefix, points, duration),
      });
    pair = postgres('pair', PAIR_FAILURES, PAIR_WINDOW_S);
    account = postgres('account', ACCOUNT_FAILURES, ACCOUNT_WINDOW_S);
    address = postgres('address', ADDRESS_FAILURES, ADDRESS_WINDOW_S);
  } else {
    pair = memory('pair', PAIR_FAILURES, PAIR_WINDOW_S);
    account = memory('account', ACCOUNT_FAILURES, ACCOUNT_WINDOW_S);
    address = memory('address', ADDRESS_FAILURES, ADDRESS_WINDOW_S);
  }

  /** `consume` rejects with a RateLimiterRes once over the limit: that is expected, anything else is not. */
  async function consume(limiter: RateLimiterAbstract, key: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
    }
  }

  return {
    store: pool ? 'postgres' : 'memory',

    async check(email, ip) {
      const [byPair, byAccount, byAddress] = await Promise.all([
        pair.get(keyOf('pair', email, ip)),
        account.get(keyOf('account', email)),
        address.get(keyOf('address', ip)),
      ]);
      const waits = [
        secondsUntil(byPair, PAIR_FAILURES),
        secondsUntil(byAccount, ACCOUNT_FAILURES),
        secondsUntil(byAddress, ADDRESS_FAILURES),
      ].filter((wait) => wait !== undefined);
      return waits.length === 0 ? undefined : Math.max(...waits);
    },

    async recordFailure(email, ip) {
      await Promise.all([
        consume(pair, keyOf('pair', email, ip)),
        consume(account, keyOf('account', email)),
        consume(address, keyOf('address', ip)),
      ]);
    },

    async recordSuccess(email, ip) {
      await pair.delete(keyOf('pair', email, ip));
    },

    async close() {
      await pool?.end();
    },
  };
}
