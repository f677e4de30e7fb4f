import { operatorCommandSchemas, type OperatorCommandName } from '../gateway/index.ts';
import { optionPlaceholder, UsageError } from './usage.ts';

/** Fields that do not take their option's name with dashes for underscores. */
const OPTION_OF_FIELD: Readonly<Record<string, string>> = {
  secrets: 'secret',
  password: 'password-stdin',
  anthropic_api_key: 'anthropic-key-stdin',
  // The bot services' name for what --system gives.
  system_prompt: 'system',
};

/** Fields given as words after the command rather than as options; the command checks their presence itself. */
const POSITIONAL: Readonly<Partial<Record<OperatorCommandName, string>>> = {
  'tenant.create': 'slug',
  'key.revoke': 'id',
  'key.rotate': 'id',
  'server.update': 'slug',
  'server.delete': 'slug',
  'bot.update': 'slug',
  'bot.delete': 'slug',
};

/** Values to show where the usage writes every choice (`mcp,admin,read`) rather than a placeholder. */
const EXAMPLES: Readonly<Record<string, string>> = { scopes: 'mcp,admin' };

/** The option that gives `field`. */
const optionOf = (field: string) => OPTION_OF_FIELD[field] ?? field.replaceAll('_', '-');

/** Why one option is missing or refused, in the command line's words. */
function describeIssue(
  command: string,
  args: Record<string, unknown>,
  issue: { code: string; path: readonly PropertyKey[]; message: string; values?: readonly unknown[] },
): string {
  const field = String(issue.path[0]);
  const option = optionOf(field);
  if (args[field] === undefined) {
    const example = EXAMPLES[option];
    if (example !== undefined) return `missing --${option} (for example --${option} ${example})`;
    const placeholder = optionPlaceholder(command, option);
    return `missing --${option}${placeholder === undefined ? '' : ` ${placeholder}`}`;
  }
  if (issue.code === 'invalid_value' && issue.values) {
    // The value refused, e.g. the second of `--scopes mcp,owner`.
    const value = issue.path.slice(1).reduce<unknown>((at, key) => (at as Record<PropertyKey, unknown>)[key], args[field]);
    return `--${option}: ${JSON.stringify(value)} is not one of ${issue.values.join(', ')}`;
  }
  const inner = issue.path.slice(1).join('.');
  return `--${option}${inner ? ` (${inner})` : ''}: ${issue.message}`;
}

/**
 * Checks the arguments made from the options against the command's input
 * schema, the one the gateway applies, so that a missing or refused option is
 * named as the user wrote it (`missing --tenant <slug>`), not as a field of
 * the API input; and before anything is opened. Positional words (the new
 * tenant's slug, a key id) and what only the services check (that the tenant
 * exists, a server's config) are left to the gateway, which names the field.
 */
export function checkOptions(name: OperatorCommandName, args: Record<string, unknown>): void {
  const result = operatorCommandSchemas[name].safeParse(args);
  if (result.success) return;
  const command = name.replace('.', ' ');
  const problems = result.error.issues
    .filter((issue) => issue.path.length > 0 && issue.path[0] !== POSITIONAL[name])
    .map((issue) => describeIssue(command, args, issue));
  if (problems.length > 0) throw new UsageError([...new Set(problems)].join('; '));
}

// A field named in a reason: snake_case, so that words of the reason's English are not taken for fields.
const FIELD_IN_REASON = /\b[a-z]+(?:_[a-z]+)+\b/g;

/** A reason naming another field the command's options give (`must be less than max_tokens`) names that option instead. */
function othersInOptionWords(reason: string, takes: readonly string[]): string {
  return reason.replaceAll(FIELD_IN_REASON, (field) => (takes.includes(optionOf(field)) ? `--${optionOf(field)}` : field));
}

// A field's refusal as the services word it: `servers.0.slug: must be ...`.
const FIELD_REFUSAL = /^([a-z_]+)((?:\.[A-Za-z0-9_-]+)*): ([\s\S]+)$/;

/**
 * A service's refusal of a field an option of the command gives (`takes`),
 * in the command line's words: `servers.0.slug: no server "x"` becomes
 * `--servers "x": no server "x"` (the list entry as written),
 * `config.roots.0: ...` becomes `--config (roots.0): ...`, and
 * `secrets.token: required` without --secret `--secret (token): required`;
 * another field the reason names is named as its option too
 * (`--thinking-budget: must be less than --max-tokens (4096)`).
 * Any other message is returned as it is.
 */
export function inOptionWords(name: OperatorCommandName, takes: readonly string[], args: Record<string, unknown>, message: string): string {
  const [, field = '', rest = '', said = ''] = FIELD_REFUSAL.exec(message) ?? [];
  const option = optionOf(field);
  if (field === '' || field === POSITIONAL[name] || !takes.includes(option)) return message;
  const reason = othersInOptionWords(said, takes);
  const path = rest.split('.').filter((part) => part !== '');
  const value = args[field];
  if (Array.isArray(value) && /^\d+$/.test(path[0] ?? '')) {
    const entry: unknown = value[Number(path[0])];
    const written = typeof entry === 'string' ? entry : (entry as { slug?: unknown } | undefined)?.slug;
    if (typeof written === 'string') return `--${option} ${JSON.stringify(written)}: ${reason}`;
  }
  return `--${option}${path.length > 0 ? ` (${path.join('.')})` : ''}: ${reason}`;
}
