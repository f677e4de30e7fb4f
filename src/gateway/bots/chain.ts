import { slugSchema } from '../../tenancy/index.ts';

/** Where a bot-to-bot call carries its call chain: `_meta` of `tools/call`. */
export const CHAIN_META_KEY = 'io.botgate/chain';

const MAX_CHAIN = 32;

/**
 * The call chain a request's `_meta` claims, or [] when it carries none or
 * something malformed. A claimed chain can only make the gateway refuse more
 * (cycles, depth): the gateway's own calls also bind the chain to their run
 * credential, which a caller cannot shorten.
 */
export function chainFromMeta(meta: Record<string, unknown> | undefined): string[] {
  const claimed = meta?.[CHAIN_META_KEY];
  if (!Array.isArray(claimed) || claimed.length > MAX_CHAIN) return [];
  return claimed.every((slug) => slugSchema.safeParse(slug).success) ? (claimed as string[]) : [];
}

/** Both chains of one call in one: the bound chain first, then what the claim adds. */
export function mergeChains(bound: readonly string[], claimed: readonly string[]): string[] {
  return [...bound, ...claimed.filter((slug) => !bound.includes(slug))];
}
