import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Where a running gateway tells the CLI how to reach it; readable by its owner only. */
export function operatorCredentialPath(dataDir: string): string {
  return path.join(dataDir, 'operator.json');
}

export interface OperatorCredential {
  url: string;
  token: string;
  pid: number;
}

/** A fresh operator token for this gateway process. */
export function generateOperatorToken(): string {
  return `bgo_${randomBytes(32).toString('base64url')}`;
}

/** Constant-time check of a presented token against the one expected (the operator's, the metrics scraper's). */
export function tokenMatches(expected: string, presented: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

export async function writeOperatorCredential(dataDir: string, credential: OperatorCredential): Promise<void> {
  const file = operatorCredentialPath(dataDir);
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, JSON.stringify(credential), { mode: 0o600 });
  await fs.rename(temp, file);
}

export async function readOperatorCredential(dataDir: string): Promise<OperatorCredential | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(operatorCredentialPath(dataDir), 'utf8')) as Partial<OperatorCredential>;
    if (typeof parsed.url === 'string' && typeof parsed.token === 'string' && typeof parsed.pid === 'number') {
      return { url: parsed.url, token: parsed.token, pid: parsed.pid };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** Removes the credential if it is still this process's own. */
export async function removeOperatorCredential(dataDir: string, token: string): Promise<void> {
  const current = await readOperatorCredential(dataDir);
  if (current?.token === token) await fs.rm(operatorCredentialPath(dataDir), { force: true });
}
