import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../src/shared/db.ts';
import { createAuditWriter } from '../../src/tenancy/index.ts';
import { captureLog } from '../support/captured-log.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

/** A database whose every transaction fails, as one that went away does. */
const unreachable = { transaction: () => ({ execute: () => Promise.reject(new Error('connection refused')) }) } as unknown as Db;

describe('audit writer at shutdown', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says how many events it could not write, and does not keep retrying after close', async () => {
    vi.useFakeTimers();
    const { logger, entries } = captureLog();
    const writer = createAuditWriter({ db: unreachable, logger, flushIntervalMs: 200 });
    writer.enqueue('tenant-1', operator, { action: 'tool.call', resourceType: 'server', resourceId: null });
    writer.enqueue('tenant-1', operator, { action: 'tool.call', resourceType: 'server', resourceId: null });
    await writer.close();

    expect(entries.find((e) => e['msg'] === 'audit events could not be written before shutdown; they are lost')).toMatchObject({ count: 2 });
    expect(vi.getTimerCount()).toBe(0);
    const failures = entries.filter((e) => e['msg'] === 'audit batch failed; will retry').length;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(entries.filter((e) => e['msg'] === 'audit batch failed; will retry').length).toBe(failures);
  });
});
