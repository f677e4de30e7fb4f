import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import { Client } from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { composeModules, type Modules } from '../../src/compose.ts';
import { removeBot, removeServer } from '../../src/gateway/removals.ts';
import { loadConfig } from '../../src/shared/config.ts';
import type { Database } from '../../src/shared/db-schema.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { migrateToLatest } from '../../src/shared/migrate.ts';
import type { Tenant } from '../../src/tenancy/index.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL, testPool } from '../support/databases.ts';
import { pollUntil } from '../support/gateway-process.ts';

const OPERATOR = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const MODEL = 'claude-haiku-4-5';

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise whose outcome can be looked at before it is awaited. */
function track<T>(promise: Promise<T>): { settled: boolean; outcome: Promise<Outcome<T>> } {
  const tracked = {
    settled: false,
    outcome: promise.then(
      (value): Outcome<T> => ({ ok: true, value }),
      (error: unknown): Outcome<T> => ({ ok: false, error }),
    ),
  };
  void tracked.outcome.then(() => (tracked.settled = true));
  return tracked;
}

/** The value of what must have succeeded. */
async function succeeded<T>(tracked: { outcome: Promise<Outcome<T>> }): Promise<T> {
  const outcome = await tracked.outcome;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/*
 * A deletion of a server or bot takes it out of the bots and keys naming it, in its transaction.
 * These force the interleavings in which something comes to name it meanwhile, by making one side
 * wait on a row lock held by a transaction of the test's own, then letting go once the other side
 * waits too (or, without the locks under test, has finished). PGlite has one connection: nothing
 * runs meanwhile there, so these run on PostgreSQL only.
 */
describe.skipIf(!TEST_DATABASE_URL)('deletions racing what comes to name the deleted [postgres]', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  let db: Kysely<Database>;
  let modules: Modules;
  let dataDir: string;
  let tenant: Tenant;
  let monitor: Client;
  const holders: Client[] = [];

  /** Runs `statement` in a transaction of its own, left open (as the owner: row-level security does not apply) until `release`. */
  async function hold(statement: string, params: unknown[]) {
    const client = new Client({ connectionString: database?.url });
    holders.push(client);
    await client.connect();
    await client.query('begin');
    await client.query(statement, params);
    return {
      async release() {
        await client.query('rollback');
        await client.end();
      },
    };
  }

  /** Until `count` sessions of the test database wait for a lock, or one of `pending` has finished (it did not wait). */
  async function untilWaiting(count: number, ...pending: Array<{ settled: boolean }>): Promise<void> {
    await pollUntil(`${count} sessions waiting for a lock`, async () => {
      const { rows } = await monitor.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
      );
      return (rows[0]?.n ?? 0) >= count || pending.some((p) => p.settled) ? true : undefined;
    });
  }

  const createServer = (slug: string) => modules.servers.servers.create(tenant, OPERATOR, { slug, kind: 'filesystem' });
  const createBot = (slug: string, attach: { servers?: Array<{ slug: string }>; bots?: string[] } = {}) =>
    modules.bots.bots.create(tenant, OPERATOR, { slug, model: MODEL, description: `Bot ${slug}.`, ...attach });
  const keyFor = (tools: string[], extra: { user?: string } = {}) =>
    modules.commands.run('key.create', { tenant: tenant.slug, name: `key ${randomUUID().slice(0, 6)}`, scopes: ['mcp'], tools, ...extra }, OPERATOR) as Promise<{
      key: { id: string; tools: string[] };
    }>;
  const keyTools = async (id: string) => (await modules.tenancy.apiKeys.get(tenant.id, id)).tools;
  const botNames = async () => (await modules.bots.bots.list(tenant)).map((bot) => bot.slug);

  /** Each way a server and a bot are deleted, named, and attached. */
  const kinds = [
    {
      kind: 'server',
      make: () => createServer('target'),
      remove: () => removeServer(modules, tenant, OPERATOR, 'target'),
      attach: { servers: [{ slug: 'target' }] },
      attached: (bot: { servers: Array<{ slug: string }>; bots: string[] }) => bot.servers.map((server) => server.slug),
      toolEntry: 'target',
      refusal: 'servers.0.slug: no server "target" in this tenant',
    },
    {
      kind: 'bot',
      make: () => createBot('target'),
      remove: () => removeBot(modules, tenant, OPERATOR, 'target'),
      attach: { bots: ['target'] },
      attached: (bot: { servers: Array<{ slug: string }>; bots: string[] }) => bot.bots,
      toolEntry: 'bot__target',
      refusal: 'bots.0: no bot "target" in this tenant',
    },
  ];

  beforeAll(async () => {
    database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: testPool(database.url, 6) }) });
    await migrateToLatest(db);
    monitor = new Client({ connectionString: database.url });
    await monitor.connect();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-delete-races-'));
    const config = loadConfig({ DATA_DIR: dataDir });
    modules = composeModules({ config, db, logger: createLogger({ level: 'silent' }), secretKey: randomBytes(32) });
  });

  beforeEach(async () => {
    tenant = await modules.tenancy.tenants.create(OPERATOR, { slug: `race-${randomUUID().slice(0, 8)}` });
  });

  afterAll(async () => {
    await Promise.all([...holders, monitor].map((client) => client?.end().catch(() => undefined)));
    await modules?.close();
    await db?.destroy();
    await database?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  describe.each(kinds)('a bot attaching the $kind being deleted', ({ make, remove, attach, attached, toolEntry, refusal }) => {
    it('attached first: the deletion waits for it, then takes the new attachment out', async () => {
      await make();
      // The new bot's insert waits on this uncommitted one of its slug: its check is done, its attachment not yet committed.
      const holder = await hold("insert into bots (tenant_id, slug, name, description, model, max_tokens) values ($1, 'helper', 'x', 'x', 'x', 1)", [tenant.id]);
      const creating = track(createBot('helper', attach));
      await untilWaiting(1, creating);
      const deleting = track(remove());
      await untilWaiting(2, creating, deleting);
      await holder.release();

      const [created, detached] = [await creating.outcome, await succeeded(deleting)];
      expect(created.ok).toBe(true);
      expect(detached.bots.map((bot) => bot.slug)).toEqual(['helper']);
      expect(attached(await modules.bots.bots.get(tenant, 'helper'))).toEqual([]);
    });

    it('deleted first: the attachment waits for the deletion, then is refused', async () => {
      await make();
      const stopper = await keyFor([toolEntry]);
      // The deletion waits on this lock on a key naming what it deletes: the row is deleted, the bots attaching it already listed.
      const holder = await hold('select from api_keys where id = $1 for update', [stopper.key.id]);
      const deleting = track(remove());
      await untilWaiting(1, deleting);
      const creating = track(createBot('helper', attach));
      await untilWaiting(2, deleting, creating);
      await holder.release();

      const [deleted, created] = [await deleting.outcome, await creating.outcome];
      expect(deleted.ok).toBe(true);
      expect(created).toMatchObject({ ok: false, error: { code: 'validation_failed', message: refusal } });
      expect(await botNames()).not.toContain('helper');
    });

    it('deleted first, an existing bot updated to attach it: the update waits for the deletion, then is refused', async () => {
      await make();
      await createBot('helper');
      const stopper = await keyFor([toolEntry]);
      const holder = await hold('select from api_keys where id = $1 for update', [stopper.key.id]);
      const deleting = track(remove());
      await untilWaiting(1, deleting);
      const updating = track(modules.bots.bots.update(tenant, OPERATOR, 'helper', { name: 'Helper', ...attach }));
      await untilWaiting(2, deleting, updating);
      await holder.release();

      const [deleted, updated] = [await deleting.outcome, await updating.outcome];
      expect(deleted.ok).toBe(true);
      expect(updated).toMatchObject({ ok: false, error: { code: 'validation_failed', message: refusal } });
      expect(await modules.bots.bots.get(tenant, 'helper')).toMatchObject({ name: 'helper', servers: [], bots: [] });
    });
  });

  describe.each(kinds)('a key restricted to the $kind being deleted', ({ make, remove, toolEntry }) => {
    it('deleted first: the key waits for the deletion, then is refused', async () => {
      await make();
      const stopper = await keyFor([toolEntry]);
      const holder = await hold('select from api_keys where id = $1 for update', [stopper.key.id]);
      const deleting = track(remove());
      await untilWaiting(1, deleting);
      const before = (await modules.tenancy.apiKeys.list(tenant.id)).length;
      const creating = track(keyFor([toolEntry]));
      await untilWaiting(2, deleting, creating);
      await holder.release();

      const [deleted, created] = [await deleting.outcome, await creating.outcome];
      expect(deleted.ok).toBe(true);
      expect(created).toMatchObject({ ok: false, error: { code: 'validation_failed', message: `tools: no such server or bot in this tenant: ${toolEntry}` } });
      expect(await modules.tenancy.apiKeys.list(tenant.id)).toHaveLength(before);
    });

    it('made first: the deletion waits for the key, then takes the entry out of it', async () => {
      await make();
      const email = `member-${randomUUID().slice(0, 6)}@example.com`;
      const { member } = await modules.tenancy.members.add(tenant.id, OPERATOR, { email, role: 'member', generatePassword: true });
      // The key's insert waits on this lock on its user (its foreign key): its check is done, the key not yet committed.
      const holder = await hold('select from users where id = $1 for update', [member.userId]);
      const creating = track(keyFor([toolEntry], { user: email }));
      await untilWaiting(1, creating);
      const deleting = track(remove());
      await untilWaiting(2, creating, deleting);
      await holder.release();

      const [created, detached] = [await creating.outcome, await succeeded(deleting)];
      if (!created.ok) throw created.error;
      expect(detached.keys.map((key) => key.id)).toEqual([created.value.key.id]);
      expect(await keyTools(created.value.key.id)).toEqual([]);
    });
  });

  it.each(kinds)('a key restricted to the $kind being deleted, rotated meanwhile: the deletion takes the entry out of the successor too', async ({ make, remove, toolEntry }) => {
    await make();
    const email = `member-${randomUUID().slice(0, 6)}@example.com`;
    const { member } = await modules.tenancy.members.add(tenant.id, OPERATOR, { email, role: 'member', generatePassword: true });
    const { key } = await keyFor([toolEntry], { user: email });
    // The successor's insert waits on this lock on its user (its foreign key), the old key locked by the rotation.
    const holder = await hold('select from users where id = $1 for update', [member.userId]);
    const rotating = track(modules.tenancy.apiKeys.rotate(tenant.id, OPERATOR, key.id, 60_000));
    await untilWaiting(1, rotating);
    const deleting = track(remove());
    await untilWaiting(2, rotating, deleting);
    await holder.release();

    const [rotated, detached] = [await succeeded(rotating), await succeeded(deleting)];
    expect(detached.keys.map((changed) => changed.id).sort()).toEqual([key.id, rotated.key.id].sort());
    expect(await keyTools(rotated.key.id)).toEqual([]);
  });

  it('two bots attaching each other, deleted at once: both are deleted, neither fails', async () => {
    await createBot('alpha');
    await createBot('beta', { bots: ['alpha'] });
    await modules.bots.bots.update(tenant, OPERATOR, 'alpha', { bots: ['beta'] });
    // Each deletion's audit event waits on this lock on the tenant: by then, without an order between them, each holds its own bot.
    const holder = await hold('select from tenants where id = $1 for update', [tenant.id]);
    const first = track(removeBot(modules, tenant, OPERATOR, 'alpha'));
    const second = track(removeBot(modules, tenant, OPERATOR, 'beta'));
    await untilWaiting(2, first, second);
    await holder.release();

    const outcomes = [await first.outcome, await second.outcome];
    for (const outcome of outcomes) if (!outcome.ok) throw outcome.error;
    expect(await botNames()).toEqual([]);
  });
});
