import { Writable } from 'node:stream';
import { Kysely, PostgresDialect } from 'kysely';
import { Client } from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessChangeBus, type ChangeBus, type ChangeEvent } from '../../src/shared/change-bus.ts';
import type { Database } from '../../src/shared/db-schema.ts';
import { CHANGE_LISTENER_APPLICATION, createPostgresChangeBus } from '../../src/shared/postgres-change-bus.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL, testPool } from '../support/databases.ts';
import { pollUntil } from '../support/gateway-process.ts';

/** A logger whose lines a test can read. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Everything a bus delivers to one subscriber, in order. */
function record(bus: ChangeBus): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  bus.subscribe((event) => events.push(event));
  return events;
}

const message = (topic: string, payload: { tenantId: string; [field: string]: string }): ChangeEvent => ({ kind: 'message', topic, payload });

describe('in-process change bus', () => {
  it('delivers to every subscriber, survives a throwing one, and stops after unsubscribe and close', async () => {
    const { logger, lines } = capturingLogger();
    const bus = createInProcessChangeBus(logger);
    const first = record(bus);
    bus.subscribe(() => {
      throw new Error('handler bug');
    });
    const later: ChangeEvent[] = [];
    const unsubscribe = bus.subscribe((event) => later.push(event));

    bus.publish('servers.lists_changed', { tenantId: 't1', server: 'a' });
    unsubscribe();
    unsubscribe();
    bus.publish('servers.lists_changed', { tenantId: 't2', server: 'b' });
    await bus.close();
    bus.publish('servers.lists_changed', { tenantId: 't3', server: 'c' });

    expect(first).toEqual([
      message('servers.lists_changed', { tenantId: 't1', server: 'a' }),
      message('servers.lists_changed', { tenantId: 't2', server: 'b' }),
    ]);
    expect(later).toEqual([message('servers.lists_changed', { tenantId: 't1', server: 'a' })]);
    expect(lines.join('')).toContain('a change-bus handler failed');
  });
});

describe.skipIf(!TEST_DATABASE_URL)('PostgreSQL change bus', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  const dbs: Array<Kysely<Database>> = [];
  const buses: ChangeBus[] = [];

  /** A node's bus: its own pool for publishing, its own listening connection. */
  function openBus(connectionString = database?.url ?? '') {
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: testPool(database?.url, 2) }) });
    dbs.push(db);
    const { logger, lines } = capturingLogger();
    const bus = createPostgresChangeBus({ connectionString, db, logger });
    buses.push(bus);
    return { bus, lines };
  }

  /** Ends every listening connection of the test database, as a failover or an idle-connection reaper would. */
  async function killListeners(): Promise<number> {
    const admin = new Client({ connectionString: database?.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ killed: boolean }>(
        'select pg_terminate_backend(pid) as killed from pg_stat_activity where application_name = $1 and datname = current_database()',
        [CHANGE_LISTENER_APPLICATION],
      );
      return rows.filter((row) => row.killed).length;
    } finally {
      await admin.end();
    }
  }

  beforeAll(async () => {
    database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
  });

  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    await Promise.all(dbs.map((db) => db.destroy()));
    await database?.drop();
  });

  it('delivers a message to every node once: at once on its own, through PostgreSQL on the others', async () => {
    const [one, two] = [openBus().bus, openBus().bus];
    await Promise.all([one.connect(), two.connect()]);
    const [onOne, onTwo] = [record(one), record(two)];

    one.publish('servers.lists_changed', { tenantId: 't1', server: 'a' });
    expect(onOne).toEqual([message('servers.lists_changed', { tenantId: 't1', server: 'a' })]);
    await pollUntil('node two to hear node one', async () => (onTwo.length > 0 ? true : undefined));
    // A later message from the other side: had node one heard its own echo, it would have come first.
    two.publish('servers.lists_changed', { tenantId: 't2', server: 'b' });
    await pollUntil('node one to hear node two', async () => (onOne.length > 1 ? true : undefined));

    const both = [message('servers.lists_changed', { tenantId: 't1', server: 'a' }), message('servers.lists_changed', { tenantId: 't2', server: 'b' })];
    expect(onOne).toEqual(both);
    expect(onTwo).toEqual(both);
  });

  it('reconnects after its connection is killed, tells subscribers to look again, and hears messages again', async () => {
    const publisher = openBus().bus;
    const { bus: listener, lines } = openBus();
    await listener.connect();
    const heard = record(listener);

    expect(await killListeners()).toBeGreaterThan(0);
    await pollUntil('the listener to reconnect', async () => (heard.some((event) => event.kind === 'resync') ? true : undefined));
    publisher.publish('servers.lists_changed', { tenantId: 't3', server: 'c' });
    await pollUntil('the message after the reconnect', async () => (heard.some((event) => event.kind === 'message') ? true : undefined));

    expect(heard.filter((event) => event.kind === 'message')).toEqual([message('servers.lists_changed', { tenantId: 't3', server: 'c' })]);
    expect(lines.join('')).toContain('change notifications from other nodes interrupted; reconnecting');
  });

  it('neither throws nor stops local delivery when PostgreSQL cannot be reached, and still closes', async () => {
    const { bus, lines } = openBus('postgres://postgres@127.0.0.1:1/nothing');
    const heard = record(bus);
    await bus.connect();
    bus.publish('servers.lists_changed', { tenantId: 't4', server: 'd' });
    await bus.close();

    expect(heard).toEqual([message('servers.lists_changed', { tenantId: 't4', server: 'd' })]);
    expect(lines.join('')).toContain('change notifications from other nodes interrupted; reconnecting');
  });
});
