import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../shared/config.ts';
import { AppError } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import { formatResult } from './format.ts';
import { checkOptions } from './options.ts';
import { embeddedDatabaseExists, openCommandRunner } from './runner.ts';
import { commandUsage, globalUsage, knownCommand, UsageError } from './usage.ts';
import type { OperatorCommandName } from '../gateway/index.ts';

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  name: { type: 'string' },
  tenant: { type: 'string' },
  email: { type: 'string' },
  role: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  scopes: { type: 'string' },
  expires: { type: 'string' },
  user: { type: 'string' },
  tools: { type: 'string' },
  slug: { type: 'string' },
  kind: { type: 'string' },
  config: { type: 'string' },
  secret: { type: 'string', multiple: true },
  model: { type: 'string' },
  system: { type: 'string' },
  description: { type: 'string' },
  servers: { type: 'string' },
  bots: { type: 'string' },
  'max-tokens': { type: 'string' },
  'thinking-budget': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function defined<T extends Record<string, unknown>>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parseJsonOption(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${name} must be JSON, for example '{"readOnly": true}'`);
  }
}

/** `--secret token=abc --secret url=postgres://...` as an object. */
function parseSecrets(pairs: string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new UsageError(`--secret takes NAME=VALUE, got "${pair.split('=')[0] ?? ''}..."`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/** `a,b` as a list; an empty option gives an empty list. */
function splitList(text: string | undefined): string[] | undefined {
  return text?.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** A whole number given on the command line; the service checks its range and names the field. */
function wholeNumber(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${option} takes a whole number of tokens, got "${text}"`);
  return Number(text);
}

/** Maps `noun verb` plus options to an operator command and its arguments. */
async function toCommand(
  words: string[],
  values: Values,
): Promise<{ name: OperatorCommandName; args: Record<string, unknown> }> {
  const [noun, verb, ...rest] = words;
  const key = `${noun ?? ''} ${verb ?? ''}`;
  switch (key) {
    case 'tenant create':
      if (rest.length !== 1) throw new UsageError('tenant create takes exactly one slug');
      return { name: 'tenant.create', args: defined({ slug: rest[0], name: values.name }) };
    case 'user create':
      return {
        name: 'user.create',
        args: defined({
          tenant: values.tenant,
          email: values.email,
          role: values.role,
          password: values['password-stdin'] ? await readStdin() : undefined,
        }),
      };
    case 'key create':
      return {
        name: 'key.create',
        args: defined({
          tenant: values.tenant,
          name: values.name,
          scopes: values.scopes?.split(',').map((s) => s.trim()),
          tools: values.tools?.split(',').map((s) => s.trim()),
          expires: values.expires,
          user: values.user,
        }),
      };
    case 'server create':
      return {
        name: 'server.create',
        args: defined({
          tenant: values.tenant,
          slug: values.slug,
          kind: values.kind,
          config: values.config === undefined ? undefined : parseJsonOption('--config', values.config),
          secrets: values.secret === undefined ? undefined : parseSecrets(values.secret),
        }),
      };
    case 'bot create':
      return {
        name: 'bot.create',
        args: defined({
          tenant: values.tenant,
          slug: values.slug,
          name: values.name,
          description: values.description,
          model: values.model,
          system: values.system,
          servers: splitList(values.servers),
          bots: splitList(values.bots),
          max_tokens: wholeNumber('max-tokens', values['max-tokens']),
          thinking_budget: wholeNumber('thinking-budget', values['thinking-budget']),
        }),
      };
    case 'bot list':
      return { name: 'bot.list', args: defined({ tenant: values.tenant }) };
    case 'server list':
      return { name: 'server.list', args: defined({ tenant: values.tenant }) };
    case 'server status':
      return { name: 'server.status', args: defined({ tenant: values.tenant, slug: values.slug }) };
    case 'key list':
      return { name: 'key.list', args: defined({ tenant: values.tenant }) };
    case 'key revoke':
      if (rest.length !== 1) throw new UsageError('key revoke takes exactly one key id');
      return { name: 'key.revoke', args: defined({ tenant: values.tenant, id: rest[0] }) };
    default:
      throw new UsageError(`unknown command: ${words.join(' ') || '(none)'}`);
  }
}

async function serve(): Promise<number> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel });
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

/**
 * Where the CLI is about to make a new embedded database: fine on a first run
 * without a gateway, but from the wrong directory (DATA_DIR defaults to
 * ./data) it would quietly be a database no running gateway reads.
 */
function noteNewDatabase(dataDir: string, json: boolean): void {
  const message =
    `no database in ${dataDir} yet: creating a new embedded database there; ` +
    'a gateway running with another DATA_DIR will not see it (set DATA_DIR to its directory)';
  process.stderr.write(json ? `${JSON.stringify({ note: { message } })}\n` : `botgate: note: ${message}\n`);
}

async function migrate(json: boolean): Promise<number> {
  const config = loadConfig(process.env);
  const { openDatabase } = await import('../shared/db.ts');
  const { migrateToLatest } = await import('../shared/migrate.ts');
  if (!config.databaseUrl && !(await embeddedDatabaseExists(config.dataDir))) noteNewDatabase(config.dataDir, json);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const applied = await migrateToLatest(database.db);
    process.stdout.write(json ? `${JSON.stringify({ applied })}\n` : `applied ${applied.length} migration(s)${applied.length ? `: ${applied.join(', ')}` : ''}\n`);
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

/** Runs the command line; returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  let command: string | undefined;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    json = values.json ?? false;
    if (values.version) {
      process.stdout.write(`${await packageVersion()}\n`);
      return 0;
    }
    // `botgate help [command]` and `botgate [command] --help`.
    const helpWith = positionals[0] === 'help' ? positionals.slice(1) : values.help ? positionals : undefined;
    if (helpWith !== undefined) {
      process.stdout.write(`${helpWith.length === 0 ? globalUsage() : commandUsage(helpWith)}\n`);
      return 0;
    }
    if (positionals.length === 0) {
      process.stdout.write(`${globalUsage()}\n`);
      return 2;
    }
    command = knownCommand(positionals);
    if (positionals[0] === 'serve') return await serve();
    if (positionals[0] === 'migrate') return await migrate(json);
    const operation = await toCommand(positionals, values);
    checkOptions(operation.name, operation.args);
    const runner = await openCommandRunner(loadConfig(process.env), { onNewDatabase: (dataDir) => noteNewDatabase(dataDir, json) });
    try {
      const result = await runner.run(operation.name, operation.args);
      process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${formatResult(operation.name, result)}\n`);
      return exitCodeOf(operation.name, result);
    } finally {
      await runner.close();
    }
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const message = error instanceof AppError || error instanceof ConfigError || usage ? (error as Error).message : `unexpected error: ${(error as Error).message}`;
    if (json) process.stderr.write(`${JSON.stringify({ error: { message } })}\n`);
    else process.stderr.write(`botgate: ${message}${usage ? ` (botgate ${command ? `${command} ` : ''}--help for usage)` : ''}\n`);
    return usage ? 2 : 1;
  }
}
