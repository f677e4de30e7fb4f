import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { ServerPolicy } from '../../src/servers/policy.ts';
import { createServerService, type ServerService } from '../../src/servers/server.service.ts';
import type { Db } from '../../src/shared/db.ts';
import { createTenancyModule, type RequestContext, type Tenant, type TenancyModule } from '../../src/tenancy/index.ts';

/** The operator on the command line, as the CLI records it. */
export const OPERATOR: RequestContext = { actor: { type: 'operator', id: null }, ip: null, userAgent: 'botgate-test', requestId: null };

export interface ServerServiceFixture {
  db: Db;
  servers: ServerService;
  tenancy: TenancyModule;
  policy: ServerPolicy;
  /** A fresh tenant with a unique slug. */
  newTenant(prefix: string): Promise<Tenant>;
  close(): Promise<void>;
}

/** A server service as `compose.ts` builds it: a random key, an empty allow-list, one allowed stdio command. */
export async function openServerService(db: Db, limits: Partial<Pick<ServerPolicy, 'maxServersPerTenant' | 'fsRoots'>> = {}): Promise<ServerServiceFixture> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-servers-'));
  const policy: ServerPolicy = {
    dataDir,
    fsRoots: [],
    allowPrivateNetworks: [],
    stdioCommands: { everything: { command: 'npx', args: ['@modelcontextprotocol/server-everything'] } },
    ...limits,
  };
  const tenancy = createTenancyModule({ db });
  return {
    db,
    servers: createServerService({ db, secretKey: randomBytes(32), policy }),
    tenancy,
    policy,
    newTenant: (prefix) => tenancy.tenants.create(OPERATOR, { slug: `${prefix}-${randomUUID().slice(0, 8)}` }),
    close: () => fs.rm(dataDir, { recursive: true, force: true }),
  };
}

/** The stored row of a server, read as the owning role: what someone with the database dump would see. */
export async function rawServerRow(db: Db, tenantId: string, slug: string) {
  const result = await sql<{ id: string; config: unknown; secrets: string | null; secret_names: string[] }>`
    select id, config, secrets, secret_names from servers where tenant_id = ${tenantId} and slug = ${slug}`.execute(db);
  return result.rows[0];
}

/** Every audit event of the tenant with its stored before/after as raw JSON text. */
export async function rawAuditEvents(db: Db, tenantId: string) {
  const result = await sql<{ action: string; resource_id: string | null; json: string }>`
    select action, resource_id, coalesce(before::text, '') || ' ' || coalesce(after::text, '') as json
      from audit_events where tenant_id = ${tenantId} order by seq`.execute(db);
  return result.rows;
}

/** Everything about a tenant's servers that a refused change must leave as it was. */
export async function serverState(fixture: ServerServiceFixture, tenant: Tenant) {
  const servers = await fixture.servers.list(tenant);
  const runtime = await fixture.servers.listRuntime(tenant);
  const rows = await sql<{ slug: string; secrets: string | null; updated_at: Date }>`
    select slug, secrets, updated_at from servers where tenant_id = ${tenant.id} order by slug`.execute(fixture.db);
  return { servers, runtime, rows: rows.rows, audit: (await rawAuditEvents(fixture.db, tenant.id)).length };
}
