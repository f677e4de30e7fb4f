/**
 * Streams a run's progress to a slow consumer without unbounded buffering:
 * one send is in flight at a time, and text arriving meanwhile is joined onto
 * the text already waiting. What waits is at most the answer itself (bounded
 * by the model's max_tokens) and one entry per tool event; nothing queues per
 * text delta.
 */
export interface ProgressCoalescer<T> {
  text(delta: string): void;
  /** Queues an event after the text before it. */
  event(event: T): void;
  /** Resolves once everything queued so far was sent. */
  flush(): Promise<void>;
}

type Item<T> = { kind: 'text'; text: string } | { kind: 'event'; event: T };

export function createProgressCoalescer<T>(
  send: (item: { kind: 'text'; text: string } | { kind: 'event'; event: T }) => Promise<void>,
  onError: (error: unknown) => void,
): ProgressCoalescer<T> {
  const queue: Item<T>[] = [];
  let sending: Promise<void> | undefined;

  async function drain() {
    for (let item = queue.shift(); item; item = queue.shift()) {
      try {
        await send(item);
      } catch (error) {
        onError(error);
      }
    }
    sending = undefined;
  }

  return {
    text(delta) {
      const last = queue.at(-1);
      if (last?.kind === 'text') last.text += delta;
      else queue.push({ kind: 'text', text: delta });
      sending ??= drain();
    },
    event(event) {
      queue.push({ kind: 'event', event });
      sending ??= drain();
    },
    async flush() {
      // Sends queued while waiting restart the drain; wait for that one too.
      for (let current = sending; current; current = sending) await current;
    },
  };
}
