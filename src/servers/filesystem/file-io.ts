import { randomBytes } from 'node:crypto';
import { chmod, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { ToolError } from '../tool-source.ts';
import type { AreaQuota } from './area-quota.ts';
import { errorCode, type Sandbox } from './sandbox.ts';

/** What every filesystem tool is given: the sandbox, the read limit and the quota of the tenant's area. */
export interface FilesystemContext {
  sandbox: Sandbox;
  /** Bounds what the write tools may add to the tenant's area; absent, nothing is bounded. */
  quota?: AreaQuota | undefined;
  /** Largest file content (in bytes) one call returns. */
  maxReadBytes: number;
  readOnly: boolean;
}

/** Human-readable byte count: `512 B`, `1.5 KiB`, `3.20 MiB`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

const FS_MESSAGES: Record<string, (p: string) => string> = {
  ENOENT: (p) => `No such file or directory: ${p}`,
  EISDIR: (p) => `${p} is a directory; use list_directory or directory_tree to see its contents.`,
  ENOTDIR: (p) => `Not a directory: ${p} (or one of its parents is a file).`,
  EACCES: (p) => `Permission denied: ${p}`,
  EPERM: (p) => `Operation not permitted: ${p}`,
  EEXIST: (p) => `Already exists: ${p}`,
  ENOTEMPTY: (p) => `Directory not empty: ${p}`,
  EXDEV: (p) => `Cannot move ${p} across filesystems (the allowed directories are on different devices).`,
  EINVAL: (p) => `Invalid operation on ${p} (for example, moving a directory into itself).`,
  ENOSPC: () => 'No space left on the device.',
  EDQUOT: () => 'Disk quota exceeded.',
  EROFS: (p) => `Read-only filesystem: ${p}`,
  ENAMETOOLONG: (p) => `Path too long: ${p}`,
  ELOOP: (p) => `Too many levels of symbolic links: ${p}`,
};

/**
 * Turns a Node filesystem error into a `ToolError` the model can act on;
 * anything else (an abort, a bug) is returned unchanged so it is not
 * disguised as a tool failure.
 */
export function toToolError(error: unknown, displayPath: string): unknown {
  if (error instanceof ToolError) return error;
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  const message = typeof code === 'string' ? FS_MESSAGES[code] : undefined;
  return message ? new ToolError(message(displayPath), { cause: error }) : error;
}

/**
 * Why reading `displayPath` failed, for a result that reports its files one
 * by one: as `toToolError` words it when it can; another system error (EIO,
 * ...) by its code and the system's description of it, not by its own
 * message, which names the path as the host has it; anything else only as
 * unexpected.
 */
export function describeReadFailure(error: unknown, displayPath: string): string {
  const known = toToolError(error, displayPath);
  if (known instanceof ToolError) return known.message;
  const code = errorCode(error);
  if (code === undefined || !/^E[A-Z0-9]+$/.test(code)) return `Cannot read ${displayPath}: it failed unexpectedly.`;
  const errno = (error as { errno?: unknown }).errno;
  const described = typeof errno === 'number' ? getSystemErrorMap().get(errno)?.[1] : undefined;
  return `Cannot read ${displayPath}: ${described ?? 'system error'} (${code}).`;
}

/** Runs a filesystem operation, reporting its failure against `displayPath`. */
export async function withFsErrors<T>(displayPath: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toToolError(error, displayPath);
  }
}

/**
 * Replaces `filePath` with `content` atomically: readers see the old or the
 * new file, never half of one. The temporary file sits in the same directory
 * (same filesystem, so rename is atomic) and is created exclusively; an
 * existing file keeps its permission bits.
 */
export async function writeFileAtomic(filePath: string, content: string, signal: AbortSignal): Promise<void> {
  let mode: number | undefined;
  try {
    const existing = await stat(filePath);
    if (existing.isDirectory()) throw new ToolError(`${filePath} is a directory; choose a file path.`);
    mode = existing.mode & 0o777;
  } catch (error) {
    if (error instanceof ToolError) throw error;
    // A missing file is created; any other problem surfaces from the write below.
  }
  const temp = path.join(
    path.dirname(filePath),
    `.${path.basename(filePath).slice(0, 50)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    await writeFile(temp, content, { encoding: 'utf8', flag: 'wx', signal, ...(mode !== undefined && { mode }) });
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, filePath);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
