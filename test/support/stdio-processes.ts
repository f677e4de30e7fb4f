import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';

/** A misbehaving stdio server (see the file), run by node through tsx from any working directory. */
export const HOSTILE_STDIO_SERVER = path.resolve(import.meta.dirname, '../fakes/stdio-hostile-server.ts');

/** The command line that runs the hostile stdio server with `behaviours`, marked so that its processes can be found. */
export function hostileStdioCommand(...behaviours: string[]): { command: string; args: string[]; marker: string } {
  const marker = `marker=${randomUUID()}`;
  const tsx = new URL(import.meta.resolve('tsx')).pathname;
  return { command: process.execPath, args: ['--import', tsx, HOSTILE_STDIO_SERVER, ...behaviours, marker], marker };
}

/** The pids of live processes whose command line holds `marker` (exited processes not yet reaped show no command line). */
export async function processesMarked(marker: string): Promise<number[]> {
  const { stdout } = await promisify(execFile)('ps', ['-A', '-o', 'pid=,args=']);
  return stdout
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => Number.parseInt(line.trim(), 10));
}

/** Kills what a test left running, so that a failed test does not leave processes behind. */
export async function killMarked(marker: string): Promise<void> {
  for (const pid of await processesMarked(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Whether `pid` is a live process (an exited one not yet reaped is not). */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const { stdout } = await promisify(execFile)('ps', ['-o', 'stat=', '-p', String(pid)]);
    return stdout.trim() !== '' && !stdout.trim().startsWith('Z');
  } catch {
    // ps exits 1 when no such process exists.
    return false;
  }
}
