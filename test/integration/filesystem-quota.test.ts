import { mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENTRY_BYTES, REMEASURE_MS, createAreaQuotas, type AreaQuotas } from '../../src/servers/filesystem/area-quota.ts';
import { createFilesystemSource } from '../../src/servers/filesystem/index.ts';
import type { ToolSource } from '../../src/servers/tool-source.ts';

const context = { signal: new AbortController().signal, progress: async () => {} };
const KIB = 1024;
const TENANT = '00000000-0000-4000-8000-000000000001';
/** Room for the area's `files` directory and 60 KiB more. */
const LIMIT = ENTRY_BYTES + 60 * KIB;

let base: string;
let area: string;
let shared: string;
let clock: number;
let quotas: AreaQuotas;
let source: ToolSource;

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

const call = (name: string, args: Record<string, unknown>, on: ToolSource = source) => on.callTool(name, args, context);
const exists = (p: string) => stat(p).then(() => true, () => false);

/** A filesystem server with roots in `area` (its `files` directory) and in the operator's `shared` directory. */
function serverIn(tenantArea: string, roots = [path.join(tenantArea, 'files'), shared]) {
  return createFilesystemSource({ roots, readOnly: false, quota: quotas.forArea(tenantArea, TENANT) });
}

beforeEach(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'botgate-fs-quota-')));
  area = path.join(base, 'area');
  shared = path.join(base, 'shared');
  await mkdir(area);
  await mkdir(shared);
  clock = 0;
  quotas = createAreaQuotas({ limitBytes: LIMIT, now: () => clock });
  source = await serverIn(area);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('the quota of a tenant area', () => {
  it('refuses a write that would pass it, naming the quota, and writes nothing', async () => {
    expect((await call('write_file', { path: 'a.txt', content: 'x'.repeat(40 * KIB) })).isError).toBeFalsy();

    const refused = await call('write_file', { path: 'new/dir/b.txt', content: 'y'.repeat(20 * KIB) });

    expect(refused.isError).toBe(true);
    // The area's `files` directory and a.txt: two entries and 40 KiB.
    expect(text(refused)).toMatch(/file area is full: it holds 48\.0 KiB of its 64\.0 KiB quota, and this change needs 32\.0 KiB more\. Nothing was changed/);
    // Neither the file nor the directories it would have needed.
    expect(await exists(path.join(area, 'files', 'new'))).toBe(false);
    expect(await readdir(path.join(area, 'files'))).toEqual(['a.txt']);
  });

  it('lets a full area replace a file with shorter content, and then take what that freed', async () => {
    await call('write_file', { path: 'a.txt', content: 'x'.repeat(50 * KIB) });
    expect((await call('write_file', { path: 'b.txt', content: 'y'.repeat(10 * KIB) })).isError).toBe(true);

    expect((await call('write_file', { path: 'a.txt', content: 'short' })).isError).toBeFalsy();
    const after = await call('write_file', { path: 'b.txt', content: 'y'.repeat(10 * KIB) });

    expect(after.isError).toBeFalsy();
    expect(await readFile(path.join(area, 'files', 'b.txt'), 'utf8')).toHaveLength(10 * KIB);
  });

  it('refuses an edit that grows a file past it and leaves the file as it was', async () => {
    await call('write_file', { path: 'notes.md', content: `start\n${'x'.repeat(50 * KIB)}\nend\n` });

    const refused = await call('edit_file', { path: 'notes.md', edits: [{ oldText: 'start', newText: 'z'.repeat(20 * KIB) }] });
    const shrinking = await call('edit_file', { path: 'notes.md', edits: [{ oldText: 'end', newText: 'fin' }] });

    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/file area is full/);
    expect(shrinking.isError).toBeFalsy();
    expect(await readFile(path.join(area, 'files', 'notes.md'), 'utf8')).toBe(`start\n${'x'.repeat(50 * KIB)}\nfin\n`);
  });

  it('counts entries, so empty files and directories cannot fill the disk for free', async () => {
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await call('write_file', { path: `empty-${i}`, content: '' }));
    const directory = await call('create_directory', { path: 'a/b/c' });

    // 60 KiB of room is 15 entries of 4 KiB.
    expect(results.filter((r) => !r.isError)).toHaveLength(15);
    expect(directory.isError).toBe(true);
    expect(await exists(path.join(area, 'files', 'a'))).toBe(false);
    expect((await call('create_directory', { path: '.' })).isError).toBeFalsy();
  });

  it('bounds moves into the area from an operator directory, and frees what moves out', async () => {
    await writeFile(path.join(shared, 'big.bin'), Buffer.alloc(70 * KIB));
    await writeFile(path.join(shared, 'small.bin'), Buffer.alloc(30 * KIB));
    await call('write_file', { path: 'a.txt', content: 'x'.repeat(30 * KIB) });

    const tooBig = await call('move_file', { source: path.join(shared, 'big.bin'), destination: 'big.bin' });
    const full = await call('move_file', { source: path.join(shared, 'small.bin'), destination: 'small.bin' });
    const out = await call('move_file', { source: 'a.txt', destination: path.join(shared, 'a.txt') });
    const fits = await call('move_file', { source: path.join(shared, 'small.bin'), destination: 'small.bin' });

    expect(tooBig.isError).toBe(true);
    expect(await exists(path.join(shared, 'big.bin'))).toBe(true);
    expect(full.isError).toBe(true);
    expect(out.isError).toBeFalsy();
    expect(fits.isError).toBeFalsy();
    expect(await readdir(path.join(area, 'files'))).toEqual(['small.bin']);
  });

  it('does not bound the operator directories', async () => {
    const result = await call('write_file', { path: path.join(shared, 'large.txt'), content: 'x'.repeat(200 * KIB) });

    expect(result.isError).toBeFalsy();
    expect((await stat(path.join(shared, 'large.txt'))).size).toBe(200 * KIB);
  });

  it('is shared by the servers of one area and separate for another area', async () => {
    const second = await serverIn(area, [path.join(area, 'docs')]);
    const otherArea = path.join(base, 'other-area');
    const otherTenant = await serverIn(otherArea, [path.join(otherArea, 'files')]);
    await call('write_file', { path: 'a.txt', content: 'x'.repeat(40 * KIB) });

    const refused = await call('write_file', { path: 'b.txt', content: 'y'.repeat(20 * KIB) }, second);
    const elsewhere = await call('write_file', { path: 'b.txt', content: 'y'.repeat(40 * KIB) }, otherTenant);

    expect(refused.isError).toBe(true);
    expect(elsewhere.isError).toBeFalsy();
  });

  it('lets only what fits through when writes arrive at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call('write_file', { path: `f${i}.txt`, content: 'x'.repeat(20 * KIB) })),
    );

    // Each is 20 KiB plus its entry: two fit in 60 KiB, a third does not.
    expect(results.filter((r) => !r.isError)).toHaveLength(2);
    expect(await readdir(path.join(area, 'files'))).toHaveLength(2);
  });

  it('reports what the area holds against its quota, on servers with a root in the area only', async () => {
    await call('write_file', { path: 'a.txt', content: 'x'.repeat(10 * KIB) });
    const operatorOnly = await createFilesystemSource({ roots: [shared], readOnly: false, quota: quotas.forArea(area, TENANT) });

    // The area's `files` directory, a.txt's entry and its 10 KiB.
    expect(await source.check?.(context.signal)).toEqual({ storage: { usedBytes: 2 * ENTRY_BYTES + 10 * KIB, limitBytes: LIMIT } });
    expect('check' in operatorOnly).toBe(false);
  });

  it('counts what was there before, and notices what changed by hand once it measures again', async () => {
    await mkdir(path.join(area, 'files'), { recursive: true });
    await writeFile(path.join(area, 'files', 'by-hand.bin'), Buffer.alloc(50 * KIB));

    expect((await call('write_file', { path: 'a.txt', content: 'x'.repeat(20 * KIB) })).isError).toBe(true);
    await rm(path.join(area, 'files', 'by-hand.bin'));
    expect((await call('write_file', { path: 'a.txt', content: 'x'.repeat(20 * KIB) })).isError).toBe(true);
    clock += REMEASURE_MS;
    expect((await call('write_file', { path: 'a.txt', content: 'x'.repeat(20 * KIB) })).isError).toBeFalsy();
  });
});
