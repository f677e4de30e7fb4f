import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from '../tool-source.ts';
import { formatSize } from './file-io.ts';
import { errorCode, isWithin } from './sandbox.ts';

/**
 * What each entry counts for besides its content: about one disk block, so
 * that empty files and directories, which cost the disk an inode each, are
 * not free.
 */
export const ENTRY_BYTES = 4096;

/**
 * How long a measured use is trusted before the area is walked again. Writes
 * through this process are counted as they happen; this bounds how long
 * writes through other replicas (or by hand) go unseen.
 */
export const REMEASURE_MS = 60_000;

/** Why a change adding `growth` bytes to an area using `used` of `limit` is refused; undefined when it fits. */
export function quotaRefusal(used: number, growth: number, limit: number): string | undefined {
  if (growth <= 0 || used + growth <= limit) return undefined;
  return (
    `The tenant's file area is full: it holds ${formatSize(used)} of its ${formatSize(limit)} quota, and this ` +
    `change needs ${formatSize(growth)} more. Nothing was changed. Make room by writing shorter content over ` +
    'large files you no longer need, or ask the operator to raise the quota (BOTGATE_FS_QUOTA).'
  );
}

/** `fn`'s answer, or `missing` when the entry it looks at is not there (or vanished meanwhile). */
async function unlessMissing<T, M>(fn: () => Promise<T>, missing: M): Promise<T | M> {
  try {
    return await fn();
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return missing;
    throw error;
  }
}

/**
 * What the entry at `target` counts for, everything below it included:
 * `ENTRY_BYTES` per entry plus each file's size. Symbolic links are counted,
 * never followed; an entry that vanishes meanwhile counts nothing.
 */
export async function measureEntry(target: string): Promise<number> {
  let total = 0;
  const pending = [target];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const stats = await unlessMissing(() => lstat(next), undefined);
    if (!stats) continue;
    total += ENTRY_BYTES + (stats.isFile() ? stats.size : 0);
    if (!stats.isDirectory()) continue;
    const names = await unlessMissing(() => readdir(next), []);
    for (const name of names) pending.push(path.join(next, name));
  }
  return total;
}

/** `ENTRY_BYTES` for `target` and each of its missing parent directories: what creating it adds besides content. */
export async function missingEntriesBytes(target: string): Promise<number> {
  let bytes = 0;
  for (let at = target; ; at = path.dirname(at)) {
    const exists = (await unlessMissing(() => lstat(at), undefined)) !== undefined;
    if (exists || path.dirname(at) === at) return bytes;
    bytes += ENTRY_BYTES;
  }
}

/** What replacing (or creating) the file at `target` with `bytes` of content adds to its area; negative when it shrinks. */
export async function fileGrowth(target: string, bytes: number): Promise<number> {
  const stats = await unlessMissing(() => lstat(target), undefined);
  return stats ? bytes - (stats.isFile() ? stats.size : 0) : bytes + (await missingEntriesBytes(target));
}

/**
 * A tenant's file area under its quota. Changes to the area run one at a
 * time, each only if the area has room for what it adds, and nothing is
 * changed by one that does not fit.
 */
export interface AreaQuota {
  /** Whether a real path lies in the area, where the quota applies. */
  covers(realPath: string): boolean;
  /**
   * Runs `run` if the area has room for the bytes `growth` says it adds
   * (negative: frees); else throws a `ToolError` naming the quota. `growth`
   * is taken after earlier changes to the area have finished.
   */
  change<T>(growth: () => Promise<number>, run: () => Promise<T>): Promise<T>;
  /** What the area holds as the quota counts it, after the changes under way, and its limit. */
  usage(): Promise<{ usedBytes: number; limitBytes: number }>;
}

/** An area's use as the quota counts it, and when the area was last walked to measure it. */
export interface RecordedUse {
  usedBytes: number;
  measuredAt: number;
}

/**
 * Where an area's use is kept between changes, and what makes the changes
 * take turns: this process's memory, or the database that every gateway
 * node sharing the files sees (area-use.repository.ts).
 */
export interface AreaUseLedger {
  /**
   * Runs `fn` while no other change to the area runs, with the use recorded
   * last; keeps what `fn` gives as `record` (`stale`: walk the area again
   * next time) and returns its `value`.
   */
  exclusive<T>(fn: (recorded: RecordedUse | undefined) => Promise<{ value: T; record: RecordedUse | 'stale' }>): Promise<T>;
}

/** Runs `fn`s one after another, in the order they came. */
export function createTurns(): <T>(fn: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const task = last.then(fn);
    last = task.catch(() => undefined);
    return task;
  };
}

/** A ledger in this process's memory: exact where every change to the area passes through this process. */
export function createMemoryLedger(): AreaUseLedger {
  const inTurn = createTurns();
  let recorded: RecordedUse | undefined;
  return {
    exclusive: (fn) =>
      inTurn(async () => {
        const { value, record } = await fn(recorded);
        recorded = record === 'stale' ? undefined : record;
        return value;
      }),
  };
}

/** How a change ended, kept apart from the ledger's own failures. */
type Ended<T> = { ok: true; result: T } | { ok: false; error: unknown };

function createAreaQuota(area: string, limitBytes: number, now: () => number, ledger: AreaUseLedger): AreaQuota {
  /** The use recorded, unless too old to trust: then the area is walked again. */
  async function currentUse(recorded: RecordedUse | undefined): Promise<RecordedUse> {
    if (recorded && now() - recorded.measuredAt < REMEASURE_MS) return recorded;
    // The area itself is the tenant's container: only what is in it counts.
    return { usedBytes: Math.max(0, (await measureEntry(area)) - ENTRY_BYTES), measuredAt: now() };
  }

  return {
    covers: (realPath) => isWithin(realPath, area),
    async change<T>(growth: () => Promise<number>, run: () => Promise<T>): Promise<T> {
      const ended = await ledger.exclusive(async (recorded): Promise<{ value: Ended<T>; record: RecordedUse | 'stale' }> => {
        const before = await currentUse(recorded);
        const adds = await growth();
        const refusal = quotaRefusal(before.usedBytes, adds, limitBytes);
        if (refusal) return { value: { ok: false, error: new ToolError(refusal) }, record: before };
        try {
          const result = await run();
          return { value: { ok: true, result }, record: { ...before, usedBytes: Math.max(0, before.usedBytes + adds) } };
        } catch (error) {
          // What a failed change left behind is not known: measure again next time.
          return { value: { ok: false, error }, record: 'stale' };
        }
      });
      if (!ended.ok) throw ended.error;
      return ended.result;
    },
    usage: () =>
      ledger.exclusive(async (recorded) => {
        const use = await currentUse(recorded);
        return { value: { usedBytes: use.usedBytes, limitBytes }, record: use };
      }),
  };
}

/** Runs `run` under `quota` when `target` lies in its area; elsewhere (an operator's directory), or without a quota, just runs it. */
export function underQuota<T>(quota: AreaQuota | undefined, target: string, growth: () => Promise<number>, run: () => Promise<T>): Promise<T> {
  return quota?.covers(target) ? quota.change(growth, run) : run();
}

/** One quota per area: every filesystem server of a tenant shares its area's. */
export interface AreaQuotas {
  /**
   * The quota of the tenant `tenantId`'s area, by the area's real path. Kept
   * per tenant too: an area's path is named by slug, and a later tenant with
   * the same slug starts with a quota of its own, not the deleted tenant's use.
   */
  forArea(area: string, tenantId: string): AreaQuota;
  /** Drops the quotas of a deleted tenant. */
  forget(tenantId: string): void;
}

/**
 * Quotas of `limitBytes` per area, shared by every source built with them;
 * each area's use kept in the ledger `ledgerFor` gives for its tenant (by
 * default this process's memory).
 */
export function createAreaQuotas({
  limitBytes,
  now = Date.now,
  ledgerFor = () => createMemoryLedger(),
}: {
  limitBytes: number;
  now?: () => number;
  ledgerFor?: (tenantId: string) => AreaUseLedger;
}): AreaQuotas {
  const byTenant = new Map<string, Map<string, AreaQuota>>();
  return {
    forArea(area, tenantId) {
      let byArea = byTenant.get(tenantId);
      if (!byArea) {
        byArea = new Map();
        byTenant.set(tenantId, byArea);
      }
      let quota = byArea.get(area);
      if (!quota) {
        quota = createAreaQuota(area, limitBytes, now, ledgerFor(tenantId));
        byArea.set(area, quota);
      }
      return quota;
    },
    forget(tenantId) {
      byTenant.delete(tenantId);
    },
  };
}
