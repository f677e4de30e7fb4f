// What the third-party client checks (inspector.ts, claude-code.ts) share: running a client's
// command to its end, and the checks' outcome, printed one line each.
import { spawn } from 'node:child_process';

export interface ClientCheck {
  name: string;
  passed: boolean;
  /** What was wrong, for a check that failed. */
  problem?: string;
}

export interface Printed {
  /** The exit code; null when the command was killed at its time limit. */
  code: number | null;
  /** stdout and stderr together, as a person would read them. */
  text: string;
}

/** Runs a command without a terminal until it exits, or kills it after `timeoutMs`. */
export function runCommand(command: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Printed> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
}

/** The JSON object a command printed, read from its first `{`; undefined when there is none. */
export function printedJson(printed: Printed): Record<string, unknown> | undefined {
  try {
    return JSON.parse(printed.text.slice(printed.text.indexOf('{'))) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Runs named checks in order; a check returns what was wrong, or undefined when it passed. */
export async function runChecks(checks: Array<{ name: string; check: () => Promise<string | undefined> }>): Promise<ClientCheck[]> {
  const results: ClientCheck[] = [];
  for (const { name, check } of checks) {
    const problem = await check().catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    results.push({ name, passed: problem === undefined, ...(problem !== undefined && { problem }) });
  }
  return results;
}

/** Prints one line per check, ✓ or ✗ with what was wrong. */
export function printClientChecks(title: string, checks: ClientCheck[]): void {
  console.log(`\n${title}`);
  for (const check of checks) console.log(`  ${check.passed ? '✓' : '✗'} ${check.name}${check.problem ? `: ${check.problem}` : ''}`);
}
