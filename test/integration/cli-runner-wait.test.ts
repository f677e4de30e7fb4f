import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openCommandRunner } from '../../src/cli/runner.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { writeOperatorCredential } from '../../src/shared/operator-credential.ts';

/** A live process that is not a gateway: it holds the embedded database's lock as a starting gateway does. */
function startHolder(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
}

describe('the CLI and a process holding the embedded database', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function heldDataDir() {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'botgate-cli-wait-'));
    const holder = startHolder();
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    cleanups.push(async () => holder.kill('SIGKILL'));
    await fs.writeFile(path.join(dataDir, 'pglite.lock'), String(holder.pid));
    return { dataDir, holder, config: loadConfig({ DATA_DIR: dataDir }) };
  }

  it('waits for a starting gateway to write where it listens, then goes through it', async () => {
    const { dataDir, holder, config } = await heldDataDir();
    const opening = openCommandRunner(config, { waitMs: 20_000 });
    // The gateway listens a moment later and says where.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await writeOperatorCredential(dataDir, { url: 'http://127.0.0.1:9', token: 'bgo_test', pid: holder.pid ?? 0 });
    const runner = await opening;
    expect(runner.via).toBe('gateway');
    await runner.close();
  });

  it('opens the database itself once the holder lets go of it, as another CLI command does when it ends', async () => {
    const { holder, config } = await heldDataDir();
    const opening = openCommandRunner(config, { waitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    holder.kill('SIGKILL');
    const runner = await opening;
    expect(runner.via).toBe('database');
    expect(await runner.run('tenant.create', { slug: 'after-wait' })).toMatchObject({ tenant: { slug: 'after-wait' } });
    await runner.close();
  });

  it('gives up with a message naming the process when it never becomes a reachable gateway', async () => {
    const { config, holder } = await heldDataDir();
    await expect(openCommandRunner(config, { waitMs: 600 })).rejects.toThrow(
      `is in use by process ${holder.pid}, which did not become a gateway this CLI can reach within 1 s, nor let go of it`,
    );
  });
});
