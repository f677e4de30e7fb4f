import type { OperatorCommandName } from '../gateway/index.ts';
import {
  defined,
  GLOBAL_OPTIONS,
  parseJsonOption,
  parseTemperature,
  secretFromStdin,
  secretsOf,
  splitList,
  wholeNumber,
  type OptionName,
  type Values,
} from './arguments.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './usage.ts';

/** The word after a command that names what it acts on: the slug in `server delete --tenant acme files`. */
interface Target {
  /** The argument of the operator command it fills. */
  field: 'slug' | 'id';
  /** How errors name it. */
  label: string;
  /** Whether `--slug` may name it instead, as it does for `server create` and `server status`. */
  orSlug?: boolean;
}

interface CommandSpec {
  name: OperatorCommandName;
  /** The options it takes besides --json and --help; any other is refused, not ignored. */
  options: readonly OptionName[];
  target?: Target;
  /** The operator command's arguments from the options (the target is added to them); `stdin` is read for --password-stdin and --anthropic-key-stdin. */
  args(values: Values, stdin: CliIo['stdin']): Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** A command that takes --tenant, and `extra` options that name its target. */
const tenantOnly = (name: OperatorCommandName, extra: readonly OptionName[] = []): CommandSpec => ({
  name,
  options: ['tenant', ...extra],
  args: (values) => defined({ tenant: values.tenant }),
});
const SERVER: Target = { field: 'slug', label: 'server slug', orSlug: true };
const BOT: Target = { field: 'slug', label: 'bot slug', orSlug: true };
const KEY: Target = { field: 'id', label: 'key id' };

/** `--config`, `--secret NAME=VALUE`, `--secret-stdin NAME` and `--clear-secret NAME` as the change `server update` makes. */
async function serverChange(values: Values, stdin: CliIo['stdin']): Promise<Record<string, unknown>> {
  const fromStdin = values['secret-stdin'];
  if (fromStdin !== undefined && values['clear-secret']?.includes(fromStdin)) throw new UsageError(`--secret-stdin and --clear-secret both name ${fromStdin}`);
  const secrets: Record<string, string | null> = (await secretsOf(values, stdin)) ?? {};
  for (const name of values['clear-secret'] ?? []) {
    if (name === '' || name.includes('=')) throw new UsageError(`--clear-secret takes the NAME of a secret, got "${name.split('=')[0] ?? ''}"`);
    if (Object.hasOwn(secrets, name)) throw new UsageError(`--secret and --clear-secret both name ${name}`);
    secrets[name] = null;
  }
  const hasSecrets = Object.keys(secrets).length > 0;
  if (values.config === undefined && !hasSecrets) throw new UsageError('nothing to change: give --config, --secret, --secret-stdin or --clear-secret');
  return defined({
    tenant: values.tenant,
    config: values.config === undefined ? undefined : parseJsonOption('--config', values.config),
    secrets: hasSecrets ? secrets : undefined,
  });
}

/** What `bot update` changes, in the order its usage names them. */
const BOT_CHANGES: readonly OptionName[] = [
  'name',
  'description',
  'model',
  'system',
  'temperature',
  'max-tokens',
  'thinking-budget',
  'servers',
  'bots',
  'anthropic-key-stdin',
  'clear-anthropic-key',
];

/**
 * The options of `bot update` as the change PATCH /api/v1/bots/{slug} makes:
 * `--servers ''` and `--bots ''` empty a list, `--temperature default` and
 * `--thinking-budget off` give null.
 */
async function botChange(values: Values, stdin: CliIo['stdin']): Promise<Record<string, unknown>> {
  if (!BOT_CHANGES.some((option) => values[option] !== undefined)) {
    const options = BOT_CHANGES.map((option) => `--${option}`);
    throw new UsageError(`nothing to change: give ${options.slice(0, -1).join(', ')} or ${options.at(-1) ?? ''}`);
  }
  if (values['anthropic-key-stdin'] && values['clear-anthropic-key']) {
    throw new UsageError('--anthropic-key-stdin and --clear-anthropic-key cannot both be given');
  }
  const budget = values['thinking-budget'];
  return defined({
    tenant: values.tenant,
    name: values.name,
    description: values.description,
    model: values.model,
    system: values.system,
    temperature: parseTemperature(values.temperature),
    max_tokens: wholeNumber('max-tokens', values['max-tokens']),
    thinking_budget: budget === 'off' ? null : wholeNumber('thinking-budget', budget, 'off'),
    servers: splitList(values.servers),
    bots: splitList(values.bots),
    anthropic_api_key: values['clear-anthropic-key'] ? null : await secretFromStdin(values['anthropic-key-stdin'], stdin),
  });
}

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  'tenant create': { name: 'tenant.create', options: ['name'], target: { field: 'slug', label: 'slug' }, args: (v) => defined({ name: v.name }) },
  'tenant list': { name: 'tenant.list', options: [], args: () => ({}) },
  'user create': {
    name: 'user.create',
    options: ['tenant', 'email', 'role', 'password-stdin'],
    args: async (v, stdin) =>
      defined({ tenant: v.tenant, email: v.email, role: v.role, password: await secretFromStdin(v['password-stdin'], stdin) }),
  },
  'user list': tenantOnly('user.list'),
  'user password': {
    name: 'user.password',
    options: ['tenant', 'email', 'password-stdin'],
    args: async (v, stdin) => defined({ tenant: v.tenant, email: v.email, password: await secretFromStdin(v['password-stdin'], stdin) }),
  },
  'key create': {
    name: 'key.create',
    options: ['tenant', 'name', 'scopes', 'tools', 'expires', 'user'],
    args: (v) =>
      defined({
        tenant: v.tenant,
        name: v.name,
        scopes: v.scopes?.split(',').map((s) => s.trim()),
        tools: v.tools?.split(',').map((s) => s.trim()),
        expires: v.expires,
        user: v.user,
      }),
  },
  'key list': tenantOnly('key.list'),
  'key revoke': { ...tenantOnly('key.revoke'), target: KEY },
  'key rotate': { name: 'key.rotate', options: ['tenant', 'grace'], target: KEY, args: (v) => defined({ tenant: v.tenant, grace: v.grace }) },
  'server create': {
    name: 'server.create',
    options: ['tenant', 'slug', 'kind', 'config', 'secret', 'secret-stdin'],
    args: async (v, stdin) =>
      defined({
        tenant: v.tenant,
        slug: v.slug,
        kind: v.kind,
        config: v.config === undefined ? undefined : parseJsonOption('--config', v.config),
        secrets: await secretsOf(v, stdin),
      }),
  },
  'server list': tenantOnly('server.list'),
  'server status': { ...tenantOnly('server.status', ['slug']), target: SERVER },
  'server update': { name: 'server.update', options: ['tenant', 'slug', 'config', 'secret', 'secret-stdin', 'clear-secret'], target: SERVER, args: serverChange },
  'server delete': { ...tenantOnly('server.delete', ['slug']), target: SERVER },
  'bot create': {
    name: 'bot.create',
    options: ['tenant', 'slug', 'name', 'description', 'model', 'system', 'servers', 'bots', 'temperature', 'max-tokens', 'thinking-budget', 'anthropic-key-stdin'],
    args: async (v, stdin) =>
      defined({
        tenant: v.tenant,
        slug: v.slug,
        name: v.name,
        description: v.description,
        model: v.model,
        system: v.system,
        servers: splitList(v.servers),
        bots: splitList(v.bots),
        temperature: parseTemperature(v.temperature),
        max_tokens: wholeNumber('max-tokens', v['max-tokens']),
        thinking_budget: wholeNumber('thinking-budget', v['thinking-budget']),
        anthropic_api_key: await secretFromStdin(v['anthropic-key-stdin'], stdin),
      }),
  },
  'bot list': tenantOnly('bot.list'),
  'bot update': { name: 'bot.update', options: ['tenant', 'slug', ...BOT_CHANGES], target: BOT, args: botChange },
  'bot delete': { ...tenantOnly('bot.delete', ['slug']), target: BOT },
};

/** Refuses options `command` does not take: ignoring one (`key rotate --tools x`) would let a script believe it worked. */
export function refuseOtherOptions(command: string, values: Values, takes: readonly OptionName[]): void {
  const others = (Object.keys(values) as OptionName[]).filter(
    (option) => values[option] !== undefined && !takes.includes(option) && !GLOBAL_OPTIONS.includes(option),
  );
  if (others.length > 0) throw new UsageError(`${command} does not take ${others.map((option) => `--${option}`).join(', ')}`);
}

/** The target from the words after the command, or from --slug where it may stand there. */
function targetOf(command: string, target: Target, words: string[], values: Values): string {
  const bySlug = target.orSlug ? values.slug : undefined;
  if (words.length === 1 && (bySlug === undefined || bySlug === words[0])) return words[0] ?? '';
  if (words.length === 0 && bySlug !== undefined) return bySlug;
  throw new UsageError(`${command} takes exactly one ${target.label}`);
}

/** Maps `noun verb` plus options (and `stdin` where one reads it) to an operator command and its arguments. */
export async function toCommand(
  words: string[],
  values: Values,
  stdin: CliIo['stdin'],
): Promise<{ name: OperatorCommandName; args: Record<string, unknown>; options: readonly OptionName[] }> {
  const [noun, verb, ...rest] = words;
  const command = `${noun ?? ''} ${verb ?? ''}`;
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!spec) throw new UsageError(`unknown command: ${words.join(' ') || '(none)'}`);
  refuseOtherOptions(command, values, spec.options);
  if (!spec.target && rest.length > 0) throw new UsageError(`${command} takes no words besides its options, got "${rest[0] ?? ''}"`);
  const target = spec.target && { [spec.target.field]: targetOf(command, spec.target, rest, values) };
  return { name: spec.name, args: { ...(await spec.args(values, stdin)), ...target }, options: spec.options };
}
