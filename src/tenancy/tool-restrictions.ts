/**
 * Tool restrictions of API keys: pure functions over `{server}` / `{server}__{tool}` entries.
 * null is no restriction; an empty list reaches nothing (what is left of a restriction once
 * everything it named was deleted).
 */

const SEPARATOR = '__';

/** Whether a key restricted to `tools` (null: unrestricted) may use `tool` of `server`. */
export function mayUseTool(tools: readonly string[] | null, server: string, tool: string): boolean {
  return tools === null || tools.includes(server) || tools.includes(`${server}${SEPARATOR}${tool}`);
}

/** Whether a key restricted to `tools` may see anything of `server` at all. */
export function mayUseServer(tools: readonly string[] | null, server: string): boolean {
  return tools === null || tools.some((entry) => entry === server || entry.startsWith(`${server}${SEPARATOR}`));
}

/**
 * A restriction without its entries naming `server` or one of its tools, or, when `tool` is
 * given, without `{server}__{tool}` alone (a bot: `bot__{slug}`, leaving `bot`, all bots).
 */
export function withoutToolSource(tools: readonly string[], server: string, tool?: string): string[] {
  if (tool !== undefined) return tools.filter((entry) => entry !== `${server}${SEPARATOR}${tool}`);
  return tools.filter((entry) => entry !== server && !entry.startsWith(`${server}${SEPARATOR}`));
}

/** Entries of `wanted` that `held` does not cover: a key cannot grant more tools than it has. */
export function toolsBeyond(held: readonly string[] | null, wanted: readonly string[] | null): string[] {
  if (held === null) return [];
  if (wanted === null) return ['(all tools)'];
  return wanted.filter((entry) => {
    const at = entry.indexOf(SEPARATOR);
    return at < 0 ? !held.includes(entry) : !mayUseTool(held, entry.slice(0, at), entry.slice(at + SEPARATOR.length));
  });
}

/**
 * The entries allowed by both `held` (a key's restrictions; null: all) and
 * `wanted` (e.g. a bot's attachments): what a bot may use on behalf of a key.
 */
export function intersectTools(held: readonly string[] | null, wanted: readonly string[]): string[] {
  if (held === null) return [...wanted];
  const allowed = new Set<string>();
  for (const entry of wanted) {
    const at = entry.indexOf(SEPARATOR);
    if (at >= 0) {
      if (mayUseTool(held, entry.slice(0, at), entry.slice(at + SEPARATOR.length))) allowed.add(entry);
    } else if (held.includes(entry)) {
      allowed.add(entry);
    } else {
      for (const own of held) if (own.startsWith(`${entry}${SEPARATOR}`)) allowed.add(own);
    }
  }
  return [...allowed];
}

/**
 * Entries of a restriction that name nothing the tenant has: a server not among
 * `servers`, or a bot (`{botsNamespace}__{slug}`) not among `bots`. The bots
 * namespace alone stands for all bots. A `{server}__{tool}` entry is checked for
 * its server only: an upstream's tools are known only once it is reached.
 */
export function unknownToolSources(
  entries: readonly string[],
  known: { servers: readonly string[]; bots: readonly string[]; botsNamespace: string },
): string[] {
  return entries.filter((entry) => {
    const at = entry.indexOf(SEPARATOR);
    const source = at < 0 ? entry : entry.slice(0, at);
    if (source === known.botsNamespace) return at >= 0 && !known.bots.includes(entry.slice(at + SEPARATOR.length));
    return !known.servers.includes(source);
  });
}

/**
 * The servers and the bots (`{botsNamespace}__{slug}`) a restriction names, each once; the bots
 * namespace alone names no bot in particular.
 */
export function namedToolSources(entries: readonly string[], botsNamespace: string): { servers: string[]; bots: string[] } {
  const servers = new Set<string>();
  const bots = new Set<string>();
  for (const entry of entries) {
    const at = entry.indexOf(SEPARATOR);
    const source = at < 0 ? entry : entry.slice(0, at);
    if (source !== botsNamespace) servers.add(source);
    else if (at >= 0) bots.add(entry.slice(at + SEPARATOR.length));
  }
  return { servers: [...servers], bots: [...bots] };
}
