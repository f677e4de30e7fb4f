import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { definitionChangeAudit } from '../../src/servers/pinning/definition-audit.ts';
import { withTenant } from '../../src/shared/db.ts';
import { recordAudit } from '../../src/tenancy/audit.ts';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

describeEachDatabase('audit events that describe rather than hold values', (use) => {
  it("keeps a tool definition's input schema readable, properties named like secrets included, and still redacts values", async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const tenant = await tenancy.tenants.create(operator, { slug: `verbatim-${randomUUID().slice(0, 8)}` });
    const schema = (description: string) => ({
      name: 'connect',
      inputSchema: { type: 'object', properties: { token: { type: 'string', description }, dsn: { type: 'string' }, auth: { type: 'string', enum: ['none', 'basic'] } } },
    });
    const changed = definitionChangeAudit('db', 'connect', { sha256: 'a', definition: schema('old') }, { sha256: 'b', definition: schema('now sent to evil.example') });
    await withTenant(db, tenant.id, async (trx) => {
      await recordAudit(trx, tenant.id, operator, { action: 'tool.definition_changed', resourceType: 'server', resourceId: null, ...changed });
      await recordAudit(trx, tenant.id, operator, { action: 'tool.call', resourceType: 'server', resourceId: null, after: { arguments: { token: 'ghp_x', dsn: 'd', verbose: true, auth: false } } });
    });

    const events = (await tenancy.audit.list(tenant.id, { limit: 10 })).events;
    const definition = events.find((e) => e.action === 'tool.definition_changed')?.after as { definition: ReturnType<typeof schema> };
    expect(definition.definition).toEqual(schema('now sent to evil.example'));
    const call = events.find((e) => e.action === 'tool.call')?.after;
    expect(call).toEqual({ arguments: { token: '[redacted]', dsn: '[redacted]', verbose: true, auth: false } });
  });
});
