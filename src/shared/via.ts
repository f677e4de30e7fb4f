import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';

/**
 * The tenants a request has come through, gateway to remote server to
 * gateway: each remote server's request carries the chain so far plus the
 * tenant whose server it is. A request reaching a tenant already on its
 * chain went round a loop (a remote server leading back to the gateway) and
 * is refused, as is one with more than `MAX_VIA` tenants on it.
 */
export const VIA_HEADER = 'botgate-via';
export const MAX_VIA = 8;

/** The chain a request came with, and the tenant serving it. */
export interface Via {
  incoming: readonly string[];
  tenant: string;
}

const ENTRY = /^[0-9a-f]{16}$/;
const current = new AsyncLocalStorage<Via>();

/** A tenant's entry on a chain: stable, and naming nothing to the servers that see it. */
export function viaEntry(tenantId: string): string {
  return createHash('sha256').update(`botgate-via:${tenantId}`).digest('hex').slice(0, 16);
}

/** The chain in a request's header; entries of another shape are not ours and are dropped. */
export function parseVia(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => ENTRY.test(entry));
}

/** Runs `fn` as serving a request that came with `via`. */
export function runVia<T>(via: Via, fn: () => T): T {
  return current.run(via, fn);
}

/** The header a remote server's request carries, when made while serving a request: the chain so far and this tenant. */
export function outgoingVia(): string | undefined {
  const via = current.getStore();
  return via && [...via.incoming, via.tenant].join(',');
}

/** The chain the request being served came with, for calls back into this gateway on its behalf (a bot's tools). */
export function incomingVia(): string | undefined {
  const via = current.getStore();
  return via && via.incoming.length > 0 ? via.incoming.join(',') : undefined;
}
