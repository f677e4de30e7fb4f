import type { Db } from '../shared/db.ts';
import { isForeignKeyViolation, isRowError, withTenant } from '../shared/db.ts';
import type { Logger } from '../shared/logger.ts';
import { recordAudits, type AuditChange } from './audit.ts';
import type { RequestContext } from './types.ts';

interface Pending {
  tenantId: string;
  context: RequestContext;
  change: AuditChange;
}

/** Audit events written off the request's critical path, in batches. */
export interface AuditWriter {
  /** Queues an event; it is written within `flushIntervalMs`. */
  enqueue(tenantId: string, context: RequestContext, change: AuditChange): void;
  /** Writes everything queued so far. */
  flush(): Promise<void>;
  /** How many accepted events wait to be written. */
  pending(): number;
  /** Stops the timer and writes what is left: nothing accepted is lost on a clean shutdown. */
  close(): Promise<void>;
}

export function createAuditWriter({
  db,
  logger,
  flushIntervalMs = 200,
  maxBatch = 200,
}: {
  db: Db;
  logger: Logger;
  flushIntervalMs?: number;
  maxBatch?: number;
}): AuditWriter {
  let queue: Pending[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const write = (tenantId: string, events: readonly Pending[]) => withTenant(db, tenantId, (trx) => recordAudits(trx, tenantId, events));

  /**
   * Writes a refused batch event by event, so that the events the database
   * takes are kept. An event it refuses is written without its details, which
   * names why; one refused even so is logged and dropped. Events from the first
   * failure for another reason (the database went away) on are queued again.
   */
  async function writeOneByOne(tenantId: string, events: readonly Pending[]): Promise<void> {
    for (const [index, event] of events.entries()) {
      try {
        await write(tenantId, [event]);
      } catch (error) {
        if (!isRowError(error)) {
          logger.error({ err: error, tenantId, count: events.length - index }, 'audit batch failed; will retry');
          queue.unshift(...events.slice(index));
          return;
        }
        const { action, resourceType, resourceId } = event.change;
        const reason = error instanceof Error ? error.message : String(error);
        const stripped: Pending = {
          tenantId,
          context: { actor: event.context.actor, ip: null, userAgent: null, requestId: event.context.requestId },
          change: { action, resourceType, resourceId, after: { details_refused: `the database refused this event's details: ${reason}` } },
        };
        logger.error({ err: error, tenantId, action }, 'audit event refused by the database; written without its details');
        await write(tenantId, [stripped]).catch((again: unknown) =>
          logger.error({ err: again, tenantId, action }, 'audit event refused by the database even without its details; dropped'),
        );
      }
    }
  }

  async function writeBatch(batch: Pending[]): Promise<void> {
    const byTenant = new Map<string, Pending[]>();
    for (const pending of batch) {
      const events = byTenant.get(pending.tenantId);
      if (events) events.push(pending);
      else byTenant.set(pending.tenantId, [pending]);
    }
    for (const [tenantId, events] of byTenant) {
      try {
        await write(tenantId, events);
      } catch (error) {
        if (isForeignKeyViolation(error)) {
          // The tenant was deleted after these were queued: its trail is gone, and retrying cannot succeed.
          logger.warn({ tenantId, count: events.length }, 'audit events of a deleted tenant dropped');
          continue;
        }
        // One event the database refuses must not hold back the others for ever.
        if (isRowError(error)) {
          await writeOneByOne(tenantId, events);
          continue;
        }
        // Keep the events for the next flush rather than drop them.
        logger.error({ err: error, tenantId, count: events.length }, 'audit batch failed; will retry');
        queue.unshift(...events);
      }
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
      const before = queue.length;
      await writeBatch(batch);
      if (queue.length > before) {
        // A batch failed: try again on the next tick rather than spin.
        schedule();
        return;
      }
    }
  }

  /** Flushes run one after another, never two at once. */
  function flush(): Promise<void> {
    flushing = flushing.then(drain);
    return flushing;
  }

  function schedule(): void {
    // After close a failed batch is not retried: nothing would be left to write it.
    if (closed) return;
    timer ??= setTimeout(() => {
      timer = undefined;
      void flush();
    }, flushIntervalMs);
  }

  return {
    enqueue(tenantId, context, change) {
      queue.push({ tenantId, context, change });
      if (queue.length >= maxBatch) void flush();
      else schedule();
    },
    flush,
    pending: () => queue.length,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await flush();
      if (queue.length > 0) logger.error({ count: queue.length }, 'audit events could not be written before shutdown; they are lost');
    },
  };
}
