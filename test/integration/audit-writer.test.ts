import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.ts';
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
});
