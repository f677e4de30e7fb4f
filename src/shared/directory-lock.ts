import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from './errors.ts';

export interface DirectoryLock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads the pid holding `name` in `dir`, or undefined when no live process holds it. */
export async function readLockHolder(dir: string, name: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await fs.readFile(path.join(dir, `${name}.lock`), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes an exclusive lock file holding this process's pid. A lock left by a
 * process that died is taken over; one held by a live process is refused.
 */
export async function acquireDirectoryLock(dir: string, name: string): Promise<DirectoryLock> {
  const file = path.join(dir, `${name}.lock`);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await fs.writeFile(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return { release: () => fs.rm(file, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await readLockHolder(dir, name);
      if (holder !== undefined && holder !== process.pid) {
        throw new AppError(
          'unavailable',
          `the embedded database in ${dir} is in use by process ${holder}; stop it or talk to it through its API`,
        );
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new AppError('unavailable', `could not lock ${file}`);
}
