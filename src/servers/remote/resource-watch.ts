/** What an upstream's `notifications/resources/updated` carries: the resource's URI, perhaps more. */
export interface ResourceUpdate {
  uri: string;
  [key: string]: unknown;
}

/** Someone who wants to hear when one upstream resource changes. */
export interface ResourceWatchListener {
  /** The upstream said the resource changed. */
  updated(update: ResourceUpdate): void;
  /** No more updates will come: the source closed (reconfigured, deleted, idle). Watch again on a new source. */
  ended(): void;
  /**
   * Told once, when the upstream first answers the subscription this watch
   * needs: true when it is in place, false when the upstream refused it or
   * offers no subscriptions (nothing will come then, unless a later
   * connection's upstream accepts it). Not told while no connection opens.
   */
  accepted?(accepted: boolean): void;
}

/** Ends an upstream subscription. */
export type Unsubscribe = () => Promise<void>;

/**
 * Subscribes to one URI on one open connection. `lost` is called if the
 * subscription ends while the connection stays open; it resolves to
 * undefined when the upstream does not offer resource subscriptions.
 */
export type SubscribeOnConnection = (uri: string, lost: () => void) => Promise<Unsubscribe | undefined>;

/** A source's resource watches, kept across the upstream connections it goes through. */
export interface ResourceWatches {
  /** Starts watching `uri`; the first watcher of a URI subscribes upstream. Returns the way to stop. */
  watch(uri: string, listener: ResourceWatchListener): () => void;
  /** Whether anyone watches: the source is then in use although no request runs. */
  readonly active: boolean;
  /** A connection opened: every watched URI is subscribed on it. */
  connected(subscribe: SubscribeOnConnection): void;
  /** The connection `connected` was told of closed: while anyone watches, a new one is opened after a pause. */
  disconnected(subscribe: SubscribeOnConnection): void;
  /** An update arrived from the upstream; it goes to the URI's watchers. */
  deliver(update: ResourceUpdate): void;
  /** The source closed: every watcher is told, and nothing reconnects. */
  close(): void;
}

export interface ResourceWatchOptions {
  /** Opens a connection (whose opening calls `connected`); rejects when the upstream cannot be reached. */
  reconnect(): Promise<void>;
  /** Told about subscriptions or reconnections that failed; watching goes on. */
  onError(error: unknown, uri: string | undefined): void;
  /** First pause before reconnecting, or subscribing again a subscription lost; doubles per failure in a row, up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

/**
 * Watches on an upstream's resources, shared by every client of one source:
 * one upstream subscription per URI however many listen, made again on each
 * new connection. A connection that closes while anyone watches is reopened
 * with backoff, so updates resume when the upstream comes back.
 */
export function createResourceWatches(options: ResourceWatchOptions): ResourceWatches {
  const retryMs = options.retryMs ?? 1_000;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  const listeners = new Map<string, Set<ResourceWatchListener>>();
  // The subscriptions made on the current connection, by URI.
  let subscriptions = new Map<string, Promise<Unsubscribe | undefined>>();
  // Subscriptions lost on the current connection, by URI: each loss doubles the pause before the next try.
  let losses = new Map<string, number>();
  let subscribe: SubscribeOnConnection | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  // Failed connections in a row: the first retry waits `retryMs`, each further one twice as long.
  let failures = 0;
  let closed = false;
  // Watchers told of their subscription's first outcome already.
  const told = new WeakSet<ResourceWatchListener>();

  /** Tells watchers of `uri` not told yet how `made` turned out. */
  function tellOutcome(made: Promise<Unsubscribe | undefined>, watchers: Iterable<ResourceWatchListener>): void {
    void made.then((unsubscribe) => {
      for (const listener of watchers) {
        if (told.has(listener)) continue;
        told.add(listener);
        listener.accepted?.(unsubscribe !== undefined);
      }
      return undefined;
    });
  }

  const pause = (failed: number) => Math.min(maxRetryMs, retryMs * 2 ** Math.min(Math.max(failed - 1, 0), 16));

  function subscribeUri(uri: string): void {
    const on = subscribe;
    if (!on || subscriptions.has(uri)) return;
    const current = subscriptions;
    let made: Promise<Unsubscribe | undefined> | undefined;
    const lost = () => {
      // Only this connection's subscription, and only while still wanted.
      if (current !== subscriptions || current.get(uri) !== made) return;
      current.delete(uri);
      const lostTimes = (losses.get(uri) ?? 0) + 1;
      losses.set(uri, lostTimes);
      setTimeout(() => {
        if (!closed && subscribe === on && listeners.has(uri)) subscribeUri(uri);
      }, pause(lostTimes)).unref();
    };
    made = on(uri, lost).catch((error: unknown) => {
      options.onError(error, uri);
      return undefined;
    });
    current.set(uri, made);
    tellOutcome(made, [...(listeners.get(uri) ?? [])]);
  }

  function unsubscribeUri(uri: string): void {
    const made = subscriptions.get(uri);
    subscriptions.delete(uri);
    void made?.then((unsubscribe) => unsubscribe?.()).catch((error: unknown) => options.onError(error, uri));
  }

  /** Opens a connection (whose opening subscribes the watched URIs); on failure, tries again later. */
  function connectNow(): void {
    options.reconnect().catch((error: unknown) => {
      options.onError(error, undefined);
      if (subscribe) return;
      failures += 1;
      scheduleReconnect();
    });
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer || listeners.size === 0) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (!closed && listeners.size > 0 && !subscribe) connectNow();
    }, pause(failures));
    reconnectTimer.unref();
  }

  return {
    watch(uri, listener) {
      if (closed) {
        listener.ended();
        return () => {};
      }
      const set = listeners.get(uri) ?? new Set<ResourceWatchListener>();
      listeners.set(uri, set.add(listener));
      const made = subscriptions.get(uri);
      if (made) tellOutcome(made, [listener]);
      else if (subscribe) subscribeUri(uri);
      // Nothing is connected and nothing is under way: open a connection now rather than wait for a call to.
      else if (listeners.size === 1 && set.size === 1 && !reconnectTimer) connectNow();
      return () => {
        if (closed || !set.delete(listener) || set.size > 0 || listeners.get(uri) !== set) return;
        listeners.delete(uri);
        unsubscribeUri(uri);
      };
    },

    get active() {
      return listeners.size > 0;
    },

    connected(on) {
      if (closed) return;
      subscribe = on;
      subscriptions = new Map();
      losses = new Map();
      failures = 0;
      for (const uri of listeners.keys()) subscribeUri(uri);
    },

    disconnected(from) {
      // A connection replaced already (discarded, then reopened) says nothing about the current one.
      if (from !== subscribe) return;
      subscribe = undefined;
      subscriptions = new Map();
      failures = 1;
      scheduleReconnect();
    },

    deliver(update) {
      for (const listener of listeners.get(update.uri) ?? []) listener.updated(update);
    },

    close() {
      if (closed) return;
      closed = true;
      clearTimeout(reconnectTimer);
      // The connection closes with the source: its subscriptions end with it, nothing is sent.
      subscribe = undefined;
      subscriptions = new Map();
      const everyone = [...listeners.values()].flatMap((set) => [...set]);
      listeners.clear();
      for (const listener of everyone) listener.ended();
    },
  };
}
