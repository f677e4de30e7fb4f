import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The key that encrypts stored secrets: from BOTGATE_SECRET_KEY, else from
 * DATA_DIR/secret.key, generated there (owner-readable only) on first start.
 */
export async function loadOrCreateSecretKey(dataDir: string, configured: string | undefined): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'hex');
  const existing = await readSecretKey(dataDir);
  if (existing) return existing;
  const file = path.join(dataDir, 'secret.key');
  const key = randomBytes(32);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    await fs.writeFile(file, `${key.toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
    return key;
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSecretKey(dataDir, undefined);
    throw error;
  }
}

/** The key stored in DATA_DIR/secret.key, or undefined when there is none. */
export async function readSecretKey(dataDir: string): Promise<Buffer | undefined> {
  const file = path.join(dataDir, 'secret.key');
  let stored: string;
  try {
    stored = (await fs.readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!/^[0-9a-f]{64}$/i.test(stored)) throw new Error(`${file} does not hold 64 hex characters`);
  return Buffer.from(stored, 'hex');
}
