import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { BOTGATE_BIN, REPO_ROOT, childEnv } from './gateway-process.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** Written to the command's stdin (for --password-stdin); stdin is closed either way. */
  stdin?: string;
}

/** Runs `botgate ...args` as an operator would, in its own process. */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BOTGATE_BIN, ...args],
      {
        cwd: REPO_ROOT,
        env: childEnv({ DATA_DIR: options.dataDir, DATABASE_URL: options.databaseUrl, LOG_LEVEL: 'warn' }),
        timeout: 60_000,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`botgate ${args.join(' ')} did not run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

/** The parsed output of a command run with --json, which must have succeeded. */
function jsonOutput(args: string[], result: CliResult): unknown {
  if (result.code !== 0) {
    throw new Error(`botgate ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout);
}

/** Runs a command with --json that must succeed, and returns its parsed output. */
export async function runCliJson<T>(args: string[], options: CliOptions): Promise<T> {
  return jsonOutput(args, await runCli([...args, '--json'], options)) as T;
}

/** How a command run in-process is run: as `runCli` runs it, with `env` set besides. */
export interface InProcessCliOptions extends CliOptions {
  env?: Record<string, string>;
}

/**
 * Runs `botgate ...args` in this process through the CLI's entry, with the
 * environment and stdin its own process would get from `runCli` and its output
 * captured: the same result without a process start (seconds, with tsx).
 */
export async function runCliInProcess(args: string[], options: InProcessCliOptions): Promise<CliResult> {
  // Loaded on first use: the CLI brings in the gateway's modules, which tests that only spawn it need not load.
  const { runCli: runEntry } = await import('../../src/cli/main.ts');
  let stdout = '';
  let stderr = '';
  const code = await runEntry(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    env: childEnv({ DATA_DIR: options.dataDir, DATABASE_URL: options.databaseUrl, LOG_LEVEL: 'warn', ...options.env }),
  });
  return { code, stdout, stderr };
}

/** As `runCliJson`, with the command run in this process (`runCliInProcess`). */
export async function runCliJsonInProcess<T>(args: string[], options: InProcessCliOptions): Promise<T> {
  return jsonOutput(args, await runCliInProcess([...args, '--json'], options)) as T;
}
