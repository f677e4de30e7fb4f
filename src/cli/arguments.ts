import type { parseArgs } from 'node:util';
import { closestName } from '../shared/closest-name.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './usage.ts';

/** Every option of every command; each command names the ones it takes (see commands.ts). */
export const OPTIONS = {
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
  grace: { type: 'string' },
  user: { type: 'string' },
  tools: { type: 'string' },
  slug: { type: 'string' },
  kind: { type: 'string' },
  config: { type: 'string' },
  secret: { type: 'string', multiple: true },
  'secret-stdin': { type: 'string' },
  'clear-secret': { type: 'string', multiple: true },
  model: { type: 'string' },
  system: { type: 'string' },
  description: { type: 'string' },
  servers: { type: 'string' },
  bots: { type: 'string' },
  'max-tokens': { type: 'string' },
  'thinking-budget': { type: 'string' },
  temperature: { type: 'string' },
  'anthropic-key-stdin': { type: 'boolean' },
  'clear-anthropic-key': { type: 'boolean' },
} as const;

export type OptionName = keyof typeof OPTIONS;
export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Options every command takes. */
export const GLOBAL_OPTIONS: readonly OptionName[] = ['json', 'help', 'version'];

/** All of `stdin`, less one final newline. */
async function readStdin(stdin: CliIo['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * A secret given on stdin when its option (--password-stdin, --anthropic-key-stdin)
 * is set, else undefined: a secret in argv would be seen by every process
 * listing and kept in shell histories.
 */
export function secretFromStdin(given: boolean | undefined, stdin: CliIo['stdin']): Promise<string | undefined> {
  return given ? readStdin(stdin) : Promise.resolve(undefined);
}

/** `object` without its undefined fields: what was not given is left out. */
export function defined<T extends Record<string, unknown>>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** An option's JSON value; a UsageError naming the option when it is not JSON. */
export function parseJsonOption(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${name} must be JSON, for example '{"readOnly": true}'`);
  }
}

/** `--secret token=abc --secret url=postgres://...` as an object. */
export function parseSecrets(pairs: string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new UsageError(`--secret takes NAME=VALUE, got "${pair.split('=')[0] ?? ''}..."`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/**
 * `--secret NAME=VALUE ...` and `--secret-stdin NAME` (that secret's value read from stdin, as
 * tokens and passwords should be given) as one object; undefined when neither is given.
 */
export async function secretsOf(values: Values, stdin: CliIo['stdin']): Promise<Record<string, string> | undefined> {
  const secrets = values.secret === undefined ? {} : parseSecrets(values.secret);
  const name = values['secret-stdin'];
  if (name !== undefined) {
    if (name === '' || name.includes('=')) throw new UsageError(`--secret-stdin takes the NAME of a secret, its value on stdin; got "${name}"`);
    if (Object.hasOwn(secrets, name)) throw new UsageError(`--secret and --secret-stdin both name ${name}`);
    secrets[name] = await readStdin(stdin);
  }
  return Object.keys(secrets).length > 0 ? secrets : undefined;
}

/** `a,b` as a list; an empty option gives an empty list. */
export function splitList(text: string | undefined): string[] | undefined {
  return text?.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * A whole number given on the command line; the service checks its range and
 * names the field. `or` is the word the option also takes, for the message.
 */
export function wholeNumber(option: string, text: string | undefined, or?: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${option} takes a whole number of tokens${or ? `, or ${or}` : ''}, got "${text}"`);
  return Number(text);
}

/** `--temperature N|default`: a number, or null for the model's default; the service checks its range. */
export function parseTemperature(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  if (text === 'default') return null;
  if (!/^(\d+(\.\d+)?|\.\d+)$/.test(text)) throw new UsageError(`--temperature takes a number from 0 to 1, or default, got "${text}"`);
  return Number(text);
}

/**
 * The refusal of an option no command takes, said plainly and naming the
 * option meant when one is a typo away (`--secrets`: `--secret`); undefined
 * for any other parse error.
 */
export function unknownOptionMessage(error: { code?: string; message: string }): string | undefined {
  if (error.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return undefined;
  const option = /'(-[^']*)'/.exec(error.message)?.[1];
  if (option === undefined) return undefined;
  const given = option.replace(/^-+/, '').split('=')[0] ?? '';
  const closest = closestName(given, Object.keys(OPTIONS));
  return `unknown option ${option.split('=')[0] ?? option}${closest ? `; did you mean --${closest}?` : ''}`;
}
