import type { Client } from '@modelcontextprotocol/client';
import type { ToolCallOutcome, ToolSource } from '../tool-source.ts';
import type { RemoteSource } from './proxy-source.ts';
import type { ResourceWatches, SubscribeOnConnection } from './resource-watch.ts';

/**
 * How resource watches subscribe on one client's connection:
 * `resources/subscribe` on a 2025-era session (updates arrive on its stream),
 * a `subscriptions/listen` stream per URI on a 2026-era one. Nothing when the
 * upstream does not offer subscriptions.
 */
export function subscribeOnClient(client: Client, timeoutMs: number): SubscribeOnConnection {
  return async (uri, lost) => {
    if (!client.getServerCapabilities()?.resources?.subscribe) return undefined;
    if (client.getProtocolEra() === 'legacy') {
      await client.subscribeResource({ uri }, { timeout: timeoutMs });
      return async () => {
        await client.unsubscribeResource({ uri }, { timeout: timeoutMs });
      };
    }
    const subscription = await client.listen({ resourceSubscriptions: [uri] }, { timeout: timeoutMs });
    if (!subscription.honoredFilter.resourceSubscriptions?.includes(uri)) {
      await subscription.close();
      return undefined;
    }
    void subscription.closed.then((how) => how !== 'local' && lost());
    return () => subscription.close();
  };
}

/** Hands the client's `notifications/resources/updated` (from either era) to the watches. */
export function relayResourceUpdates(client: Client, watches: Pick<ResourceWatches, 'deliver'>): void {
  client.setNotificationHandler('notifications/resources/updated', ({ params }) => watches.deliver(params));
}

/**
 * A proxy whose upstream's resources can be watched: watching is in use (its
 * pool must not close it as idle), and closing it ends every watch.
 */
export function withResourceWatches<S extends ToolSource<ToolCallOutcome>>(source: S, watches: ResourceWatches): S & Required<Pick<RemoteSource, 'watchResource' | 'inUse'>> {
  return {
    ...source,
    watchResource: (uri, listener) => watches.watch(uri, listener),
    inUse: () => watches.active,
    async close() {
      watches.close();
      await source.close();
    },
  };
}
