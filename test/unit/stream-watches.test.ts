import type { ServerEvent } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { openStreamWatches } from '../../src/gateway/mcp/stream-watches.ts';
import type { ResourceWatchListener } from '../../src/servers/index.ts';

/** A catalog's watchResource over scripted upstream answers: `true`/`false` after a tick, `'silent'` never, `'unpublished'` not watchable at all. */
function catalog(answers: Record<string, boolean | 'silent' | 'unpublished'>) {
  const listeners = new Map<string, ResourceWatchListener>();
  const stopped: string[] = [];
  const watchResource = (uri: string, listener: ResourceWatchListener) => {
    const answer = answers[uri] ?? 'unpublished';
    if (answer === 'unpublished') return undefined;
    listeners.set(uri, listener);
    if (answer !== 'silent') setImmediate(() => listener.accepted?.(answer));
    return () => void stopped.push(uri);
  };
  return { watchResource, listeners, stopped };
}

// A wait longer than a test may run, unless a test sets its own: answers (or an abort) must end it.
const options = (overrides: { waitMs?: number; signal?: AbortSignal; onEnded?: () => void } = {}) => ({
  waitMs: 10 * 60_000,
  signal: new AbortController().signal,
  onEnded: () => {},
  ...overrides,
});

describe('openStreamWatches', () => {
  it('honors what the upstreams accepted, and stops watching what they refused or nobody publishes', async () => {
    const upstream = catalog({ 'r://ok': true, 'r://refused': false });
    const watches = await openStreamWatches(upstream.watchResource, ['r://ok', 'r://refused', 'r://nowhere'], options());
    expect(watches.honored).toEqual(['r://ok']);
    expect(upstream.stopped).toEqual(['r://refused']);
    watches.stop();
    expect(upstream.stopped).toEqual(['r://refused', 'r://ok']);
  });

  it('honors a resource whose upstream has not answered by the end of the wait, and keeps watching it', async () => {
    const upstream = catalog({ 'r://ok': true, 'r://down': 'silent' });
    const watches = await openStreamWatches(upstream.watchResource, ['r://ok', 'r://down'], options({ waitMs: 50 }));
    expect(watches.honored).toEqual(['r://ok', 'r://down']);
    expect(upstream.stopped).toEqual([]);
  });

  it('stops waiting when the client goes away', async () => {
    const upstream = catalog({ 'r://down': 'silent' });
    const controller = new AbortController();
    const opening = openStreamWatches(upstream.watchResource, ['r://down'], options({ signal: controller.signal }));
    controller.abort();
    expect((await opening).honored).toEqual(['r://down']);
  });

  it('hands updates to the listener attached, none before it and none after it detaches', async () => {
    const upstream = catalog({ 'r://ok': true });
    const watches = await openStreamWatches(upstream.watchResource, ['r://ok'], options());
    const events: ServerEvent[] = [];
    const listener = upstream.listeners.get('r://ok');
    listener?.updated({ uri: 'r://ok', title: 'before' });
    const detach = watches.attach((event) => events.push(event));
    listener?.updated({ uri: 'r://ok', title: 'during' });
    detach();
    listener?.updated({ uri: 'r://ok', title: 'after' });
    expect(events).toEqual([{ kind: 'resource_updated', uri: 'r://ok', params: { title: 'during' } }]);
  });

  it('tells onEnded, on a later turn, when a watched source closes', async () => {
    const upstream = catalog({ 'r://ok': true });
    let ended = 0;
    await openStreamWatches(upstream.watchResource, ['r://ok'], options({ onEnded: () => (ended += 1) }));
    upstream.listeners.get('r://ok')?.ended();
    expect(ended).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(1);
  });

  it('tells onEnded when an upstream that had not answered refuses after the acknowledgement, and not when it accepts', async () => {
    const upstream = catalog({ 'r://late-yes': 'silent', 'r://late-no': 'silent' });
    let ended = 0;
    const watches = await openStreamWatches(upstream.watchResource, ['r://late-yes', 'r://late-no'], options({ waitMs: 20, onEnded: () => (ended += 1) }));
    expect(watches.honored).toEqual(['r://late-yes', 'r://late-no']);

    upstream.listeners.get('r://late-yes')?.accepted?.(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(0);

    upstream.listeners.get('r://late-no')?.accepted?.(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(1);
  });
});
