import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../shared/config.ts';
import { AppError } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import { formatResult } from './format.ts';
import { openCommandRunner } from './runner.ts';
import type { OperatorCommandName } from '../gateway/index.ts';

const USAGE = `Usage: botgate <command> [options]

  serve                                   run the gateway (PORT, DATA_DIR, DATABASE_URL, ...)
  migrate                                 apply database migrations
  tenant create <slug> [--name <name>]
  user create --tenant <slug> --email <email> --role owner|admin|member|auditor [--password-stdin]
  key create --tenant <slug> --name <name> --scopes mcp,admin,read [--expires 30d] [--user <email>]
             [--tools files,gh__list_issues]   (restrict the key to these servers or tools)
  key list --tenant <slug>
  key revoke --tenant <slug> <key-id>
  server create --tenant <slug> --slug <server> --kind filesystem|github|database|remote|stdio
                [--config '<json>'] [--secret NAME=VALUE ...]
  server list --tenant <slug>
  server status --tenant <slug> --slug <server>   (does it work? lists its tools, tries its upstream or credentials)
  bot create --tenant <slug> --slug <bot> --model <model> --system <text>
             --description <text for the calling model> [--name <name>] [--servers a,b] [--bots x,y]
             [--max-tokens N] [--thinking-budget N]   (extended thinking; below --max-tokens)
  bot list --tenant <slug>

Every command takes --json for machine-readable output.`;

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
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

class UsageError extends Error {}

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

async function migrate(json: boolean): Promise<number> {
  const config = loadConfig(process.env);
  const { openDatabase } = await import('../shared/db.ts');
  const { migrateToLatest } = await import('../shared/migrate.ts');
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const applied = await migrateToLatest(database.db);
    process.stdout.write(json ? `${JSON.stringify({ applied })}\n` : `applied ${applied.length} migration(s)${applied.length ? `: ${applied.join(', ')}` : ''}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

/** Runs the command line; returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    json = values.json ?? false;
    if (values.help || positionals.length === 0) {
      process.stdout.write(`${USAGE}\n`);
      return values.help ? 0 : 2;
    }
    if (positionals[0] === 'serve') return await serve();
    if (positionals[0] === 'migrate') return await migrate(json);
    const command = await toCommand(positionals, values);
    const runner = await openCommandRunner(loadConfig(process.env));
    try {
      const result = await runner.run(command.name, command.args);
      process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${formatResult(command.name, result)}\n`);
      return 0;
    } finally {
      await runner.close();
    }
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const message = error instanceof AppError || error instanceof ConfigError || usage ? (error as Error).message : `unexpected error: ${(error as Error).message}`;
    if (json) process.stderr.write(`${JSON.stringify({ error: { message } })}\n`);
    else process.stderr.write(`botgate: ${message}${usage ? ' (botgate --help for usage)' : ''}\n`);
    return usage ? 2 : 1;
  }
}
