import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { Client, type Notification } from 'pg';
import * as z from 'zod';
import { createLocalFanout, type ChangeBus, type ChangePayload } from './change-bus.ts';
import type { Db } from './db.ts';
import type { Logger } from './logger.ts';

/** The one NOTIFY channel every gateway node listens on. */
export const CHANGE_CHANNEL = 'botgate_changes';
/** How the listening connection names itself in pg_stat_activity. */
export const CHANGE_LISTENER_APPLICATION = 'botgate-change-bus';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 30_000;

const wireSchema = z.object({
  origin: z.string(),
  topic: z.string(),
  payload: z.looseObject({ tenantId: z.string() }),
});

/**
 * A change bus over PostgreSQL LISTEN/NOTIFY, so that every gateway node on
 * one database hears every node's changes. Messages are sent with
 * `pg_notify` through the shared pool and received on one dedicated
 * connection, opened by `connect` or the first `subscribe` (a CLI process
 * that only publishes never opens it). A node delivers its own messages at once
 * and ignores their echo. When the listening connection fails it is reopened
 * with exponential backoff; what was sent meanwhile is lost, so subscribers
 * present when it is (re)established get a `resync` event. A connection error
 * never escapes.
 */
export function createPostgresChangeBus(options: { connectionString: string; db: Db; logger: Logger }): ChangeBus {
  const { connectionString, db } = options;
  const logger = options.logger.child({ component: 'change-bus' });
  const local = createLocalFanout(logger);
  const origin = randomUUID();
  const sending = new Set<Promise<void>>();
  let closed = false;
  let firstAttempt: Promise<void> | undefined;
  let client: Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  function receive(message: Notification): void {
    if (message.channel !== CHANGE_CHANNEL || message.payload === undefined) return;
    let parsed: z.infer<typeof wireSchema>;
    try {
      parsed = wireSchema.parse(JSON.parse(message.payload));
    } catch (error) {
      logger.warn({ err: error }, 'ignored a malformed change notification');
      return;
    }
    if (parsed.origin === origin) return;
    local.deliver({ kind: 'message', topic: parsed.topic, payload: parsed.payload as ChangePayload });
  }

  function scheduleReconnect(): void {
    if (closed || retryTimer) return;
    const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(failures, 16));
    failures += 1;
    // Jitter, so that nodes cut off together do not reconnect in lockstep.
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
    retryTimer.unref();
  }

  /** Handles the loss of `failed`, once, whichever of its events reports it first. */
  function lose(failed: Client, error: unknown): void {
    if (client !== failed) return;
    client = undefined;
    if (closed) return;
    logger.warn({ err: error }, 'change notifications from other nodes interrupted; reconnecting');
    failed.end().catch(() => {});
    scheduleReconnect();
  }

  async function connect(): Promise<void> {
    if (closed) return;
    const next = new Client({ connectionString, application_name: CHANGE_LISTENER_APPLICATION, keepAlive: true });
    client = next;
    // Registered before connecting and kept: an 'error' without a listener would crash the process.
    next.on('error', (error) => lose(next, error));
    next.on('end', () => lose(next, new Error('connection ended')));
    next.on('notification', receive);
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (error) {
      lose(next, error);
      return;
    }
    if (client !== next) {
      // Closed, or given up on, while connecting.
      await next.end().catch(() => {});
      return;
    }
    if (failures > 0) logger.info('change notifications from other nodes resumed');
    failures = 0;
    // Whoever subscribed before now may have missed messages: tell them to look again.
    if (local.size > 0) local.deliver({ kind: 'resync' });
  }

  const start = () => (firstAttempt ??= connect());

  return {
    publish(topic, payload) {
      if (closed) return;
      local.deliver({ kind: 'message', topic, payload });
      const text = JSON.stringify({ origin, topic, payload });
      const sent = sql`select pg_notify(${CHANGE_CHANNEL}, ${text})`
        .execute(db)
        .then(
          () => undefined,
          (error: unknown) => logger.error({ err: error, topic }, 'could not tell other nodes about a change'),
        )
        .finally(() => sending.delete(sent));
      sending.add(sent);
    },

    subscribe(handler) {
      const unsubscribe = local.subscribe(handler);
      void start();
      return unsubscribe;
    },

    connect: start,

    async close() {
      closed = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      await Promise.all(sending);
      const last = client;
      client = undefined;
      await last?.end().catch(() => {});
    },
  };
}
