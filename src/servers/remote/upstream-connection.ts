import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Client, SdkHttpError, StreamableHTTPClientTransport, type ListChangedHandlers, type PriorDiscovery } from '@modelcontextprotocol/client';
import type { ListKind } from '../list-changes.ts';
import type { OutboundFetch, OutboundRequest } from '../outbound.ts';
import { checkingAnswers } from './checked-fetch.ts';
import { createDirectCall, type DirectCall } from './direct-call.ts';
import type { ResourceWatches } from './resource-watch.ts';
import { LenientListingClient, ListingTransport, type DroppedTool } from './tool-listing.ts';
import { isTimeout, UpstreamError } from './upstream-error.ts';
import { relayResourceUpdates, subscribeOnClient } from './watched-source.ts';

const CLIENT_INFO = { name: 'botgate', version: '0.1.0' };

/**
 * A cached legacy verdict never fails: an upgraded server still answers
 * `initialize`. Re-probe after this long so upgrades are noticed.
 */
const LEGACY_VERDICT_MS = 60 * 60_000;

/** How long closing waits for a 2025-era upstream to end its session. */
const TERMINATE_SESSION_MS = 1_000;

// Headers the transport manages; configured values must not override them.
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'accept', 'connection', 'transfer-encoding', 'last-event-id']);

/** What the source stores in the shared era cache, per upstream URL and credentials. */
interface EraVerdict {
  prior: PriorDiscovery;
  storedAt: number;
}

function isEraVerdict(value: unknown): value is EraVerdict {
  const prior = (value as Partial<EraVerdict> | undefined)?.prior;
  return (
    typeof (value as Partial<EraVerdict> | undefined)?.storedAt === 'number' &&
    (prior?.kind === 'legacy' || (prior?.kind === 'modern' && typeof prior.discover === 'object'))
  );
}

export interface UpstreamConnectionOptions {
  url: string;
  headers: Headers;
  /** Connects only to addresses the operator's policy allows (see `OutboundGuard`). */
  fetch: OutboundFetch;
  /** The same policy over node streams, for 2025-era tool calls (see `DirectCall`). */
  request: OutboundRequest;
  /** What `request`'s readers let one upstream message hold (`OutboundGuard.maxMessageBytes`). */
  maxMessageBytes: number;
  connectTimeoutMs: number;
  eraCache: Map<string, unknown> | undefined;
  /** Told when the upstream says one of its lists changed (over `subscriptions/listen`, or a 2025 session's stream). */
  onListsChanged?: ((lists: ListKind[]) => void) | undefined;
  /** Told of each connection that opens and closes, and of the resource updates arriving on it (see `ResourceWatches`). */
  watches?: Pick<ResourceWatches, 'connected' | 'disconnected' | 'deliver'> | undefined;
  /** Told of the invalid tools left out of a listing answer, which keeps the upstream's valid tools (see `LenientListingClient`). */
  onToolsDropped?: ((dropped: DroppedTool[]) => void) | undefined;
}

/** Changes arriving in a burst are told once. */
const LIST_CHANGED_DEBOUNCE_MS = 100;

/** Asks the client to relay the upstream's list changes; none when nobody listens. */
function listChangedHandlers(onListsChanged: UpstreamConnectionOptions['onListsChanged']): ListChangedHandlers | undefined {
  if (!onListsChanged) return undefined;
  // No refresh here: whoever is told lists again, through pinning.
  const relay = (kind: ListKind) => ({ autoRefresh: false, debounceMs: LIST_CHANGED_DEBOUNCE_MS, onChanged: () => onListsChanged([kind]) });
  return { tools: relay('tools'), prompts: relay('prompts'), resources: relay('resources') };
}

/** Tells `onListsChanged` of each kind once per burst, as the client's handlers do; for changes announced on direct calls' streams. */
function debouncedListChanges(onListsChanged: UpstreamConnectionOptions['onListsChanged']): ((lists: ListKind[]) => void) | undefined {
  if (!onListsChanged) return undefined;
  const pending = new Map<ListKind, NodeJS.Timeout>();
  return (lists) => {
    for (const kind of lists) {
      clearTimeout(pending.get(kind));
      const timer = setTimeout(() => {
        pending.delete(kind);
        onListsChanged([kind]);
      }, LIST_CHANGED_DEBOUNCE_MS);
      pending.set(kind, timer.unref());
    }
  };
}

/**
 * Opens `subscriptions/listen` for the lists the upstream says may change, as
 * the client does itself after probing. A refusal leaves the connection usable
 * without change notifications, as the client's own opening does.
 */
async function listenForChanges(client: Client, timeoutMs: number): Promise<void> {
  const advertised = client.getServerCapabilities();
  const filter = {
    ...(advertised?.tools?.listChanged && { toolsListChanged: true }),
    ...(advertised?.prompts?.listChanged && { promptsListChanged: true }),
    ...(advertised?.resources?.listChanged && { resourcesListChanged: true }),
  };
  if (Object.keys(filter).length === 0) return;
  await client.listen(filter, { timeout: timeoutMs }).catch((error: unknown) => client.onerror?.(error instanceof Error ? error : new Error(String(error))));
}

/** A live client and its transport. */
interface Connection {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** Tool calls that bypass the client, on a 2025-era session only. */
  directCall: DirectCall | undefined;
  /** Aborted when the connection closes, ending its direct calls. */
  lifetime: AbortController;
  /** Leases held and direct calls under way: a replaced connection closes once none are left. */
  calls: number;
  /** Replaced after a failure: no new call goes to it, and it closes once its calls are done. */
  retired: boolean;
}

/** A connection being established, and once it is, the connection. */
type Pending = PendingConnection<Connection>;

/** The connection a call runs on. */
export interface UpstreamLease {
  client: Client;
  /** True when this call started the connection. */
  fresh: boolean;
  /** Set on a 2025-era HTTP session: `tools/call` without the client's overhead, behaving as `client.callTool`. */
  directCall?: DirectCall | undefined;
  /** Says the call is done with the connection: one replaced meanwhile closes once nothing runs on it. Idempotent. */
  release?(): void;
}

/** One lazily (re)established connection to an upstream, shared by all calls of a source. */
export interface UpstreamConnector {
  /**
   * The connected client, connecting first when needed. `wait` gives the
   * signal that bounds waiting for a connection; it is asked for only when
   * there is one to wait for (an open connection is handed out at once).
   * The lease is to be released once the call is done with it.
   */
  acquire(wait: () => AbortSignal): Promise<UpstreamLease>;
  /**
   * Replaces a client whose connection is gone, so the next call reconnects
   * (and probes the era again). Calls under way on it are left to finish.
   */
  discard(client: Client): void;
  /** Why a client's connection was ended, when the connector ended it for a reason its calls should report. */
  endedBy?(client: Client): Error | undefined;
  close(): Promise<void>;
}

/**
 * The configured headers, then `Authorization: Bearer <token>`. Protocol
 * headers (`Mcp-*`, content negotiation) stay under the transport's control.
 */
export function buildUpstreamHeaders(options: {
  headers?: Record<string, string>;
  secretHeaders?: Record<string, string>;
  token?: string;
}): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries({ ...options.headers, ...options.secretHeaders })) {
    const lower = name.toLowerCase();
    if (!RESERVED_HEADERS.has(lower) && !lower.startsWith('mcp-')) headers.set(name, value);
  }
  if (options.token) headers.set('authorization', `Bearer ${options.token}`);
  return headers;
}

/** A connection being opened, shared by every caller that arrives meanwhile; `connection` once open. */
export interface PendingConnection<C> {
  promise: Promise<C>;
  connection?: C;
}

/** Tracks an opening connection; if opening fails, `forget` runs so that the next caller opens afresh. */
export function trackPending<C>(promise: Promise<C>, forget: (entry: PendingConnection<C>) => void): PendingConnection<C> {
  const entry: PendingConnection<C> = { promise };
  promise.then(
    (connection) => (entry.connection = connection),
    () => forget(entry),
  );
  return entry;
}

/** Waits for `promise`, giving up (not cancelling it) when `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function closeConnection({ client, transport, lifetime }: Connection): Promise<void> {
  lifetime.abort();
  if (transport.sessionId) {
    // Ends a 2025-era session so the upstream can free it; a dead upstream must not hold up closing.
    await abortable(transport.terminateSession(), AbortSignal.timeout(TERMINATE_SESSION_MS)).catch(() => undefined);
  }
  await client.close().catch(() => undefined);
}

/**
 * The capabilities the gateway declares upstream, on its calling clients' behalf:
 * what a 2025-era upstream may ask during a tool call, and MCP Apps views
 * (SEP-1865), which servers offer only to clients that declare them. The
 * connection is shared by all of a tenant's clients; one that renders no apps
 * ignores a tool's `_meta.ui` and uses its result's content, as for any tool.
 */
export const UPSTREAM_ASKABLE = {
  elicitation: { form: {}, url: {} },
  sampling: {},
  extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] } },
};

/**
 * Connects on first use with the v2 client in `auto` negotiation, over a fetch
 * that checks every address it connects to against the network policy. The
 * negotiated era is cached per URL and credentials, so reconnecting skips the
 * probe; it is forgotten when a connection fails.
 */
export function createUpstreamConnector(options: UpstreamConnectionOptions): UpstreamConnector {
  const host = new URL(options.url).host;
  const credentialDigest = createHash('sha256')
    .update(JSON.stringify([...options.headers.entries()]))
    .digest('base64url');
  // Verdicts are reused only within one authorization context, as the SDK requires.
  const eraKey = `${options.url} ${credentialDigest}`;
  let current: Pending | undefined;
  // Connections replaced while calls still ran on them: each closes when its last call is done.
  const retired = new Set<Connection>();
  // Shared by every connection of this upstream, so a burst across calls is told once.
  const directListChanges = debouncedListChanges(options.onListsChanged);
  let closed = false;

  /**
   * Replaces a connection that is gone: the next call reconnects, probing the
   * era again. Calls under way on it are not failed for it (one that lost the
   * connection fails on its own); once they are done it closes, ending a
   * 2025-era session so the upstream need not keep it.
   */
  function forget(connection: Connection): void {
    if (current?.connection === connection) {
      current = undefined;
      options.eraCache?.delete(eraKey);
    }
    if (connection.retired) return;
    connection.retired = true;
    if (connection.calls === 0) void closeConnection(connection);
    else retired.add(connection);
  }

  /** One call fewer on `connection`; the last one on a replaced connection closes it. */
  function release(connection: Connection): void {
    connection.calls -= 1;
    if (connection.calls === 0 && retired.delete(connection)) void closeConnection(connection);
  }

  function lease(connection: Connection, fresh: boolean): UpstreamLease {
    connection.calls += 1;
    let held = true;
    return {
      client: connection.client,
      fresh,
      directCall: connection.directCall,
      release: () => {
        if (held) release(connection);
        held = false;
      },
    };
  }

  function cachedPrior(): PriorDiscovery | undefined {
    const verdict = options.eraCache?.get(eraKey);
    if (!isEraVerdict(verdict)) return undefined;
    if (verdict.prior.kind === 'legacy' && Date.now() - verdict.storedAt > LEGACY_VERDICT_MS) return undefined;
    return verdict.prior;
  }

  async function connect(): Promise<Connection> {
    const listChanged = listChangedHandlers(options.onListsChanged);
    const client = new LenientListingClient(CLIENT_INFO, {
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: options.connectTimeoutMs } },
      // Input an upstream asks for is the calling client's to give: passed on, never fulfilled here.
      inputRequired: { autoFulfill: false },
      // What a 2025-era upstream may ask during a tool call, passed on to a 2026-07-28 client that can answer it
      // (asked-calls.ts); refused otherwise. A 2026-07-28 upstream is told each calling client's own on the
      // requests that may ask; the rest (lists) carry these.
      capabilities: UPSTREAM_ASKABLE,
      ...(listChanged && { listChanged }),
    }, (dropped) => options.onToolsDropped?.(dropped));
    const { watches } = options;
    if (watches) relayResourceUpdates(client, watches);
    const transport = new ListingTransport(new URL(options.url), {
      requestInit: { headers: options.headers },
      fetch: checkingAnswers(options.fetch),
    });
    const prior = cachedPrior();
    try {
      await client.connect(transport, { timeout: options.connectTimeoutMs, ...(prior && { prior }) });
    } catch (error) {
      options.eraCache?.delete(eraKey);
      await client.close().catch(() => undefined);
      if (!isTimeout(error)) throw error;
      const reason = `no answer within ${options.connectTimeoutMs} ms while connecting`;
      throw new UpstreamError(`upstream ${host} unavailable: ${reason}`, 'unavailable', undefined, { cause: error });
    }
    // From a cached modern verdict the client registers its handlers but opens no listen stream of its own.
    if (prior?.kind === 'modern' && listChanged) await listenForChanges(client, options.connectTimeoutMs);
    const lifetime = new AbortController();
    // Each direct call in flight listens for the end of its connection: as many as the upstream's callers.
    setMaxListeners(0, lifetime.signal);
    const connection: Connection = { client, transport, directCall: undefined, lifetime, calls: 0, retired: false };
    const protocolVersion = transport.protocolVersion;
    if (client.getProtocolEra() === 'legacy' && protocolVersion) {
      const directCall = createDirectCall({
        url: new URL(options.url),
        headers: options.headers,
        sessionId: transport.sessionId,
        protocolVersion,
        request: options.request,
        maxMessageBytes: options.maxMessageBytes,
        closed: lifetime.signal,
        onListsChanged: directListChanges,
        onResourceUpdated: watches && ((update) => watches.deliver(update)),
      });
      // A call holds its connection until answered: one that asked the client something outlives the request that made it.
      connection.directCall = async (params, callOptions) => {
        connection.calls += 1;
        try {
          return await directCall(params, callOptions);
        } finally {
          release(connection);
        }
      };
    }
    if (closed) {
      await closeConnection(connection);
      throw new UpstreamError(`upstream ${host} unavailable: the source was closed`, 'unavailable');
    }
    if (!prior) {
      const discover = client.getDiscoverResult();
      const verdict: PriorDiscovery =
        client.getProtocolEra() === 'modern' && discover ? { kind: 'modern', discover } : { kind: 'legacy' };
      options.eraCache?.set(eraKey, { prior: verdict, storedAt: Date.now() } satisfies EraVerdict);
    }
    const subscribe = subscribeOnClient(client, options.connectTimeoutMs);
    // A 2025-era upstream that forgot the session (it restarted) answers its stream with 404: nothing more comes on it.
    client.onerror = (error) => {
      if (transport.sessionId && error instanceof SdkHttpError && error.status === 404) forget(connection);
    };
    client.onclose = () => {
      lifetime.abort();
      if (current?.connection?.client === client) current = undefined;
      watches?.disconnected(subscribe);
    };
    watches?.connected(subscribe);
    return connection;
  }

  return {
    async acquire(wait) {
      if (closed) throw new UpstreamError(`upstream ${host} unavailable: the source was closed`, 'unavailable');
      const open = current?.connection;
      if (open) return lease(open, false);
      let fresh = false;
      if (!current) {
        current = trackPending(connect(), (entry) => {
          if (current === entry) current = undefined;
        });
        fresh = true;
      }
      return lease(await abortable(current.promise, wait()), fresh);
    },

    discard(client) {
      const connection = current?.connection;
      if (connection?.client === client) forget(connection);
    },

    async close() {
      closed = true;
      const entry = current;
      current = undefined;
      const connection = await entry?.promise.catch(() => undefined);
      // Replaced connections close too, ending the calls still under way on them.
      const ending = [...retired, ...(connection ? [connection] : [])];
      retired.clear();
      await Promise.all(ending.map((ended) => closeConnection(ended)));
    },
  };
}
