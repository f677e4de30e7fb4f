import type { Logger } from './logger.ts';

/** A JSON value, as a bus message carries it between processes. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a message says; every message concerns exactly one tenant. */
export interface ChangePayload {
  readonly tenantId: string;
  readonly [field: string]: JsonValue;
}

/**
 * What a subscriber receives: a message, or `resync` when messages may have
 * been lost (the bus was cut off from the other nodes for a while), so that
 * whatever a subscriber derives from messages should be treated as changed.
 */
export type ChangeEvent = { kind: 'message'; topic: string; payload: ChangePayload } | { kind: 'resync' };

/** A handler of bus events; it runs synchronously and must not throw (a throw is logged). */
export type ChangeHandler = (event: ChangeEvent) => void;

/**
 * Tenant-scoped change notifications between the modules of one process and,
 * with PostgreSQL, between every gateway node on the same database. Delivery is
 * best effort and at most once: messages say "look again", never carry state.
 */
export interface ChangeBus {
  /** Sends a message to every subscriber on every node, this one included; never throws. */
  publish(topic: string, payload: ChangePayload): void;
  /** Registers a handler; returns an idempotent unsubscribe. Starts receiving other nodes' messages if not yet. */
  subscribe(handler: ChangeHandler): () => void;
  /**
   * Starts receiving other nodes' messages; resolves once that works, or once
   * the first attempt failed (retries go on in the background). A process that
   * only publishes, such as the CLI, never calls it.
   */
  connect(): Promise<void>;
  /** Stops receiving and waits for messages still being sent. */
  close(): Promise<void>;
}

/** The subscriber set every bus delivers to in its own process. */
export interface LocalFanout {
  deliver(event: ChangeEvent): void;
  subscribe(handler: ChangeHandler): () => void;
  readonly size: number;
}

/** Delivers to each handler in turn; one handler's throw neither stops the others nor reaches the publisher. */
export function createLocalFanout(logger: Logger): LocalFanout {
  const handlers = new Set<ChangeHandler>();
  return {
    deliver(event) {
      for (const handler of handlers) {
        try {
          handler(event);
        } catch (error) {
          logger.error({ err: error }, 'a change-bus handler failed');
        }
      }
    },
    subscribe(handler) {
      // Wrapped, so that subscribing the same function twice gives two independent subscriptions.
      const entry: ChangeHandler = (event) => handler(event);
      handlers.add(entry);
      return () => void handlers.delete(entry);
    },
    get size() {
      return handlers.size;
    },
  };
}

/** A bus within one process: what a gateway on the embedded database (one process only) needs. */
export function createInProcessChangeBus(logger: Logger): ChangeBus {
  const local = createLocalFanout(logger);
  let closed = false;
  return {
    publish(topic, payload) {
      if (!closed) local.deliver({ kind: 'message', topic, payload });
    },
    subscribe: (handler) => local.subscribe(handler),
    connect: async () => {},
    close: async () => {
      closed = true;
    },
  };
}
