import {
  Client,
  StreamableHTTPClientTransport,
  type McpSubscription,
  type ServerCapabilities,
  type SubscriptionFilter,
} from '@modelcontextprotocol/client';
import { pollUntil } from './gateway-process.ts';

/** The change notifications a listener can receive. */
export const TOOLS = 'notifications/tools/list_changed';
export const PROMPTS = 'notifications/prompts/list_changed';
export const RESOURCES = 'notifications/resources/list_changed';

const EVERY_LIST: SubscriptionFilter = { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true };

/** A v2 client (`auto` mode, so 2026-07-28 on the gateway) holding a `subscriptions/listen` stream open. */
export interface McpListener {
  /** Change notifications received so far, by method, in order of arrival. */
  readonly received: readonly string[];
  /** URIs of the `notifications/resources/updated` received so far, in order of arrival. */
  readonly updates: readonly string[];
  /** What the gateway agreed to deliver. */
  readonly honored: SubscriptionFilter;
  capabilities(): ServerCapabilities | undefined;
  /** `tools/list` through the same client; its cached list is dropped when a change arrives. */
  listToolNames(): Promise<string[]>;
  /** Waits (generously) until `method` has arrived `times` times in all. */
  waitFor(method: string, times?: number): Promise<void>;
  /** Waits (generously) until `uri` has been updated `times` times in all. */
  waitForUpdate(uri: string, times?: number): Promise<void>;
  /** How the subscription ended, once it has. */
  readonly closed: Promise<'local' | 'graceful' | 'remote'>;
  close(): Promise<void>;
}

/** Connects to `url` with `key` and listens for changes to every list (by default). */
export async function openListener(url: string, key: string, filter: SubscriptionFilter = EVERY_LIST): Promise<McpListener> {
  const client = new Client({ name: 'e2e-listener', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  const received: string[] = [];
  for (const method of [TOOLS, PROMPTS, RESOURCES] as const) {
    client.setNotificationHandler(method, () => {
      received.push(method);
    });
  }
  const updates: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', ({ params }) => {
    updates.push(params.uri);
  });
  const count = (list: readonly string[], item: string) => list.filter((x) => x === item).length;
  const subscription: McpSubscription = await client.listen(filter);
  return {
    received,
    updates,
    honored: subscription.honoredFilter,
    capabilities: () => client.getServerCapabilities(),
    listToolNames: async () => (await client.listTools()).tools.map((tool) => tool.name).sort(),
    waitFor: (method, times = 1) =>
      pollUntil(`${times} × ${method} on ${url}`, async () => (count(received, method) >= times ? true : undefined)).then(() => undefined),
    waitForUpdate: (uri, times = 1) =>
      pollUntil(`${times} × update of ${uri} on ${url}`, async () => (count(updates, uri) >= times ? true : undefined)).then(() => undefined),
    closed: subscription.closed,
    async close() {
      await subscription.close();
      await client.close();
    },
  };
}
