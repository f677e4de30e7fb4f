import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createResourceWatches,
  type ResourceUpdate,
  type ResourceWatchListener,
  type SubscribeOnConnection,
} from '../../src/servers/remote/resource-watch.ts';

/** One fake upstream connection: records what is subscribed and unsubscribed on it, by URI. */
interface FakeConnection {
  subscribe: SubscribeOnConnection;
  /** One entry per upstream subscribe call, in order. */
  subscribed: string[];
  /** One entry per Unsubscribe called, in order. */
  unsubscribed: string[];
  /**
   * The upstream ends a subscription of `uri` while the connection stays open:
   * the latest by default, or the `nth` made (from 0), which may be over already.
   */
  lose(uri: string, nth?: number): void;
}

function fakeConnection(behaviour: { rejecting?: string[]; offersNoSubscriptions?: boolean } = {}): FakeConnection {
  const subscribed: string[] = [];
  const unsubscribed: string[] = [];
  const lostCallbacks = new Map<string, (() => void)[]>();
  return {
    subscribed,
    unsubscribed,
    subscribe: async (uri, lost) => {
      subscribed.push(uri);
      if (behaviour.rejecting?.includes(uri)) throw new Error(`cannot subscribe ${uri}`);
      if (behaviour.offersNoSubscriptions) return undefined;
      lostCallbacks.set(uri, [...(lostCallbacks.get(uri) ?? []), lost]);
      return async () => {
        unsubscribed.push(uri);
      };
    },
    lose(uri, nth) {
      const made = lostCallbacks.get(uri) ?? [];
      const lost = made.at(nth ?? -1);
      if (!lost) throw new Error(`${uri} has no such subscription`);
      lost();
    },
  };
}

/** A listener that records what it is told. */
interface Recorder extends ResourceWatchListener {
  updates: ResourceUpdate[];
  endings: number;
  /** What `accepted` told, in order. */
  outcomes: boolean[];
}

function recorder(): Recorder {
  const seen: Recorder = {
    updates: [],
    endings: 0,
    outcomes: [],
    updated: (update) => {
      seen.updates.push(update);
    },
    accepted: (accepted) => {
      seen.outcomes.push(accepted);
    },
    ended: () => {
      seen.endings += 1;
    },
  };
  return seen;
}

/**
 * Resource watches whose `reconnect` is a fake: it counts its calls and, by
 * default, never settles (a connection still opening). Tests switch it to
 * connect to a fake connection or to fail.
 */
function harness(options: { retryMs?: number; maxRetryMs?: number } = {}) {
  const errors: { error: unknown; uri: string | undefined }[] = [];
  let reconnectCalls = 0;
  let reconnectBehaviour: () => Promise<void> = () => new Promise<void>(() => {});
  const watches = createResourceWatches({
    reconnect: () => {
      reconnectCalls += 1;
      return reconnectBehaviour();
    },
    onError: (error, uri) => {
      errors.push({ error, uri });
    },
    retryMs: options.retryMs ?? 100,
    maxRetryMs: options.maxRetryMs ?? 1_000,
  });
  return {
    watches,
    errors,
    get reconnects() {
      return reconnectCalls;
    },
    /** Later reconnects open `connection`. */
    reconnectTo(connection: FakeConnection) {
      reconnectBehaviour = async () => {
        watches.connected(connection.subscribe);
      };
    },
    /** Later reconnects fail with `error`. */
    reconnectFails(error: Error) {
      reconnectBehaviour = async () => {
        throw error;
      };
    },
  };
}

/** Lets pending promise callbacks run without moving the fake clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);
const wait = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('resource watches', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('telling watchers whether the upstream accepted', () => {
    it('tells each watcher once: true when the subscription is in place, also to one who joins later', async () => {
      const h = harness();
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const first = recorder();
      h.watches.watch('res://a', first);
      await settle();
      const second = recorder();
      h.watches.watch('res://a', second);
      await settle();
      expect([first.outcomes, second.outcomes]).toEqual([[true], [true]]);

      // A subscription lost and made again tells nobody twice.
      connection.lose('res://a');
      await wait(100);
      expect(connection.subscribed).toEqual(['res://a', 'res://a']);
      expect([first.outcomes, second.outcomes]).toEqual([[true], [true]]);
    });

    it('tells false when the upstream refuses the subscription or offers none', async () => {
      const refusing = harness();
      refusing.watches.connected(fakeConnection({ rejecting: ['res://gone'] }).subscribe);
      const refused = recorder();
      const fine = recorder();
      refusing.watches.watch('res://gone', refused);
      refusing.watches.watch('res://a', fine);
      await settle();
      expect([refused.outcomes, fine.outcomes]).toEqual([[false], [true]]);

      const plain = harness();
      plain.watches.connected(fakeConnection({ offersNoSubscriptions: true }).subscribe);
      const unwatched = recorder();
      plain.watches.watch('res://a', unwatched);
      await settle();
      expect(unwatched.outcomes).toEqual([false]);
    });

    it('tells nothing while no connection opens, and tells once one does', async () => {
      const h = harness();
      const watcher = recorder();
      h.watches.watch('res://a', watcher);
      await wait(1_000);
      expect(watcher.outcomes).toEqual([]);
      h.reconnectTo(fakeConnection());
      h.watches.connected(fakeConnection().subscribe);
      await settle();
      expect(watcher.outcomes).toEqual([true]);
    });
  });

  describe('sharing one upstream subscription', () => {
    it('subscribes once upstream however many listen to a URI, and unsubscribes only when the last one stops', async () => {
      const h = harness();
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);

      const stopFirst = h.watches.watch('res://a', recorder());
      const stopSecond = h.watches.watch('res://a', recorder());
      h.watches.watch('res://a', recorder());
      await settle();
      expect(connection.subscribed).toEqual(['res://a']);

      stopFirst();
      stopSecond();
      await settle();
      expect(connection.unsubscribed).toEqual([]);
      expect(h.watches.active).toBe(true);
      expect(h.reconnects).toBe(0);
    });

    it('delivers an update to every listener of its URI and to no listener of another URI', async () => {
      const h = harness();
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const first = recorder();
      const second = recorder();
      const elsewhere = recorder();
      h.watches.watch('res://a', first);
      h.watches.watch('res://a', second);
      h.watches.watch('res://b', elsewhere);
      await settle();

      h.watches.deliver({ uri: 'res://a', revision: 2 });

      expect(first.updates).toEqual([{ uri: 'res://a', revision: 2 }]);
      expect(second.updates).toEqual([{ uri: 'res://a', revision: 2 }]);
      expect(elsewhere.updates).toEqual([]);
      h.watches.deliver({ uri: 'res://unwatched' });
      expect(first.updates).toHaveLength(1);
      expect(elsewhere.updates).toEqual([]);
    });

    it('ends the upstream subscription once, when the last listener stops, and stopping twice is harmless', async () => {
      const h = harness();
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const first = recorder();
      const second = recorder();
      const stopFirst = h.watches.watch('res://a', first);
      const stopSecond = h.watches.watch('res://a', second);
      await settle();

      stopFirst();
      stopFirst();
      await settle();
      // The second listener still hears updates, the stopped one no longer does.
      expect(connection.unsubscribed).toEqual([]);
      h.watches.deliver({ uri: 'res://a' });
      expect(first.updates).toEqual([]);
      expect(second.updates).toHaveLength(1);

      stopSecond();
      await settle();
      expect(connection.unsubscribed).toEqual(['res://a']);
      expect(h.watches.active).toBe(false);

      stopSecond();
      stopFirst();
      await settle();
      expect(connection.unsubscribed).toEqual(['res://a']);
      h.watches.deliver({ uri: 'res://a' });
      expect(second.updates).toHaveLength(1);
      expect(h.errors).toEqual([]);
    });

    it('subscribes again for a URI watched anew after its last listener stopped', async () => {
      const h = harness();
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const stop = h.watches.watch('res://a', recorder());
      await settle();
      stop();
      await settle();

      const again = recorder();
      h.watches.watch('res://a', again);
      await settle();

      expect(connection.subscribed).toEqual(['res://a', 'res://a']);
      h.watches.deliver({ uri: 'res://a' });
      expect(again.updates).toHaveLength(1);
    });

    it('leaves a URI watched anew alone when an old stop function is called again', async () => {
      const h = harness();
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const stopOld = h.watches.watch('res://a', recorder());
      await settle();
      stopOld();
      await settle();
      const fresh = recorder();
      h.watches.watch('res://a', fresh);
      await settle();

      stopOld();
      await settle();

      expect(connection.unsubscribed).toEqual(['res://a']);
      expect(h.watches.active).toBe(true);
      h.watches.deliver({ uri: 'res://a' });
      expect(fresh.updates).toHaveLength(1);
    });

    it('is active while anyone watches and inactive after the last one stops', () => {
      const h = harness();
      h.watches.connected(fakeConnection().subscribe);
      expect(h.watches.active).toBe(false);

      const stopA = h.watches.watch('res://a', recorder());
      const stopB = h.watches.watch('res://b', recorder());
      expect(h.watches.active).toBe(true);
      stopA();
      expect(h.watches.active).toBe(true);
      stopB();
      expect(h.watches.active).toBe(false);
    });
  });

  describe('connecting', () => {
    it('opens a connection once when watching while nothing is connected, and subscribes every watched URI on it', async () => {
      const h = harness();

      h.watches.watch('res://a', recorder());
      h.watches.watch('res://b', recorder());
      h.watches.watch('res://a', recorder());
      await settle();
      expect(h.reconnects).toBe(1);

      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      await settle();

      expect(connection.subscribed.toSorted()).toEqual(['res://a', 'res://b']);
      expect(h.reconnects).toBe(1);
    });

    it('keeps trying to open a first connection that fails, until one opens', async () => {
      const h = harness({ retryMs: 100, maxRetryMs: 1_000 });
      const down = new Error('upstream down');
      h.reconnectFails(down);

      const listener = recorder();
      h.watches.watch('res://a', listener);
      await settle();
      expect(h.reconnects).toBe(1);
      // A failed connection names no resource: it fails them all.
      expect(h.errors).toEqual([{ error: down, uri: undefined }]);
      // The first retry waits retryMs, the next twice that.
      await wait(100);
      expect(h.reconnects).toBe(2);
      await wait(199);
      expect(h.reconnects).toBe(2);
      await wait(1);
      expect(h.reconnects).toBe(3);

      const connection = fakeConnection();
      h.reconnectTo(connection);
      await wait(400);

      expect(h.reconnects).toBe(4);
      expect(connection.subscribed).toEqual(['res://a']);
      h.watches.deliver({ uri: 'res://a' });
      expect(listener.updates).toHaveLength(1);
    });

    it('subscribes nothing on a connection that opens while nobody watches, and what is watched later at once', async () => {
      const h = harness();
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      await settle();
      expect(connection.subscribed).toEqual([]);

      h.watches.watch('res://a', recorder());
      await settle();

      expect(connection.subscribed).toEqual(['res://a']);
      expect(h.reconnects).toBe(0);
    });
  });

  describe('reconnecting after the connection closes', () => {
    it('reopens after retryMs, backs off by doubling up to maxRetryMs, reports failures, and resubscribes everything', async () => {
      const h = harness({ retryMs: 100, maxRetryMs: 500 });
      const first = fakeConnection();
      h.watches.connected(first.subscribe);
      const a = recorder();
      const b = recorder();
      h.watches.watch('res://a', a);
      h.watches.watch('res://b', b);
      await settle();
      expect(first.subscribed).toEqual(['res://a', 'res://b']);

      const down = new Error('upstream down');
      h.reconnectFails(down);
      h.watches.disconnected(first.subscribe);

      // Pauses between attempts: 100, then 200, 400, and 500 (capped) from then on.
      for (const [attempt, pause] of [100, 200, 400, 500, 500].entries()) {
        await wait(pause - 1);
        expect(h.reconnects).toBe(attempt);
        await wait(1);
        expect(h.reconnects).toBe(attempt + 1);
      }
      expect(h.errors).toEqual(Array.from({ length: 5 }, () => ({ error: down, uri: undefined })));

      const second = fakeConnection();
      h.reconnectTo(second);
      await wait(500);
      expect(h.reconnects).toBe(6);
      expect(second.subscribed.toSorted()).toEqual(['res://a', 'res://b']);
      expect(first.subscribed).toEqual(['res://a', 'res://b']);

      // Connected again: no more attempts, and updates flow to the listeners.
      await wait(10_000);
      expect(h.reconnects).toBe(6);
      h.watches.deliver({ uri: 'res://a' });
      h.watches.deliver({ uri: 'res://b' });
      expect(a.updates).toHaveLength(1);
      expect(b.updates).toHaveLength(1);
      expect(h.errors).toHaveLength(5);
    });

    it('starts the backoff over from retryMs after a successful reconnect', async () => {
      const h = harness({ retryMs: 100, maxRetryMs: 1_000 });
      const first = fakeConnection();
      h.watches.connected(first.subscribe);
      h.watches.watch('res://a', recorder());
      await settle();

      h.reconnectFails(new Error('upstream down'));
      h.watches.disconnected(first.subscribe);
      await wait(100 + 200 + 400);
      expect(h.reconnects).toBe(3);

      const second = fakeConnection();
      h.reconnectTo(second);
      await wait(800);
      expect(h.reconnects).toBe(4);
      expect(second.subscribed).toEqual(['res://a']);

      h.reconnectTo(fakeConnection());
      h.watches.disconnected(second.subscribe);
      await wait(99);
      expect(h.reconnects).toBe(4);
      await wait(1);
      expect(h.reconnects).toBe(5);
    });

    it('sends no unsubscribe on a closed connection when a listener stops before the reconnect', async () => {
      const h = harness({ retryMs: 100 });
      const first = fakeConnection();
      h.watches.connected(first.subscribe);
      const stopA = h.watches.watch('res://a', recorder());
      h.watches.watch('res://b', recorder());
      await settle();

      h.watches.disconnected(first.subscribe);
      stopA();
      await settle();
      expect(first.unsubscribed).toEqual([]);

      const second = fakeConnection();
      h.reconnectTo(second);
      await wait(100);
      expect(second.subscribed).toEqual(['res://b']);
      expect(h.errors).toEqual([]);
    });

    it('ignores the close of a connection that was already replaced, keeping the current subscriptions', async () => {
      const h = harness();
      const old = fakeConnection();
      const current = fakeConnection();
      h.watches.connected(old.subscribe);
      const listener = recorder();
      const stop = h.watches.watch('res://a', listener);
      await settle();
      h.watches.connected(current.subscribe);
      await settle();
      expect(current.subscribed).toEqual(['res://a']);

      h.watches.disconnected(old.subscribe);
      await wait(60_000);

      expect(h.reconnects).toBe(0);
      // The current connection is still the one used: a new watch subscribes on it.
      h.watches.watch('res://b', recorder());
      await settle();
      expect(current.subscribed).toEqual(['res://a', 'res://b']);
      expect(h.reconnects).toBe(0);
      h.watches.deliver({ uri: 'res://a' });
      expect(listener.updates).toHaveLength(1);
      // And its subscription is the one ended on stopping.
      stop();
      await settle();
      expect(current.unsubscribed).toEqual(['res://a']);
      expect(old.unsubscribed).toEqual([]);
    });

    it('does not reconnect a connection that closes after everyone stopped watching', async () => {
      const h = harness();
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const stop = h.watches.watch('res://a', recorder());
      await settle();
      stop();

      h.watches.disconnected(connection.subscribe);
      expect(vi.getTimerCount()).toBe(0);
      await wait(60_000);

      expect(h.reconnects).toBe(0);
    });

    it('drops a scheduled reconnect when the last listener stops before it is due', async () => {
      const h = harness({ retryMs: 100 });
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const stop = h.watches.watch('res://a', recorder());
      await settle();

      h.watches.disconnected(connection.subscribe);
      await wait(50);
      stop();
      await wait(60_000);

      expect(h.reconnects).toBe(0);
    });

    it('stops retrying a failing upstream once nobody watches', async () => {
      const h = harness({ retryMs: 100 });
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const stop = h.watches.watch('res://a', recorder());
      await settle();
      h.reconnectFails(new Error('upstream down'));

      h.watches.disconnected(connection.subscribe);
      await wait(100);
      expect(h.reconnects).toBe(1);
      stop();
      await wait(60_000);

      expect(h.reconnects).toBe(1);
      expect(h.errors).toHaveLength(1);
    });
  });

  describe('a subscription lost while the connection stays open', () => {
    it('is made again after retryMs while still watched, and that new subscription is the one ended on stopping', async () => {
      const h = harness({ retryMs: 100 });
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const listener = recorder();
      const stop = h.watches.watch('res://a', listener);
      await settle();

      connection.lose('res://a');
      await wait(99);
      expect(connection.subscribed).toEqual(['res://a']);
      await wait(1);
      expect(connection.subscribed).toEqual(['res://a', 'res://a']);
      expect(h.reconnects).toBe(0);

      h.watches.deliver({ uri: 'res://a' });
      expect(listener.updates).toHaveLength(1);
      stop();
      await settle();
      expect(connection.unsubscribed).toEqual(['res://a']);
    });

    it('waits twice as long after each further loss on the same connection, and from retryMs again on a new one', async () => {
      const h = harness({ retryMs: 100, maxRetryMs: 1_000 });
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      h.watches.watch('res://a', recorder());
      await settle();

      const resubscribedAfter = async (ms: number) => {
        const before = connection.subscribed.length;
        connection.lose('res://a');
        await wait(ms - 1);
        expect(connection.subscribed.length).toBe(before);
        await wait(1);
        expect(connection.subscribed.length).toBe(before + 1);
      };
      await resubscribedAfter(100);
      await resubscribedAfter(200);
      await resubscribedAfter(400);

      const next = fakeConnection();
      h.watches.connected(next.subscribe);
      await settle();
      const before = next.subscribed.length;
      next.lose('res://a');
      await wait(100);
      expect(next.subscribed.length).toBe(before + 1);
    });

    it('is not made again when its listener stopped during the pause', async () => {
      const h = harness({ retryMs: 100 });
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const stop = h.watches.watch('res://a', recorder());
      await settle();

      connection.lose('res://a');
      await wait(50);
      stop();
      await wait(60_000);

      expect(connection.subscribed).toEqual(['res://a']);
      // The upstream ended it already: nothing is left to unsubscribe.
      expect(connection.unsubscribed).toEqual([]);
      expect(h.errors).toEqual([]);
    });

    it('ignores a late loss of a subscription already made again', async () => {
      const h = harness({ retryMs: 100 });
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const stop = h.watches.watch('res://a', recorder());
      await settle();
      connection.lose('res://a');
      await wait(100);
      expect(connection.subscribed).toEqual(['res://a', 'res://a']);

      // The first subscription reports its end again: the second one stands.
      connection.lose('res://a', 0);
      await wait(60_000);
      expect(connection.subscribed).toEqual(['res://a', 'res://a']);
      stop();
      await settle();
      expect(connection.unsubscribed).toEqual(['res://a']);
    });

    it('is not made again when it was lost on a connection replaced since', async () => {
      const h = harness({ retryMs: 100 });
      const old = fakeConnection();
      const current = fakeConnection();
      h.watches.connected(old.subscribe);
      h.watches.watch('res://a', recorder());
      await settle();
      h.watches.connected(current.subscribe);
      await settle();

      old.lose('res://a');
      await wait(60_000);

      expect(old.subscribed).toEqual(['res://a']);
      expect(current.subscribed).toEqual(['res://a']);
    });
  });

  describe('an upstream subscribe that fails or is not offered', () => {
    it('reports a rejected subscribe with its URI, and the watch goes on', async () => {
      const h = harness();
      const connection = fakeConnection({ rejecting: ['res://broken'] });
      h.watches.connected(connection.subscribe);
      const broken = recorder();
      const fine = recorder();
      const stopBroken = h.watches.watch('res://broken', broken);
      const stopFine = h.watches.watch('res://fine', fine);
      await settle();

      expect(h.errors).toEqual([{ error: new Error('cannot subscribe res://broken'), uri: 'res://broken' }]);
      expect(h.watches.active).toBe(true);
      h.watches.deliver({ uri: 'res://broken', note: 'arrived anyway' });
      h.watches.deliver({ uri: 'res://fine' });
      expect(broken.updates).toEqual([{ uri: 'res://broken', note: 'arrived anyway' }]);
      expect(fine.updates).toHaveLength(1);

      expect(() => stopBroken()).not.toThrow();
      stopFine();
      await settle();
      expect(connection.unsubscribed).toEqual(['res://fine']);
      expect(h.errors).toHaveLength(1);
      expect(h.watches.active).toBe(false);
    });

    it('calls no unsubscribe and reports nothing on stopping when the upstream offers no subscriptions', async () => {
      const h = harness();
      const connection = fakeConnection({ offersNoSubscriptions: true });
      h.watches.connected(connection.subscribe);
      const listener = recorder();
      const stop = h.watches.watch('res://a', listener);
      await settle();
      expect(connection.subscribed).toEqual(['res://a']);

      h.watches.deliver({ uri: 'res://a' });
      expect(listener.updates).toHaveLength(1);
      expect(() => stop()).not.toThrow();
      await settle();

      expect(connection.unsubscribed).toEqual([]);
      expect(h.errors).toEqual([]);
      expect(h.watches.active).toBe(false);
    });
  });

  describe('closing', () => {
    it('tells every listener it ended, once, and cancels a pending reconnect', async () => {
      const h = harness({ retryMs: 100 });
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const listeners = [recorder(), recorder(), recorder()];
      h.watches.watch('res://a', listeners[0]!);
      h.watches.watch('res://a', listeners[1]!);
      h.watches.watch('res://b', listeners[2]!);
      await settle();
      h.watches.disconnected(connection.subscribe);
      expect(h.watches.active).toBe(true);
      expect(vi.getTimerCount()).toBe(1); // the reconnect, due in 100 ms

      h.watches.close();
      h.watches.close();
      expect(vi.getTimerCount()).toBe(0);

      expect(listeners.map((listener) => listener.endings)).toEqual([1, 1, 1]);
      expect(h.watches.active).toBe(false);
      await wait(60_000);
      expect(h.reconnects).toBe(0);
      h.watches.deliver({ uri: 'res://a' });
      expect(listeners.map((listener) => listener.updates.length)).toEqual([0, 0, 0]);
      expect(listeners.map((listener) => listener.endings)).toEqual([1, 1, 1]);
    });

    it('ends a watch started after closing at once, and never reconnects for it', async () => {
      const h = harness({ retryMs: 100 });
      h.watches.close();

      const late = recorder();
      const stop = h.watches.watch('res://a', late);

      expect(late.endings).toBe(1);
      expect(h.watches.active).toBe(false);
      await wait(60_000);
      expect(h.reconnects).toBe(0);
      expect(() => stop()).not.toThrow();
      expect(late.endings).toBe(1);
    });

    it('sends no unsubscribe for a watch stopped after closing: the connection closes with the source', async () => {
      const h = harness();
      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      const stop = h.watches.watch('res://a', recorder());
      await settle();
      h.watches.close();
      stop();
      await settle();
      expect(connection.unsubscribed).toEqual([]);
      expect(h.errors).toEqual([]);
    });

    it('subscribes nothing on a connection that opens after closing', async () => {
      const h = harness();
      h.watches.watch('res://a', recorder());
      h.watches.close();

      const connection = fakeConnection();
      h.watches.connected(connection.subscribe);
      h.watches.watch('res://b', recorder());
      await settle();

      expect(connection.subscribed).toEqual([]);
    });
  });
});
