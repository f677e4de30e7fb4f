import type { OperatorCommandName } from '../gateway/index.ts';

interface KeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  replaced_by?: string | null;
  secret?: string;
}

interface ServerView {
  id: string;
  slug: string;
  kind: string;
  config: unknown;
  secrets: Record<string, string>;
}

interface BotView {
  id: string;
  slug: string;
  name: string;
  model: string;
  priced: boolean;
  suggested_model: string | null;
  temperature: number | null;
  max_tokens: number;
  thinking_budget: number | null;
  servers: Array<{ slug: string; tools?: string[] }>;
  bots: string[];
  anthropic_api_key: 'set' | null;
}

interface TenantView {
  id: string;
  slug: string;
  name: string;
  created_at: string;
}

interface MemberView {
  user_id: string;
  email: string;
  role: string;
}

/** A server's config and which secrets it has, as `server list` shows them. */
function serverSettings(server: ServerView): string {
  return [JSON.stringify(server.config), Object.keys(server.secrets).map((n) => `${n}=set`).join(',')].join('\t');
}

/**
 * A bot's settings as `bot update` shows them: its description and system
 * prompt, often long, are left to --json; its own Anthropic key only as set.
 */
function botSettings(bot: BotView): string {
  const servers = bot.servers.map((s) => (s.tools ? `${s.slug}[${s.tools.join(',')}]` : s.slug)).join(',');
  return [
    `name ${JSON.stringify(bot.name)}`,
    `model ${bot.model}`,
    `temperature ${bot.temperature ?? 'default'}`,
    `max tokens ${bot.max_tokens}`,
    `thinking ${bot.thinking_budget === null ? 'off' : `budget ${bot.thinking_budget}`}`,
    `servers ${servers || 'none'}`,
    `bots ${bot.bots.join(',') || 'none'}`,
    bot.anthropic_api_key === null ? 'no Anthropic API key of its own' : 'own Anthropic API key set',
  ].join(', ');
}

const unpricedWarning = (bot: BotView) =>
  `warning: ${bot.model} is not in the price table; its usage will be recorded unpriced${bot.suggested_model ? ` (did you mean ${bot.suggested_model}?)` : ''}`;

function keyStatus(key: KeyView): string {
  if (key.revoked_at) return 'revoked';
  if (key.expires_at && new Date(key.expires_at) <= new Date()) return 'expired';
  if (key.replaced_by) return `rotated to ${key.replaced_by}${key.expires_at ? `, works until ${key.expires_at}` : ''}`;
  return key.expires_at ? `expires ${key.expires_at}` : 'active';
}

/**
 * What a deletion took its server or bot out of, as the end of its line:
 * `; taken out of bots notes, helper and keys laptop (id), ci (id)`; nothing when
 * nothing named it (or a gateway too old to say).
 */
function detachedFrom(detached: unknown): string {
  const { bots = [], keys = [] } = (detached ?? {}) as { bots?: string[]; keys?: Array<{ id: string; name: string }> };
  const parts = [
    ...(bots.length > 0 ? [`${bots.length === 1 ? 'bot' : 'bots'} ${bots.join(', ')}`] : []),
    ...(keys.length > 0 ? [`${keys.length === 1 ? 'key' : 'keys'} ${keys.map((key) => `${key.name} (${key.id})`).join(', ')}`] : []),
  ];
  return parts.length === 0 ? '' : `; taken out of ${parts.join(' and ')}`;
}

/** Human-readable output of an operator command; `--json` prints the raw result instead. */
export function formatResult(name: OperatorCommandName, result: unknown): string {
  const r = result as Record<string, unknown>;
  switch (name) {
    case 'tenant.create': {
      const tenant = r['tenant'] as { slug: string; id: string };
      return `created tenant ${tenant.slug} (${tenant.id})`;
    }
    case 'tenant.list': {
      const tenants = r['tenants'] as TenantView[];
      if (tenants.length === 0) return 'no tenants';
      return tenants.map((t) => [t.slug, t.name, t.id, t.created_at].join('\t')).join('\n');
    }
    case 'user.list': {
      const members = r['members'] as MemberView[];
      if (members.length === 0) return `no members in ${String(r['tenant'])}`;
      return members.map((m) => [m.email, m.role, m.user_id].join('\t')).join('\n');
    }
    case 'user.password': {
      const user = r['user'] as { email: string; id: string };
      const lines = [`set a new password for ${user.email} (${user.id}); their sessions have ended`];
      if (typeof r['password'] === 'string') lines.push(`password (shown once, store it now): ${r['password']}`);
      return lines.join('\n');
    }
    case 'user.create': {
      const user = r['user'] as { email: string; id: string };
      const lines = [`added ${user.email} (${user.id}) to ${String(r['tenant'])} as ${String(r['role'])}`];
      if (typeof r['password'] === 'string') {
        lines.push(`password (shown once, store it now): ${r['password']}`);
      }
      return lines.join('\n');
    }
    case 'key.create': {
      const key = r['key'] as KeyView;
      return [
        `created key "${key.name}" ${key.id} for ${String(r['tenant'])} with scopes ${key.scopes.join(',')} (${keyStatus(key)})`,
        'the key is shown once, store it now:',
        key.secret ?? '',
      ].join('\n');
    }
    case 'key.list': {
      const keys = r['keys'] as KeyView[];
      if (keys.length === 0) return `no keys in ${String(r['tenant'])}`;
      return keys
        .map((k) => [k.id, k.prefix, k.name, k.scopes.join(','), keyStatus(k), k.last_used_at ?? 'never used'].join('\t'))
        .join('\n');
    }
    case 'key.revoke': {
      const key = r['key'] as KeyView;
      return `revoked key "${key.name}" ${key.id}`;
    }
    case 'key.rotate': {
      const key = r['key'] as KeyView;
      const previous = r['previous'] as KeyView;
      const until = previous.expires_at && new Date(previous.expires_at) > new Date() ? `keeps working until ${previous.expires_at}` : 'no longer works';
      return [
        `rotated key "${key.name}": the new key is ${key.id} with scopes ${key.scopes.join(',')} (${keyStatus(key)}); the old one, ${previous.id}, ${until}`,
        'the new key is shown once, store it now:',
        key.secret ?? '',
      ].join('\n');
    }
    case 'server.create': {
      const server = r['server'] as ServerView;
      return `created ${server.kind} server ${server.slug} (${server.id}) in ${String(r['tenant'])}`;
    }
    case 'server.list': {
      const servers = r['servers'] as ServerView[];
      if (servers.length === 0) return `no servers in ${String(r['tenant'])}`;
      return servers.map((s) => [s.slug, s.kind, serverSettings(s)].join('\t')).join('\n');
    }
    case 'server.update': {
      const server = r['server'] as ServerView;
      const secrets = Object.keys(server.secrets).map((n) => `${n}=set`);
      return `updated ${server.kind} server ${server.slug} in ${String(r['tenant'])}: config ${JSON.stringify(server.config)}, secrets ${secrets.join(',') || 'none'}`;
    }
    case 'server.delete': {
      const server = r['server'] as ServerView;
      return `deleted ${server.kind} server ${server.slug} (${server.id}) from ${String(r['tenant'])}${detachedFrom(r['detached'])}`;
    }
    case 'server.status': {
      const status = r['status'] as {
        state: string;
        tools: number;
        awaiting_approval: number;
        duration_ms: number;
        error?: string;
        withheld?: { summary: string };
        storage?: { used_bytes: number; limit_bytes: number };
      };
      const server = `${String(r['server'])} in ${String(r['tenant'])}`;
      if (status.error !== undefined) return `${server}: ${status.state}: ${status.error}`;
      const held = status.awaiting_approval > 0 ? ` (${status.awaiting_approval} changed, awaiting approval)` : '';
      const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
      const { storage } = status;
      const area = storage ? `; the tenant's area holds ${mib(storage.used_bytes)} of its ${mib(storage.limit_bytes)} quota` : '';
      const withheld = status.withheld ? `; ${status.withheld.summary}` : '';
      return `${server}: ${status.state}, ${status.tools === 1 ? '1 tool' : `${status.tools} tools`}${held}, listed in ${status.duration_ms} ms${area}${withheld}`;
    }
    case 'bot.create': {
      const bot = r['bot'] as BotView;
      const ownKey = bot.anthropic_api_key === null ? '' : ', with its own Anthropic API key';
      const lines = [`created bot ${bot.slug} (${bot.id}) in ${String(r['tenant'])} using ${bot.model}${ownKey}`];
      if (!bot.priced) lines.push(unpricedWarning(bot));
      return lines.join('\n');
    }
    case 'bot.update': {
      const bot = r['bot'] as BotView;
      const lines = [`updated bot ${bot.slug} in ${String(r['tenant'])}: ${botSettings(bot)}`];
      if (!bot.priced) lines.push(unpricedWarning(bot));
      return lines.join('\n');
    }
    case 'bot.list': {
      const bots = r['bots'] as BotView[];
      if (bots.length === 0) return `no bots in ${String(r['tenant'])}`;
      return bots
        .map((b) => [b.slug, b.priced ? b.model : `${b.model} (unpriced)`, b.servers.map((s) => s.slug).join(','), b.bots.join(',')].join('\t'))
        .join('\n');
    }
    case 'bot.delete': {
      const bot = r['bot'] as BotView;
      return `deleted bot ${bot.slug} (${bot.id}) from ${String(r['tenant'])}${detachedFrom(r['detached'])}`;
    }
    default:
      return JSON.stringify(result);
  }
}

/**
 * What the user should know about a result that is no error, for stderr. `via`
 * says whose configuration the command saw: the running gateway's, or (on the
 * database directly) this process's own environment.
 */
export function warningsOf(name: OperatorCommandName, result: unknown, via: 'database' | 'gateway'): string[] {
  const r = result as Record<string, unknown>;
  if ((name !== 'bot.create' && name !== 'bot.update') || r['can_answer'] !== false) return [];
  const slug = (r['bot'] as BotView).slug;
  const own = `give the bot a key of its own: botgate bot update --tenant ${String(r['tenant'])} ${slug} --anthropic-key-stdin, with the key on stdin`;
  return [
    via === 'gateway'
      ? `bot ${slug} cannot answer: it has no Anthropic API key of its own, and the gateway has no ANTHROPIC_API_KEY; ` +
        `set ANTHROPIC_API_KEY for the gateway and restart it, or ${own}`
      : `bot ${slug} cannot answer unless the gateway serving it has ANTHROPIC_API_KEY: it has no Anthropic API key of its own, ` +
        `and ANTHROPIC_API_KEY is not set for this command; set it for the gateway, or ${own}`,
  ];
}
