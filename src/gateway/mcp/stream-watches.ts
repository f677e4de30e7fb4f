import type { ServerEvent } from '@modelcontextprotocol/server';
import type { ResourceWatchListener } from '../../servers/index.ts';

/** How long a listen stream waits for upstreams to answer its subscriptions before it is acknowledged. */
export const ACCEPT_WAIT_MS = 5_000;

/** A `subscriptions/listen` stream's watches on its resources, made before the stream is acknowledged. */
export interface StreamWatches {
  /**
   * The URIs to acknowledge: those whose upstream accepted the subscription,
   * or had not answered within the wait (an upstream that is down is watched
   * on, and its updates arrive once it is back; if it then refuses, the
   * stream is ended through `onEnded`). A URI no server publishes, one the
   * key may not read, or one its upstream refused is left out.
   */
  readonly honored: readonly string[];
  /** Hands updates to the stream's listener from now on; returns the way to stop. */
  attach(listener: (event: ServerEvent) => void): () => void;
  /** Ends every watch; called when the stream ends. */
  stop(): void;
}

/** Watches `uris`, waiting up to `waitMs` (or until `signal` aborts) for the upstreams' answers. */
export async function openStreamWatches(
  watchResource: (uri: string, listener: ResourceWatchListener) => (() => void) | undefined,
  uris: readonly string[],
  options: { waitMs: number; signal: AbortSignal; onEnded: () => void },
): Promise<StreamWatches> {
  let deliver: ((event: ServerEvent) => void) | undefined;
  // Per URI: true or false once its upstream answered, undefined until then.
  const outcomes = new Map<string, boolean | undefined>();
  const stops = new Map<string, () => void>();
  let answered = () => {};
  // Once the stream is acknowledged, a refusal arriving late ends it: the client listens again and is told the truth.
  let acknowledged = false;
  const allAnswered = new Promise<void>((resolve) => (answered = resolve));
  const check = () => {
    if ([...outcomes.values()].every((outcome) => outcome !== undefined)) answered();
  };

  for (const uri of uris) {
    outcomes.set(uri, undefined);
    const stop = watchResource(uri, {
      updated: ({ uri: published, ...params }) => deliver?.({ kind: 'resource_updated', uri: published, params }),
      ended: () => setImmediate(options.onEnded),
      accepted: (accepted) => {
        if (acknowledged && !accepted) setImmediate(options.onEnded);
        outcomes.set(uri, accepted);
        check();
      },
    });
    if (stop) stops.set(uri, stop);
    else outcomes.set(uri, false);
  }
  check();

  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.waitMs)));
  const aborted = new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  await Promise.race([allAnswered, waited, aborted]);
  clearTimeout(timer);

  for (const [uri, outcome] of outcomes) {
    if (outcome !== false) continue;
    stops.get(uri)?.();
    stops.delete(uri);
  }
  acknowledged = true;
  return {
    honored: uris.filter((uri) => outcomes.get(uri) !== false),
    attach(listener) {
      deliver = listener;
      return () => {
        deliver = undefined;
      };
    },
    stop() {
      for (const stop of stops.values()) stop();
      stops.clear();
    },
  };
}
