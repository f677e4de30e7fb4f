import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.ts';
import { captureLog } from '../support/captured-log.ts';
import { createAuditWriter, createTenancyModule } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const logger = createLogger({ level: 'silent' });

describeEachDatabase('audit writer', (use) => {
  it('writes queued events of several tenants in batches, each tenant’s in the order they were queued', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const [a, b] = await Promise.all(['a', 'b'].map((p) => tenancy.tenants.create(operator, { slug: `writer-${p}-${randomUUID().slice(0, 8)}` })));
    if (!a || !b) throw new Error('tenants not created');
    // A long interval: only flush() and the batch size decide when events are written.
    const writer = createAuditWriter({ db, logger, flushIntervalMs: 60_000, maxBatch: 7 });
    for (let i = 0; i < 20; i += 1) {
      const tenant = i % 3 === 0 ? b : a;
      writer.enqueue(tenant.id, { ...operator, requestId: `r${i}` }, { action: 'tool.call', resourceType: 'server', resourceId: null, after: { call: i } });
    }
    await writer.close();

    const calls = async (tenantId: string) =>
      (await tenancy.audit.list(tenantId, { action: 'tool.call', limit: 100 })).events.reverse().map((e) => (e.after as { call: number }).call);
    const expected = Array.from({ length: 20 }, (_, i) => i);
    expect(await calls(a.id)).toEqual(expected.filter((i) => i % 3 !== 0));
    expect(await calls(b.id)).toEqual(expected.filter((i) => i % 3 === 0));
  });

  it('drops the events of a tenant deleted before the flush and still writes the others', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const kept = await tenancy.tenants.create(operator, { slug: `writer-kept-${randomUUID().slice(0, 8)}` });
    const gone = await tenancy.tenants.create(operator, { slug: `writer-gone-${randomUUID().slice(0, 8)}` });
    const writer = createAuditWriter({ db, logger, flushIntervalMs: 60_000 });
    writer.enqueue(gone.id, operator, { action: 'tool.call', resourceType: 'server', resourceId: null, after: { call: 'gone' } });
    writer.enqueue(kept.id, operator, { action: 'tool.call', resourceType: 'server', resourceId: null, after: { call: 'kept' } });
    await db.deleteFrom('tenants').where('id', '=', gone.id).execute();
    await writer.close();

    const { events } = await tenancy.audit.list(kept.id, { action: 'tool.call', limit: 10 });
    expect(events.map((e) => e.after)).toEqual([{ call: 'kept' }]);
  });

  it('writes the other events of a batch the database refuses one of, and that one without its details', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const [a, b] = await Promise.all(['a', 'b'].map((p) => tenancy.tenants.create(operator, { slug: `writer-refused-${p}-${randomUUID().slice(0, 8)}` })));
    if (!a || !b) throw new Error('tenants not created');
    const { logger: captured, entries } = captureLog();
    const writer = createAuditWriter({ db, logger: captured, flushIntervalMs: 60_000 });
    const call = (n: string) => ({ action: 'tool.call', resourceType: 'server', resourceId: null, after: { call: n } });
    writer.enqueue(a.id, { ...operator, requestId: 'r1' }, call('first'));
    // A text column holding a NUL character: PostgreSQL refuses the row, and with it the statement.
    writer.enqueue(a.id, { ...operator, userAgent: 'bad\u0000agent', requestId: 'r2' }, call('refused'));
    writer.enqueue(b.id, operator, call('other tenant'));
    writer.enqueue(a.id, { ...operator, requestId: 'r3' }, call('last'));
    await writer.close();

    const { events } = await tenancy.audit.list(a.id, { action: 'tool.call', limit: 10 });
    expect(events.reverse().map((e) => ({ requestId: e.requestId, userAgent: e.userAgent, after: e.after }))).toEqual([
      { requestId: 'r1', userAgent: null, after: { call: 'first' } },
      { requestId: 'r2', userAgent: null, after: { details_refused: expect.stringContaining("the database refused this event's details") } },
      { requestId: 'r3', userAgent: null, after: { call: 'last' } },
    ]);
    expect((await tenancy.audit.list(b.id, { action: 'tool.call', limit: 10 })).events.map((e) => e.after)).toEqual([{ call: 'other tenant' }]);
    expect(entries.filter((e) => e['level'] === 50).map((e) => e['msg'])).toEqual(['audit event refused by the database; written without its details']);
  });
});

