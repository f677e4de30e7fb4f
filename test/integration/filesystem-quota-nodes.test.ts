import { mkdir, mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createDatabaseLedger } from '../../src/servers/area-use.repository.ts';
import { ENTRY_BYTES, REMEASURE_MS, createAreaQuotas } from '../../src/servers/filesystem/area-quota.ts';
import { createFilesystemSource } from '../../src/servers/filesystem/index.ts';
import type { ToolSource } from '../../src/servers/tool-source.ts';
import { withTenant, type Db } from '../../src/shared/db.ts';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { countRows, describeEachDatabase } from '../support/databases.ts';

const context = { signal: new AbortController().signal, progress: async () => {} };
const KIB = 1024;
/** Room for the area's `files` directory and 60 KiB more: two files of 20 KiB (and their entries) fit, a third does not. */
const LIMIT = ENTRY_BYTES + 60 * KIB;
const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

let base: string;
let area: string;
let clock: number;

const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const write = (on: ToolSource, name: string, kib: number) => on.callTool('write_file', { path: name, content: 'x'.repeat(kib * KIB) }, context);

/** A gateway node's filesystem server on the shared area: its own quotas, the area's use kept in `db` when given. */
function nodeServer(tenantId: string, db?: Db): Promise<ToolSource> {
  const quotas = createAreaQuotas({ limitBytes: LIMIT, now: () => clock, ...(db && { ledgerFor: (id: string) => createDatabaseLedger(db, id) }) });
  return createFilesystemSource({ roots: [path.join(area, 'files')], readOnly: false, quota: quotas.forArea(area, tenantId) });
}

beforeEach(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'botgate-fs-nodes-')));
  area = path.join(base, 'area');
  await mkdir(area);
  clock = 0;
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describeEachDatabase('the quota of a file area shared by gateway nodes', (use) => {
  const newTenant = async () => (await createTenancyModule({ db: use().db }).tenants.create(operator, { slug: `fs-${Date.now()}-${Math.random().toString(36).slice(2, 8)}` })).id;

  it('counts at once what another node wrote, refusing what would pass the quota and writing nothing', async () => {
    const tenantId = await newTenant();
    const [first, second] = [await nodeServer(tenantId, use().db), await nodeServer(tenantId, use().db)];
    // Both nodes have measured the area, empty, well within the time a measurement is trusted.
    expect((await write(second, 'seen.txt', 1)).isError).toBeFalsy();
    clock += REMEASURE_MS / 2;

    expect((await write(first, 'a.txt', 20)).isError).toBeFalsy();
    expect((await write(first, 'b.txt', 20)).isError).toBeFalsy();
    const refused = await write(second, 'c.txt', 20);

    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/file area is full: it holds 57\.0 KiB of its 64\.0 KiB quota, and this change needs 24\.0 KiB more\. Nothing was changed/);
    expect((await readdir(path.join(area, 'files'))).sort()).toEqual(['a.txt', 'b.txt', 'seen.txt']);
  });

  it('lets only what fits through when the nodes write at once', async () => {
    const tenantId = await newTenant();
    const nodes = [await nodeServer(tenantId, use().db), await nodeServer(tenantId, use().db)];
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => write(nodes[i % 2]!, `f${i}.txt`, 20)));

    expect(results.filter((r) => !r.isError)).toHaveLength(2);
    expect(await readdir(path.join(area, 'files'))).toHaveLength(2);
  });

  it("keeps one row of use per tenant, which another tenant's transaction can neither see nor write, gone with the tenant", async () => {
    const tenancy = createTenancyModule({ db: use().db });
    const tenant = await tenancy.tenants.create(operator, { slug: `fs-gone-${Date.now()}` });
    const other = await newTenant();
    const before = await countRows(use().db, 'file_area_use');
    await write(await nodeServer(tenant.id, use().db), 'a.txt', 1);
    expect(await countRows(use().db, 'file_area_use')).toBe(before + 1);

    const seenByOther = await withTenant(use().db, other, (trx) => trx.selectFrom('file_area_use').select('tenant_id').execute());
    expect(seenByOther).toEqual([]);
    const forged = withTenant(use().db, other, (trx) =>
      trx.updateTable('file_area_use').set({ used_bytes: 0 }).where('tenant_id', '=', tenant.id).returning('tenant_id').execute(),
    );
    expect(await forged).toEqual([]);
    await expect(
      withTenant(use().db, other, (trx) => trx.insertInto('file_area_use').values({ tenant_id: tenant.id, used_bytes: 0, measured_at: new Date() }).execute()),
    ).rejects.toThrow(/row-level security/);

    await tenancy.tenants.remove(tenant, operator, tenant.slug);
    expect(await countRows(use().db, 'file_area_use')).toBe(before);
  });
});

it('without the database, each node counts only its own writes until it measures again (what the database ledger is for)', async () => {
  const tenantId = '00000000-0000-4000-8000-000000000001';
  const [first, second] = [await nodeServer(tenantId), await nodeServer(tenantId)];
  expect((await write(second, 'seen.txt', 1)).isError).toBeFalsy();

  expect((await write(first, 'a.txt', 20)).isError).toBeFalsy();
  expect((await write(first, 'b.txt', 20)).isError).toBeFalsy();
  expect((await write(second, 'c.txt', 20)).isError).toBeFalsy();
  expect(await readdir(path.join(area, 'files'))).toHaveLength(4);
});
