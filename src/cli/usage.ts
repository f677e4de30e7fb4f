/** A mistake in how the command line was written: exits 2, pointing at the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One command and its lines in the help text, continuation lines indented under its first. */
interface CommandUsage {
  command: string;
  usage: string;
}

const COMMANDS: readonly CommandUsage[] = [
  { command: 'serve', usage: 'serve                                   run the gateway (PORT, DATA_DIR, DATABASE_URL, ...)' },
  { command: 'migrate', usage: 'migrate                                 apply database migrations' },
  { command: 'tenant create', usage: 'tenant create <slug> [--name <name>]' },
  { command: 'tenant list', usage: 'tenant list' },
  { command: 'user create', usage: 'user create --tenant <slug> --email <email> --role owner|admin|member|auditor [--password-stdin]' },
  { command: 'user list', usage: 'user list --tenant <slug>   (members and their roles)' },
  {
    command: 'user password',
    usage: `user password --tenant <slug> --email <email> [--password-stdin]   (a new password for a member who lost theirs,
              generated and shown once unless given; their sessions end, and they choose their own when joining another tenant)`,
  },
  {
    command: 'key create',
    usage: `key create --tenant <slug> --name <name> --scopes mcp,admin,read [--expires 30d] [--user <email>]
           [--tools files,gh__list_issues,bot__notes]   (restrict the key to these servers, tools or bots;
           each server or bot must exist in the tenant)`,
  },
  { command: 'key list', usage: 'key list --tenant <slug>' },
  { command: 'key revoke', usage: 'key revoke --tenant <slug> <key-id>' },
  {
    command: 'key rotate',
    usage: `key rotate --tenant <slug> <key-id> [--grace 24h]   (a new key with the same name, scopes and tools, shown once;
           the old one keeps working for --grace, 24h unless given, 0s to end it now)`,
  },
  {
    command: 'server create',
    usage: `server create --tenant <slug> --slug <server> --kind filesystem|github|database|remote|stdio
              [--config '<json>'] [--secret NAME=VALUE ...] [--secret-stdin NAME]
              (--secret-stdin reads that secret's value from stdin, kept out of process lists and shell histories)`,
  },
  { command: 'server list', usage: 'server list --tenant <slug>' },
  {
    command: 'server status',
    usage: `server status --tenant <slug> <server>   (does it work? lists its tools, tries its upstream or credentials;
              exits 1 when the server is unavailable)`,
  },
  {
    command: 'server update',
    usage: `server update --tenant <slug> <server> [--config '<json>'] [--secret NAME=VALUE ...] [--secret-stdin NAME] [--clear-secret NAME ...]
              (--config replaces the whole config; --secret sets or replaces one secret, --secret-stdin one read from stdin,
              --clear-secret removes one, the others are kept)`,
  },
  { command: 'server delete', usage: 'server delete --tenant <slug> <server>' },
  {
    command: 'bot create',
    usage: `bot create --tenant <slug> --slug <bot> --model <model> --system <text>
           --description <text for the calling model> [--name <name>] [--servers a,b] [--bots x,y]
           [--temperature N] [--max-tokens N] [--thinking-budget N]   (extended thinking; below --max-tokens)
           [--anthropic-key-stdin]   (the bot's own Anthropic API key, read from stdin)`,
  },
  { command: 'bot list', usage: 'bot list --tenant <slug>' },
  {
    command: 'bot update',
    usage: `bot update --tenant <slug> <bot> [--name <name>] [--description <text>] [--model <model>] [--system <text>]
           [--temperature N|default] [--max-tokens N] [--thinking-budget N|off] [--servers a,b] [--bots x,y]
           [--anthropic-key-stdin | --clear-anthropic-key]
           (changes only what is given; --servers and --bots replace the lists, --servers '' and --bots '' empty them,
           and a server that stays attached keeps its tool allow-list; --anthropic-key-stdin reads the bot's own
           Anthropic API key from stdin, --clear-anthropic-key removes it, leaving the gateway's ANTHROPIC_API_KEY)`,
  },
  { command: 'bot delete', usage: 'bot delete --tenant <slug> <bot>' },
];

const FOOTER = `Every command takes --json for machine-readable output.
botgate --version prints the version; botgate help <command> or botgate <command> --help, that command's usage.`;

/** The help text of every command. */
export function globalUsage(): string {
  const lines = COMMANDS.map((c) => `  ${c.usage}`).join('\n');
  return `Usage: botgate <command> [options]\n\n${lines}\n\n${FOOTER}`;
}

/** The commands `words` name: one (`server create`) or a group (`server`). */
function commandsFor(words: readonly string[]): CommandUsage[] {
  const asked = words.join(' ');
  return COMMANDS.filter((c) => c.command === asked || c.command.startsWith(`${asked} `));
}

/** The command the first words of a command line name (`key revoke` of `key revoke --tenant a <id>`), if any. */
export function knownCommand(words: readonly string[]): string | undefined {
  for (const count of [2, 1]) {
    const asked = words.slice(0, count).join(' ');
    if (COMMANDS.some((c) => c.command === asked)) return asked;
  }
  return undefined;
}

/** `usage` with its continuation lines moved `by` columns right, to stay under its first line. */
function indent(usage: string, by: number): string {
  return usage.replaceAll('\n', `\n${' '.repeat(by)}`);
}

/** Help for the command or group that `words` name; a UsageError for none. */
export function commandUsage(words: readonly string[]): string {
  // `key revoke <key-id> --help` is about `key revoke`: words past the command are its arguments.
  const matches = words.length === 0 ? [] : commandsFor(knownCommand(words)?.split(' ') ?? words);
  if (matches.length === 0) throw new UsageError(`unknown command: ${words.join(' ') || '(none)'}`);
  // Continuation lines are aligned for the global help's two-space margin.
  const body =
    matches.length === 1
      ? `Usage: botgate ${indent(matches[0]?.usage ?? '', 'Usage: botgate '.length - 2)}`
      : ['Usage:', ...matches.map((c) => `  botgate ${indent(c.usage, 'botgate '.length)}`)].join('\n');
  return `${body}\n\nEvery command takes --json for machine-readable output.`;
}

/** How `command`'s usage writes `--option`'s value (`<slug>`, `owner|admin`), if it names it. */
export function optionPlaceholder(command: string, option: string): string | undefined {
  const usage = COMMANDS.find((c) => c.command === command)?.usage;
  return usage && new RegExp(`--${option} (<[^>]*>|[^\\s\\]]+)`).exec(usage)?.[1];
}
