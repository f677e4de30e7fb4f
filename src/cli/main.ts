import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../shared/config.ts';
import { AppError } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import { OPTIONS, unknownOptionMessage } from './arguments.ts';
import { refuseOtherOptions, toCommand } from './commands.ts';
import { formatResult, warningsOf } from './format.ts';
import { streamTo, type CliIo } from './io.ts';
import { checkOptions, inOptionWords } from './options.ts';
import { embeddedDatabaseExists, openCommandRunner } from './runner.ts';
import { commandUsage, globalUsage, knownCommand, UsageError } from './usage.ts';
import type { OperatorCommandName } from '../gateway/index.ts';

async function serve(io: CliIo): Promise<number> {
  const config = loadConfig(io.env);
  const logger = createLogger({ level: config.logLevel, destination: streamTo(io.stdout) });
  // Loaded on demand so that commands talking to a running gateway start quickly.
  const { startGateway } = await import('../main.ts');
  const gateway = await startGateway(config, logger);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await gateway.stop();
  return 0;
}

/** A note or warning on stderr: one line, as JSON with --json. */
function tell(io: CliIo, kind: 'note' | 'warning', message: string, json: boolean): void {
  io.stderr.write(json ? `${JSON.stringify({ [kind]: { message } })}\n` : `botgate: ${kind}: ${message}\n`);
}

/**
 * Where the CLI is about to make a new embedded database: fine on a first run
 * without a gateway, but from the wrong directory (DATA_DIR defaults to
 * ./data) it would quietly be a database no running gateway reads.
 */
function noteNewDatabase(io: CliIo, dataDir: string, json: boolean): void {
  const message =
    `no database in ${dataDir} yet: creating a new embedded database there; ` +
    'a gateway running with another DATA_DIR will not see it (set DATA_DIR to its directory)';
  tell(io, 'note', message, json);
}

async function migrate(io: CliIo, json: boolean): Promise<number> {
  const config = loadConfig(io.env);
  const { openDatabase } = await import('../shared/db.ts');
  const { migrateToLatest } = await import('../shared/migrate.ts');
  if (!config.databaseUrl && !(await embeddedDatabaseExists(config.dataDir))) noteNewDatabase(io, config.dataDir, json);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const applied = await migrateToLatest(database.db);
    io.stdout.write(json ? `${JSON.stringify({ applied })}\n` : `applied ${applied.length} migration(s)${applied.length ? `: ${applied.join(', ')}` : ''}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

/** The package's version, as `npm` and the registry know it. */
async function packageVersion(): Promise<string> {
  const text = await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** A server found unavailable makes `server status` exit 1, so that scripts and probes can tell without parsing. */
function exitCodeOf(name: OperatorCommandName, result: unknown): number {
  if (name !== 'server.status') return 0;
  return (result as { status?: { state?: string } }).status?.state === 'ok' ? 0 : 1;
}

/** The command `argv` names, read leniently (unknown options taken as flags); undefined when it names none. */
function commandIn(argv: string[]): string | undefined {
  try {
    return knownCommand(parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false }).positionals);
  } catch {
    return undefined;
  }
}

/**
 * Runs the command line; returns the exit code. `io` is the process's own in
 * `bin/botgate.js`; a caller may give its own to run commands in its process.
 */
export async function runCli(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env },
): Promise<number> {
  let json = argv.includes('--json');
  let command: string | undefined;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    json = values.json ?? false;
    if (values.version) {
      io.stdout.write(`${await packageVersion()}\n`);
      return 0;
    }
    // `botgate help [command]` and `botgate [command] --help`.
    const helpWith = positionals[0] === 'help' ? positionals.slice(1) : values.help ? positionals : undefined;
    if (helpWith !== undefined) {
      io.stdout.write(`${helpWith.length === 0 ? globalUsage() : commandUsage(helpWith)}\n`);
      return 0;
    }
    if (positionals.length === 0) {
      io.stdout.write(`${globalUsage()}\n`);
      return 2;
    }
    command = knownCommand(positionals);
    if (positionals[0] === 'serve' || positionals[0] === 'migrate') {
      refuseOtherOptions(positionals[0], values, []);
      return positionals[0] === 'serve' ? await serve(io) : await migrate(io, json);
    }
    const operation = await toCommand(positionals, values, io.stdin);
    checkOptions(operation.name, operation.args);
    const runner = await openCommandRunner(loadConfig(io.env), { onNewDatabase: (dataDir) => noteNewDatabase(io, dataDir, json), stderr: io.stderr });
    try {
      const result = await runner.run(operation.name, operation.args).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'validation_failed') {
          throw new AppError(error.code, inOptionWords(operation.name, operation.options, operation.args, error.message), { cause: error });
        }
        throw error;
      });
      io.stdout.write(json ? `${JSON.stringify(result)}\n` : `${formatResult(operation.name, result)}\n`);
      for (const warning of warningsOf(operation.name, result, runner.via)) tell(io, 'warning', warning, json);
      return exitCodeOf(operation.name, result);
    } finally {
      await runner.close();
    }
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    // Refused before the command was known: it is named in the pointer to its help when it can be.
    command ??= usage ? commandIn(argv) : undefined;
    const plain = unknownOptionMessage(error as { code?: string; message: string });
    const message =
      plain ?? (error instanceof AppError || error instanceof ConfigError || usage ? (error as Error).message : `unexpected error: ${(error as Error).message}`);
    if (json) io.stderr.write(`${JSON.stringify({ error: { message } })}\n`);
    else io.stderr.write(`botgate: ${message}${usage ? ` (botgate ${command ? `${command} ` : ''}--help for usage)` : ''}\n`);
    return usage ? 2 : 1;
  }
}
