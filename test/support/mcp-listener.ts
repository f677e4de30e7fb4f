import {
  Client,
  StreamableHTTPClientTransport,
  type McpSubscription,
  type ServerCapabilities,
  type SubscriptionFilter,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
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

/** A v1 client (2025-era) connected to an endpoint, hearing list changes on the GET stream it opens itself. */
export interface LegacyMcpListener {
  /** Change notifications received so far, by method, in order of arrival. */
  readonly received: readonly string[];
  /** GET streams the client has had answered with 200: the first, then each one it opened again after one ended. */
  streamsOpened(): number;
  capabilities(): ReturnType<V1Client['getServerCapabilities']>;
  listToolNames(): Promise<string[]>;
  /** Waits (generously) until `method` has arrived `times` times in all. */
  waitFor(method: string, times?: number): Promise<void>;
  close(): Promise<void>;
}

/** Connects the v1 client to `url` with `key`; resolves once its GET stream is open, so that no change is missed. */
export async function openLegacyListener(url: string, key: string): Promise<LegacyMcpListener> {
  let opened = 0;
  // The client opens its stream on its own after the handshake; its fetch tells when the gateway answered it.
  const countingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (init?.method === 'GET' && response.ok) opened += 1;
    return response;
  };
  const client = new V1Client({ name: 'e2e-legacy-listener', version: '1.0.0' });
  const received: string[] = [];
  const schemas = { [TOOLS]: ToolListChangedNotificationSchema, [PROMPTS]: PromptListChangedNotificationSchema, [RESOURCES]: ResourceListChangedNotificationSchema };
  for (const [method, schema] of Object.entries(schemas)) {
    client.setNotificationHandler(schema, () => {
      received.push(method);
    });
  }
  await client.connect(new V1Transport(new URL(url), { fetch: countingFetch, requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  await pollUntil(`the v1 client's GET stream on ${url}`, async () => (opened > 0 ? true : undefined));
  const count = (method: string) => received.filter((x) => x === method).length;
  return {
    received,
    streamsOpened: () => opened,
    capabilities: () => client.getServerCapabilities(),
    listToolNames: async () => (await client.listTools()).tools.map((tool) => tool.name).sort(),
    waitFor: (method, times = 1) => pollUntil(`${times} × ${method} on ${url}`, async () => (count(method) >= times ? true : undefined)).then(() => undefined),
    close: () => client.close(),
  };
}

/** A 2025-era GET stream read by hand: the events so far, and how it ended. */
export interface RawEventStream {
  readonly status: number;
  readonly events: ReadonlyArray<{ id?: string; data: string }>;
  /** `ended` when the gateway ended the stream, `broken` when the connection failed, `local` after `close`. */
  readonly ended: Promise<'ended' | 'broken' | 'local'>;
  close(): void;
}

/**
 * Opens a GET event stream on `url` as a 2025-11-25 client would after its handshake (with a session id),
 * with `headers` on top; a header given as undefined is left out.
 */
export async function openRawEventStream(url: string, key: string, headers: Record<string, string | undefined> = {}): Promise<RawEventStream> {
  const controller = new AbortController();
  const given = { authorization: `Bearer ${key}`, accept: 'text/event-stream', 'mcp-protocol-version': '2025-11-25', 'mcp-session-id': 'e2e-session', ...headers };
  const response = await fetch(url, {
    headers: Object.fromEntries(Object.entries(given).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    signal: controller.signal,
  });
  const events: Array<{ id?: string; data: string }> = [];
  const read = async (): Promise<'ended' | 'broken' | 'local'> => {
    if (!response.body) return 'ended';
    let text = '';
    try {
      for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
        text += chunk;
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const lines = text.slice(0, end).split('\n');
          text = text.slice(end + 2);
          const field = (name: string) => lines.find((line) => line.startsWith(`${name}:`))?.slice(name.length + 1).trim();
          const data = field('data');
          if (data !== undefined) events.push({ ...(field('id') !== undefined && { id: field('id') }), data });
        }
      }
      return 'ended';
    } catch {
      return controller.signal.aborted ? 'local' : 'broken';
    }
  };
  return { status: response.status, events, ended: read(), close: () => controller.abort() };
}
