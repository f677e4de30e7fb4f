import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { withAuthenticator, type Db } from '../src/shared/db.ts';
import { createTenancyModule, type RequestContext } from '../src/tenancy/index.ts';
import { quantile } from './load.ts';

export interface Timing {
  iterations: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
}

/** One database's figures: authenticate and its `select 1` baseline, sampled alternately. */
export interface AuthCase {
  keys: number;
  auth: Timing;
  baseline: Timing;
}

export interface AuthBenchResult {
  small: AuthCase;
  large: AuthCase;
  bulkInsertMs: number;
  /** The planner's first line for the digest lookup in the large table, as the authenticator role sees it. */
  plan: string;
}

const OPERATOR: RequestContext = {
  actor: { type: 'operator', id: null },
  ip: null,
  userAgent: null,
  requestId: 'bench',
};
const TENANTS = ['bench-a', 'bench-b', 'bench-c', 'bench-d'];
const KEYS_PER_SMALL_TABLE = 10;

function summarize(samples: Float64Array): Timing {
  const sorted = samples.slice().sort();
  const total = samples.reduce((sum, us) => sum + us, 0);
  return {
    iterations: samples.length,
    meanUs: total / samples.length,
    p50Us: quantile(sorted, 0.5),
    p99Us: quantile(sorted, 0.99),
  };
}

/**
 * Times several async functions, one call of each per round, rotating which
 * goes first, so background load on a shared machine falls on all of them alike.
 */
export async function measureInterleaved(
  fns: ReadonlyArray<() => Promise<unknown>>,
  iterations: number,
  warmup: number,
): Promise<Timing[]> {
  for (let i = 0; i < warmup; i += 1) for (const fn of fns) await fn();
  const samples = fns.map(() => new Float64Array(iterations));
  for (let i = 0; i < iterations; i += 1) {
    for (let j = 0; j < fns.length; j += 1) {
      const index = (i + j) % fns.length;
      const start = process.hrtime.bigint();
      await fns[index]?.();
      const bucket = samples[index];
      if (bucket) bucket[i] = Number(process.hrtime.bigint() - start) / 1000;
    }
  }
  return samples.map(summarize);
}

/**
 * Inserts `count` keys spread over the bench tenants in one statement, as the
 * owner role (superuser on PGlite, so row-level security does not apply). The
 * digests are SHA-256 hex like real ones, so the unique index has the real shape.
 */
async function insertBulkKeys(db: Db, count: number): Promise<void> {
  await sql`
    insert into api_keys (tenant_id, name, prefix, digest, scopes)
    select tenant_ids[1 + g % cardinality(tenant_ids)],
           'bulk ' || g,
           'bgk_' || left(md5(g::text), 8),
           encode(sha256(convert_to('bench-bulk-key-' || g, 'UTF8')), 'hex'),
           array['mcp']::text[]
    from generate_series(1, ${count}::int) as g,
         (select array_agg(id order by slug) as tenant_ids from tenants where slug like 'bench-%') as t`.execute(db);
  // Autovacuum would do this on a live table; PGlite runs no autovacuum worker.
  await sql`analyze api_keys`.execute(db);
}

async function countKeys(db: Db): Promise<number> {
  const result = await sql<{ n: number }>`select count(*)::int as n from api_keys`.execute(db);
  return result.rows[0]?.n ?? 0;
}

/** Creates the bench tenants and 10 keys through the tenancy module; returns the first key's secret. */
async function seed(db: Db): Promise<{ secret: string; keyId: string }> {
  const tenancy = createTenancyModule({ db });
  const tenants = [];
  for (const slug of TENANTS) tenants.push(await tenancy.tenants.create(OPERATOR, { slug }));
  const home = tenants[0];
  if (!home) throw new Error('no bench tenant');
  const issued = await tenancy.apiKeys.create(home.id, OPERATOR, { name: 'bench', scopes: ['read'] });
  for (let i = 1; i < KEYS_PER_SMALL_TABLE; i += 1) {
    await tenancy.apiKeys.create(home.id, OPERATOR, { name: `bench ${i}`, scopes: ['mcp'] });
  }
  return { secret: issued.secret, keyId: issued.id };
}

/** `apiKeys.authenticate` on a fresh tenancy module, failing loudly if the key stops resolving. */
function authenticator(db: Db, key: { secret: string; keyId: string }): () => Promise<void> {
  const tenancy = createTenancyModule({ db });
  return async () => {
    const principal = await tenancy.apiKeys.authenticate(key.secret);
    if (principal?.keyId !== key.keyId) throw new Error('bench key did not authenticate');
  };
}

/**
 * Cost of `apiKeys.authenticate` with 10 keys in the table and with `largeKeyCount`,
 * each beside a `select 1` on the same handle. Takes two migrated, empty
 * databases so the four measurements can be interleaved call by call.
 */
export async function runAuthBench(
  dbs: { small: Db; large: Db },
  options: { iterations: number; warmup: number; largeKeyCount: number },
): Promise<AuthBenchResult> {
  const smallKey = await seed(dbs.small);
  const largeKey = await seed(dbs.large);
  const bulkStart = performance.now();
  await insertBulkKeys(dbs.large, options.largeKeyCount - KEYS_PER_SMALL_TABLE);
  const bulkInsertMs = performance.now() - bulkStart;

  const [smallBaseline, smallAuth, largeBaseline, largeAuth] = await measureInterleaved(
    [
      () => sql`select 1`.execute(dbs.small),
      authenticator(dbs.small, smallKey),
      () => sql`select 1`.execute(dbs.large),
      authenticator(dbs.large, largeKey),
    ],
    options.iterations,
    options.warmup,
  );
  if (!smallBaseline || !smallAuth || !largeBaseline || !largeAuth) throw new Error('missing timings');

  // Keys are stored and looked up by the SHA-256 hex of the secret.
  const digest = createHash('sha256').update(largeKey.secret).digest('hex');
  const plan = await withAuthenticator(dbs.large, (trx) =>
    trx.selectFrom('api_keys').select('id').where('digest', '=', digest).explain(),
  );
  const firstLine = Object.values(plan[0] ?? {})[0];
  return {
    small: { keys: await countKeys(dbs.small), auth: smallAuth, baseline: smallBaseline },
    large: { keys: await countKeys(dbs.large), auth: largeAuth, baseline: largeBaseline },
    bulkInsertMs,
    plan: String(firstLine ?? '(no plan)').trim(),
  };
}
