import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { ChangeBus, ChangeEvent } from '../../shared/change-bus.ts';
import { withTenant, type Db, type Tx } from '../../shared/db.ts';
import type { Logger } from '../../shared/logger.ts';
import { errorResult, isUnavailableResult, markUnavailable, type ToolCallContext, type ToolCallOutcome } from '../tool-source.ts';
import type { HeldCallKey } from './asked-calls.ts';

/** Where a call's progress notifications go: the client's request being served. */
export type Progress = ToolCallContext['progress'];

/** Feeds a held call the client's answers and serves it on, its progress to `progress`: what the call gives next. Never throws. */
export type ResumeHeldCall = (responses: Record<string, unknown>, signal: AbortSignal, progress: Progress) => Promise<ToolCallOutcome>;

/** A source's way to the relay, bound to its tenant and server. */
export interface HeldCallLink {
  /** Makes the call held here under `state` answerable from other nodes, for its tool and caller, until the returned function is called. */
  hold(state: string, key: HeldCallKey, resume: ResumeHeldCall): () => void;
  /**
   * Hands a retry's answers for a call this node does not hold to the node
   * that does, and waits for what the call gives next, passing its progress
   * to `progress`. Undefined when no node claims it in time; rejects with the
   * signal's reason when it aborts.
   */
  forward(state: string, key: HeldCallKey, responses: Record<string, unknown>, context: Pick<ToolCallContext, 'signal' | 'progress'>): Promise<ToolCallOutcome | undefined>;
}

export interface HeldCallRelay {
  link(tenantId: string, serverId: string): HeldCallLink;
}

/** How long answers wait for a node to claim them, how often the waiting node looks, and how the holder shows it lives. */
export interface RelayTiming {
  claimWaitMs: number;
  pollMs: number;
  heartbeatMs: number;
  /** A claimed call whose holder has not shown it lives for this long is given up. */
  holderLostMs: number;
}

export const RELAY_TIMING: RelayTiming = { claimWaitMs: 3_000, pollMs: 250, heartbeatMs: 2_000, holderLostMs: 10_000 };

/** What a retry is told when the node holding its call stopped while serving it. */
export const HOLDER_LOST_MESSAGE = 'The gateway node holding this call stopped answering while it ran. Call the tool again.';

/** Longer than any call can be held and run: ten minutes per question, and an hour for the call in all. */
const STALE_AFTER_MS = 2 * 60 * 60_000;

const ANSWERED_TOPIC = 'held-call.answered';
const DONE_TOPIC = 'held-call.done';
const PROGRESS_TOPIC = 'held-call.progress';

/** The most of a progress message passed between nodes: a notification must stay well within PostgreSQL's 8000 bytes. */
const MAX_PROGRESS_MESSAGE = 1_000;

const digestOf = (state: string) => createHash('sha256').update(state).digest('hex');

/** A call's outcome as its row keeps it: JSON, with the mark of an upstream outage (a symbol, which JSON drops) beside it. */
function encodeOutcome(outcome: ToolCallOutcome): string {
  return JSON.stringify({ outcome, unavailable: isUnavailableResult(outcome) });
}

/** Reads `encodeOutcome`'s JSON, or the bare outcome a node of the previous version wrote during a rolling upgrade. */
function decodeOutcome(text: string): ToolCallOutcome {
  const parsed = JSON.parse(text) as { outcome?: ToolCallOutcome; unavailable?: boolean } & ToolCallOutcome;
  if (parsed.outcome === undefined) return parsed;
  return parsed.unavailable === true ? markUnavailable(parsed.outcome) : parsed.outcome;
}

/** A retry waiting here on a call held on another node. */
interface Forward {
  /** Where the call's progress goes, and the last value passed on. */
  progress: Progress;
  last: number;
  /** Set when the holder said the outcome is written: the next look is at once, even if the message came before the wait began. */
  done: boolean;
  /** Ends the wait before the next look, if one is under way. */
  wake?: (() => void) | undefined;
}

interface Held extends HeldCallKey {
  tenantId: string;
  serverId: string;
  resume: ResumeHeldCall;
}

/**
 * Answers for calls held open on another node (see asked-calls.ts), passed
 * through the shared database so that a retry may reach any node. The node
 * the retry reached writes the answers to `held_call_answers` and announces
 * them on the change bus, again each `pollMs` until claimed (the bus may drop
 * a message); the node holding the call claims the row, feeds the call,
 * touches the row while it runs, and writes back what the call gave next.
 * The waiting node deleting the row (its client went away) stops the call.
 */
export function createHeldCallRelay({
  db,
  changes,
  logger,
  timing = RELAY_TIMING,
}: {
  db: Db;
  changes: ChangeBus;
  logger: Logger;
  timing?: RelayTiming;
}): HeldCallRelay {
  const held = new Map<string, Held>();
  /** Retries waiting here on calls held elsewhere, by their answers' row. */
  const forwards = new Map<string, Forward>();

  async function serve(tenantId: string, id: string, digest: string): Promise<void> {
    const entry = held.get(digest);
    if (!entry || entry.tenantId !== tenantId) return;
    const claimed = await withTenant(db, tenantId, (trx) =>
      trx
        .updateTable('held_call_answers')
        .set({ claimed_at: sql<Date>`now()`, heartbeat_at: sql<Date>`now()` })
        .where('id', '=', id)
        .where('claimed_at', 'is', null)
        .where('server_id', '=', entry.serverId)
        .where('state_digest', '=', digest)
        .where('tool', '=', entry.tool)
        .where(sql<boolean>`caller is not distinct from ${entry.caller ?? null}`)
        .returning('responses')
        .executeTakeFirst(),
    );
    if (!claimed) return;
    held.delete(digest);
    const controller = new AbortController();
    /** Shows the waiting node this one lives; the row gone means nobody waits for the call any more. */
    const touch = async () => {
      const alive = await withTenant(db, tenantId, (trx) =>
        trx.updateTable('held_call_answers').set({ heartbeat_at: sql<Date>`now()` }).where('id', '=', id).returning('id').executeTakeFirst(),
      );
      if (!alive) controller.abort(new Error('the client stopped waiting for the call'));
    };
    const heartbeat = setInterval(() => {
      touch().catch((error: unknown) => logger.warn({ err: error }, 'touching a held call’s answers failed'));
    }, timing.heartbeatMs).unref();
    let outcome: ToolCallOutcome;
    try {
      const progress: Progress = (value, total, message) => {
        const shown = message?.slice(0, MAX_PROGRESS_MESSAGE);
        changes.publish(PROGRESS_TOPIC, { tenantId, id, progress: value, ...(total !== undefined && { total }), ...(shown !== undefined && { message: shown }) });
        return Promise.resolve();
      };
      outcome = await entry.resume(JSON.parse(claimed.responses) as Record<string, unknown>, controller.signal, progress);
    } catch (error) {
      logger.error({ err: error }, 'a held call failed to resume');
      outcome = errorResult('The call failed on the gateway node holding it. Call the tool again.');
    } finally {
      clearInterval(heartbeat);
    }
    await withTenant(db, tenantId, (trx) =>
      trx.updateTable('held_call_answers').set({ outcome: encodeOutcome(outcome) }).where('id', '=', id).execute(),
    );
    changes.publish(DONE_TOPIC, { tenantId, id });
  }

  changes.subscribe((event: ChangeEvent) => {
    if (event.kind !== 'message') return;
    const { topic, payload } = event;
    const { id, digest } = payload;
    if (typeof id !== 'string') return;
    const forward = forwards.get(id);
    if (forward && topic === DONE_TOPIC) {
      forward.done = true;
      forward.wake?.();
    }
    if (forward && topic === PROGRESS_TOPIC) passProgress(forward, payload);
    if (topic !== ANSWERED_TOPIC || typeof digest !== 'string') return;
    serve(payload.tenantId, id, digest).catch((error: unknown) => logger.warn({ err: error }, 'serving answers for a held call failed'));
  });

  /** Passes a held call's progress to the client waiting here; notifications overtaken by a later one are dropped. */
  function passProgress(to: Forward, payload: Record<string, unknown>): void {
    const { progress, total, message } = payload;
    if (typeof progress !== 'number' || progress <= to.last) return;
    to.last = progress;
    to.progress(progress, typeof total === 'number' ? total : undefined, typeof message === 'string' ? message : undefined).catch(() => undefined);
  }

  /** Resolves after `ms`, or sooner when the holder says the answers' row has its outcome (maybe already). */
  function nextLook(forward: Forward, ms: number, signal: AbortSignal): Promise<void> {
    if (forward.done) {
      forward.done = false;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        forward.wake = undefined;
        signal.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => {
        done();
        reject(signal.reason as Error);
      };
      const timer = setTimeout(done, ms);
      forward.wake = done;
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  return {
    link: (tenantId, serverId) => ({
      hold(state, { tool, caller }, resume) {
        const digest = digestOf(state);
        held.set(digest, { tenantId, serverId, tool, caller, resume });
        return () => void held.delete(digest);
      },

      async forward(state, { tool, caller }, responses, { signal, progress }) {
        const digest = digestOf(state);
        const inTenant = <T>(fn: (trx: Tx) => Promise<T>) => withTenant(db, tenantId, fn);
        const { id } = await inTenant(async (trx) => {
          // Rows a node left behind when it stopped mid-wait: no call is held that long.
          await trx.deleteFrom('held_call_answers').where('created_at', '<', sql<Date>`now() - ${`${STALE_AFTER_MS} milliseconds`}::interval`).execute();
          return trx
            .insertInto('held_call_answers')
            .values({ tenant_id: tenantId, server_id: serverId, state_digest: digest, tool, caller: caller ?? null, responses: JSON.stringify(responses) })
            .returning('id')
            .executeTakeFirstOrThrow();
        });
        const started = Date.now();
        const forward: Forward = { progress, last: -Infinity, done: false };
        forwards.set(id, forward);
        try {
          for (;;) {
            signal.throwIfAborted();
            const row = await inTenant((trx) =>
              trx
                .selectFrom('held_call_answers')
                .select(['outcome', 'claimed_at', sql<string | null>`extract(epoch from now() - heartbeat_at) * 1000`.as('silent_ms')])
                .where('id', '=', id)
                .executeTakeFirst(),
            );
            if (!row) return undefined;
            if (row.outcome !== null) return decodeOutcome(row.outcome);
            if (row.claimed_at === null) {
              if (Date.now() - started >= timing.claimWaitMs) {
                // Given up unless claimed meanwhile: then the holder serves it, and the wait goes on.
                const unclaimed = await inTenant((trx) =>
                  trx.deleteFrom('held_call_answers').where('id', '=', id).where('claimed_at', 'is', null).returning('id').executeTakeFirst(),
                );
                if (unclaimed) return undefined;
              } else {
                changes.publish(ANSWERED_TOPIC, { tenantId, id, digest });
              }
            } else if (Number(row.silent_ms) > timing.holderLostMs) {
              return errorResult(HOLDER_LOST_MESSAGE);
            }
            // Once claimed, the holder's message wakes this at once; looking is only for a message lost, or a holder gone.
            await nextLook(forward, row.claimed_at === null ? timing.pollMs : timing.heartbeatMs, signal);
          }
        } finally {
          forwards.delete(id);
          // Gone, the row tells a holder still serving the call that nobody waits for it.
          await inTenant((trx) => trx.deleteFrom('held_call_answers').where('id', '=', id).execute()).catch((error: unknown) =>
            logger.warn({ err: error }, 'removing a held call’s answers failed'),
          );
        }
      },
    }),
  };
}
