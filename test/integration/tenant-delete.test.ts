import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { Client } from 'pg';
import { expect, it } from 'vitest';
import type { Db, Tx } from '../../src/shared/db.ts';
import { withTenant } from '../../src/shared/db.ts';
import { createTenancyModule, type Tenant } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';
import { pollUntil } from '../support/gateway-process.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;
const owner = (userId: string) =>
  ({ actor: { type: 'user', id: userId }, ip: '203.0.113.9', userAgent: 'test-agent', requestId: 'req-tenant-delete' }) as const;

/** Every table holding tenant data, by its tenant column. */
const TENANT_TABLES = [
  'memberships',
  'api_keys',
  'audit_events',
  'servers',
  'tool_pins',
  'usage_records',
  'bots',
  'conversations',
  'conversation_messages',
  'invitations',
  'oauth_consents',
  'held_call_answers',
  'file_area_use',
] as const;

/** Rows of `tenantId` in each tenant table, read as the owning role (past row-level security). */
async function rowsOf(db: Db, tenantId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['tenants', ...TENANT_TABLES]) {
    const column = table === 'tenants' ? 'id' : 'tenant_id';
    const result = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)} where ${sql.ref(column)} = ${tenantId}`.execute(db);
    counts[table] = Number(result.rows[0]?.n ?? 0);
  }
  return counts;
}

/** A tenant with at least one row in every tenant table; seeded as the owning role for brevity. */
async function seedFullTenant(db: Db, slug: string): Promise<{ tenant: Tenant; ownerId: string; grantId: string }> {
  const tenancy = createTenancyModule({ db });
  const tenant = await tenancy.tenants.create(operator, { slug });
  const added = await tenancy.members.add(tenant.id, operator, { email: `owner@${slug}.example`, role: 'owner' });
  const ownerId = added.member.userId;
  await tenancy.apiKeys.create(tenant.id, operator, { name: 'k', scopes: ['admin'] });
  const server = await db
    .insertInto('servers')
    .values({ tenant_id: tenant.id, slug: 'files', kind: 'filesystem', config: JSON.stringify({}), secrets: null, secret_names: [] })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('tool_pins')
    .values({ tenant_id: tenant.id, server_id: server.id, tool_name: 'read_file', digest: 'd', definition: JSON.stringify({}), pending_digest: null, pending_definition: null })
    .execute();
  await db
    .insertInto('held_call_answers')
    .values({ tenant_id: tenant.id, server_id: server.id, state_digest: 'd', tool: 'confirm', responses: JSON.stringify({}) })
    .execute();
  await db.insertInto('file_area_use').values({ tenant_id: tenant.id, used_bytes: 4096, measured_at: new Date() }).execute();
  const bot = await db
    .insertInto('bots')
    .values({ tenant_id: tenant.id, slug: 'helper', name: 'Helper', description: '', model: 'claude-x', max_tokens: 1024, anthropic_api_key: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  const conversation = await db
    .insertInto('conversations')
    .values({ tenant_id: tenant.id, bot_id: bot.id, principal_type: 'user', principal_id: ownerId, title: null, summary: null, summarized_through_seq: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('conversation_messages')
    .values({ tenant_id: tenant.id, conversation_id: conversation.id, seq: 1, role: 'user', content: JSON.stringify([]), run_id: null })
    .execute();
  await db
    .insertInto('usage_records')
    .values({
      tenant_id: tenant.id,
      bot_id: bot.id,
      conversation_id: conversation.id,
      run_id: randomUUID(),
      parent_run_id: null,
      principal_type: 'user',
      principal_id: ownerId,
      model: 'claude-x',
      input_tokens: 1,
      output_tokens: 1,
      cache_write_tokens: 0,
      cache_read_tokens: 0,
      cost_usd: null,
      priced: false,
      stop_reason: null,
      error: null,
    })
    .execute();
  await db
    .insertInto('invitations')
    .values({ tenant_id: tenant.id, email: `guest@${slug}.example`, role: 'member', digest: randomUUID(), expires_at: new Date(Date.now() + 3_600_000) })
    .execute();
  // A client the owner approved for the tenant, as oidc-provider stores it: the grant and what was issued under it.
  const grantId = randomUUID();
  await tenancy.oauth.consents.record(operator, {
    userId: ownerId,
    tenantId: tenant.id,
    clientId: 'client',
    clientName: null,
    resource: `https://gw.example/t/${slug}/mcp`,
    scopes: ['mcp'],
    grantId,
  });
  const expiresIn = 3600;
  await tenancy.oauth.models.upsert('Grant', grantId, { accountId: ownerId, clientId: 'client' }, { grantId: null, userCode: null, uid: null, expiresIn });
  for (const kind of ['AuthorizationCode', 'RefreshToken', 'AccessToken']) {
    await tenancy.oauth.models.upsert(kind, `${kind}-${grantId}`, { grantId, clientId: 'client' }, { grantId, userCode: null, uid: null, expiresIn });
  }
  return { tenant, ownerId, grantId };
}

/** The stored OAuth models (grant, code, tokens) of a grant, read as the owning role. */
async function modelsOf(db: Db, grantId: string): Promise<string[]> {
  const rows = await sql<{ kind: string }>`select kind from oauth_models where id = ${grantId} or grant_id = ${grantId} order by kind`.execute(db);
  return rows.rows.map((row) => row.kind);
}

describeEachDatabase('tenant deletion', (use) => {
  it('has every tenant table cascade from tenants, so deleting a tenant leaves none of its rows', async () => {
    const { db } = use();
    const withTenantColumn = await sql<{ table_name: string }>`
      select table_name from information_schema.columns
      where table_schema = current_schema() and column_name = 'tenant_id'`.execute(db);
    const cascading = await sql<{ table_name: string; action: string }>`
      select conrelid::regclass::text as table_name, confdeltype::text as action
      from pg_constraint where contype = 'f' and confrelid = 'tenants'::regclass`.execute(db);

    const tenantTables = withTenantColumn.rows.map((r) => r.table_name).filter((t) => t !== 'tenant_deletions');
    expect(new Set(tenantTables)).toEqual(new Set(TENANT_TABLES));
    expect(new Set(cascading.rows.map((r) => r.table_name))).toEqual(new Set(TENANT_TABLES));
    expect(cascading.rows.every((r) => r.action === 'c')).toBe(true);
  });

  it('deletes every row of the tenant, records the deletion, and leaves another tenant alone', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await seedFullTenant(db, `del-a-${randomUUID().slice(0, 8)}`);
    const b = await seedFullTenant(db, `del-b-${randomUUID().slice(0, 8)}`);
    const beforeA = await rowsOf(db, a.tenant.id);
    const beforeB = await rowsOf(db, b.tenant.id);
    expect(Object.values(beforeA).every((n) => n > 0)).toBe(true);
    const usersBefore = await countRows(db, 'users');

    const deleted = await tenancy.tenants.remove(a.tenant, owner(a.ownerId), a.tenant.slug);

    expect(deleted).toMatchObject({ id: a.tenant.id, slug: a.tenant.slug });
    expect(Object.values(await rowsOf(db, a.tenant.id)).every((n) => n === 0)).toBe(true);
    expect(await rowsOf(db, b.tenant.id)).toEqual(beforeB);
    // People are not tenant data: the owner's account outlives the tenant.
    expect(await countRows(db, 'users')).toBe(usersBefore);
    // Nothing of the tenant's OAuth authorization survives: its grants went, with every code and token issued under them.
    expect(await modelsOf(db, a.grantId)).toEqual([]);
    const refused = createTenancyModule({ db }).oauth;
    expect(await refused.models.findWithActiveGrant('AccessToken', `AccessToken-${a.grantId}`)).toBeUndefined();
    expect(await refused.models.find('RefreshToken', `RefreshToken-${a.grantId}`)).toBeUndefined();
    expect(await modelsOf(db, b.grantId)).toEqual(['AccessToken', 'AuthorizationCode', 'Grant', 'RefreshToken']);
    const records = await db.selectFrom('tenant_deletions').selectAll().where('tenant_id', '=', a.tenant.id).execute();
    expect(records).toEqual([
      expect.objectContaining({
        tenant_id: a.tenant.id,
        slug: a.tenant.slug,
        name: a.tenant.name,
        deleted_by_type: 'user',
        deleted_by_id: a.ownerId,
        ip: '203.0.113.9',
        user_agent: 'test-agent',
        request_id: 'req-tenant-delete',
        deleted_at: expect.any(Date),
      }),
    ]);
  });

  it('refuses a confirmation other than the slug and changes nothing', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await seedFullTenant(db, `keep-${randomUUID().slice(0, 8)}`);
    const before = await rowsOf(db, a.tenant.id);
    const deletionsBefore = await countRows(db, 'tenant_deletions');

    for (const confirm of [undefined, '', a.tenant.name.toUpperCase(), `${a.tenant.slug} `]) {
      await expect(tenancy.tenants.remove(a.tenant, owner(a.ownerId), confirm)).rejects.toMatchObject({
        code: 'validation_failed',
        message: expect.stringMatching(/^confirm: /),
      });
    }

    expect(await rowsOf(db, a.tenant.id)).toEqual(before);
    expect(await modelsOf(db, a.grantId)).toEqual(['AccessToken', 'AuthorizationCode', 'Grant', 'RefreshToken']);
    expect(await countRows(db, 'tenant_deletions')).toBe(deletionsBefore);
  });

  it('destroys the grant of an approval given for the tenant while it is being deleted', async (context) => {
    const { db, url } = use();
    context.skip(url === undefined, 'PGlite admits one connection; concurrency needs PostgreSQL');
    const tenancy = createTenancyModule({ db });
    const a = await seedFullTenant(db, `race-${randomUUID().slice(0, 8)}`);
    const late = randomUUID();
    // An approval being recorded, as the OAuth role does, not yet committed when the deletion starts.
    const approving = new Client({ connectionString: url });
    await approving.connect();
    try {
      await approving.query('begin');
      await approving.query(`select set_config('role', 'botgate_oauth', true)`);
      await approving.query(`insert into oauth_models (kind, id, payload, expires_at) values ('Grant', $1, '{}', now() + interval '1 hour')`, [late]);
      await approving.query(`insert into oauth_models (kind, id, payload, grant_id, expires_at) values ('RefreshToken', $2, '{}', $1, now() + interval '1 hour')`, [late, `rt-${late}`]);
      await approving.query(`insert into oauth_consents (user_id, tenant_id, client_id, resource, scopes, grant_id) values ($1, $2, 'late-client', $3, '{mcp}', $4)`, [
        a.ownerId,
        a.tenant.id,
        `https://gw.example/t/${a.tenant.slug}/mcp/servers/files`,
        late,
      ]);

      const deleting = tenancy.tenants.remove(a.tenant, owner(a.ownerId), a.tenant.slug);
      await pollUntil('the deletion to wait for the approval', async () => {
        const waiting = await sql<{ n: string }>`select count(*)::text as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`.execute(db);
        return waiting.rows[0]?.n === '1' ? true : undefined;
      });
      await approving.query('commit');
      await deleting;
    } finally {
      await approving.end();
    }

    expect(await modelsOf(db, late)).toEqual([]);
    expect(await modelsOf(db, a.grantId)).toEqual([]);
  });

  it('answers 404 for a tenant already deleted, recording nothing more', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const { tenant, ownerId } = await seedFullTenant(db, `twice-${randomUUID().slice(0, 8)}`);
    await tenancy.tenants.remove(tenant, owner(ownerId), tenant.slug);
    const deletionsBefore = await countRows(db, 'tenant_deletions');

    await expect(tenancy.tenants.remove(tenant, owner(ownerId), tenant.slug)).rejects.toMatchObject({ code: 'not_found' });
    expect(await countRows(db, 'tenant_deletions')).toBe(deletionsBefore);
  });

  it('lets the application role add deletion records but not read, change or remove them', async () => {
    const { db } = use();
    const tenancy = createTenancyModule({ db });
    const a = await tenancy.tenants.create(operator, { slug: `ro-${randomUUID().slice(0, 8)}` });
    const before = await countRows(db, 'tenant_deletions');

    const attempts: Array<(trx: Tx) => Promise<unknown>> = [
      (trx: Tx) => trx.selectFrom('tenant_deletions').selectAll().execute(),
      (trx: Tx) => trx.updateTable('tenant_deletions').set({ slug: 'x' }).execute(),
      (trx: Tx) => trx.deleteFrom('tenant_deletions').execute(),
    ];
    for (const attempt of attempts) {
      await expect(withTenant(db, a.id, attempt)).rejects.toThrow(/permission denied/);
    }
    expect(await countRows(db, 'tenant_deletions')).toBe(before);
  });
});
