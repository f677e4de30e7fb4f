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

/** One quota per area: every filesystem server of a tenant shares its area's. */
export interface AreaQuotas {
  forArea(area: string): AreaQuota;
}

function createAreaQuota(area: string, limitBytes: number, now: () => number): AreaQuota {
  let used: number | undefined;
  let measuredAt = 0;
  let last: Promise<unknown> = Promise.resolve();

  async function currentUse(): Promise<number> {
    if (used === undefined || now() - measuredAt >= REMEASURE_MS) {
      // The area itself is the tenant's container: only what is in it counts.
      used = Math.max(0, (await measureEntry(area)) - ENTRY_BYTES);
      measuredAt = now();
    }
    return used;
  }

  return {
    covers: (realPath) => isWithin(realPath, area),
    change(growth, run) {
      const task = last.then(async () => {
        const before = await currentUse();
        const adds = await growth();
        const refusal = quotaRefusal(before, adds, limitBytes);
        if (refusal) throw new ToolError(refusal);
        try {
          const result = await run();
          used = Math.max(0, before + adds);
          return result;
        } catch (error) {
          // What a failed change left behind is not known: measure again next time.
          used = undefined;
          throw error;
        }
      });
      last = task.catch(() => undefined);
      return task;
    },
    usage() {
      const task = last.then(async () => ({ usedBytes: await currentUse(), limitBytes }));
      last = task.catch(() => undefined);
      return task;
    },
  };
}

/** Runs `run` under `quota` when `target` lies in its area; elsewhere (an operator's directory), or without a quota, just runs it. */
export function underQuota<T>(quota: AreaQuota | undefined, target: string, growth: () => Promise<number>, run: () => Promise<T>): Promise<T> {
  return quota?.covers(target) ? quota.change(growth, run) : run();
}

/** Quotas of `limitBytes` per area, shared by every source built with them. */
export function createAreaQuotas({ limitBytes, now = Date.now }: { limitBytes: number; now?: () => number }): AreaQuotas {
  const byArea = new Map<string, AreaQuota>();
  return {
    forArea(area) {
      let quota = byArea.get(area);
      if (!quota) {
        quota = createAreaQuota(area, limitBytes, now);
        byArea.set(area, quota);
      }
      return quota;
    },
  };
}
