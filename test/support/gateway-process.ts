import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';

/** The package's `bin`: what an operator runs. */
export const BOTGATE_BIN = path.resolve(import.meta.dirname, '../../bin/botgate.js');
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

// Variables the gateway reads, plus NODE_OPTIONS: a child gets only what a test gives it.
const INHERITED_CONFIG = [
  'PORT',
  'HOST',
  'DATA_DIR',
  'DATABASE_URL',
  'REDIS_URL',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  'BOTGATE_SECRET_KEY',
  'PUBLIC_URL',
  'LOG_LEVEL',
  'BOTGATE_BODY_LIMIT',
  'NODE_OPTIONS',
];

/** The environment of a child process: this one's, minus any gateway configuration, plus `overrides`. */
export function childEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of INHERITED_CONFIG) delete env[name];
  for (const [name, value] of Object.entries(overrides)) {
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** A fresh, empty DATA_DIR of its own: where the gateway or the CLI creates and migrates the embedded database. */
export function makeEmptyDataDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'botgate-e2e-'));
}

/**
 * A DATA_DIR of its own for one test file, holding a copy of the run's migrated
 * embedded database (embedded-template.ts) and nothing else: no secret key, no
 * operator credential, no tenant.
 */
export async function makeDataDir(): Promise<string> {
  const dataDir = await makeEmptyDataDir();
  await fs.cp(path.join(inject('embeddedTemplate').dataDir, 'pglite'), path.join(dataDir, 'pglite'), { recursive: true });
  return dataDir;
}

/** Calls `probe` until it returns a value, or throws after `timeoutMs` naming what was awaited. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True when a file exists. */
export async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  /** Base URL, learned from DATA_DIR/operator.json. */
  readonly url: string;
  readonly dataDir: string;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<Exit>;
}

export interface StartOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** Extra environment, e.g. `{ PORT: 'abc' }` to see a config error. */
  env?: Record<string, string>;
}

/** Spawns `botgate serve` on port 0 without waiting for it; see `startGateway`. */
export function spawnGateway(options: StartOptions) {
  const child = spawn(process.execPath, [BOTGATE_BIN, 'serve'], {
    cwd: REPO_ROOT,
    env: childEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATA_DIR: options.dataDir,
      DATABASE_URL: options.databaseUrl,
      ...options.env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exited, output: () => output };
}

/**
 * Starts the real gateway as a child process and resolves once it listens: it
 * writes DATA_DIR/operator.json (url, token, pid) right after `listen`.
 */
export async function startGateway(options: StartOptions): Promise<GatewayProcess> {
  const { child, exited, output } = spawnGateway(options);
  let exit: Exit | undefined;
  void exited.then((e) => (exit = e));
  const credentialFile = path.join(options.dataDir, 'operator.json');

  const url = await pollUntil(
    'the gateway to listen',
    async () => {
      if (exit) throw new Error(`gateway exited (${exit.code ?? exit.signal}) before listening:\n${output()}`);
      try {
        const credential = JSON.parse(await fs.readFile(credentialFile, 'utf8')) as { url: string; pid: number };
        return credential.pid === child.pid ? credential.url : undefined;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 60_000 },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  return {
    url,
    dataDir: options.dataDir,
    pid: child.pid ?? -1,
    exited,
    output,
    async stop(timeoutMs = 20_000) {
      if (exit) return exit;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      });
      const result = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (result) return result;
      child.kill('SIGKILL');
      throw new Error(`gateway did not exit within ${timeoutMs} ms of SIGTERM:\n${output()}`);
    },
  };
}
