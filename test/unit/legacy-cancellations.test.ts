import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLegacyCancellations, readLegacyMessage, requestKey } from '../../src/gateway/mcp/legacy-cancellations.ts';
import { createInProcessChangeBus } from '../../src/shared/change-bus.ts';

const logger = pino({ level: 'silent' });

describe('readLegacyMessage', () => {
  it('reads a request’s id and the id a cancellation names', () => {
    expect(readLegacyMessage({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: {} })).toEqual({ kind: 'request', id: 7 });
    expect(readLegacyMessage({ jsonrpc: '2.0', id: 'a', method: 'resources/read' })).toEqual({ kind: 'request', id: 'a' });
    expect(readLegacyMessage({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'a', reason: 'x' } })).toEqual({ kind: 'cancelled', requestId: 'a' });
  });

  it('takes nothing else for either: batches, answers, other notifications, ids that are not ids', () => {
    for (const body of [
      [{ jsonrpc: '2.0', id: 1, method: 'tools/call' }],
      { jsonrpc: '2.0', id: 1, result: {} },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: { nested: 1 } } },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: null },
      { jsonrpc: '2.0', id: null, method: 'tools/call' },
      null,
      'tools/call',
    ]) {
      expect(readLegacyMessage(body)).toEqual({ kind: 'other' });
    }
  });
});

describe('requestKey', () => {
  it('tells credentials, endpoints, sessions and ids apart, a number from its string included', () => {
    const keys = [
      requestKey('bgk_a', '/t/acme/mcp', '', 1),
      requestKey('bgk_b', '/t/acme/mcp', '', 1),
      requestKey('bgk_a', '/t/acme/mcp/servers/rec', '', 1),
      requestKey('bgk_a', '/t/acme/mcp', 's1', 1),
      requestKey('bgk_a', '/t/acme/mcp', 's2', 1),
      requestKey('bgk_a', '/t/acme/mcp', '', '1'),
      requestKey('bgk_a', '/t/acme/mcp', '', 2),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(requestKey('bgk_a', '/t/acme/mcp', '', 1)).toBe(keys[0]);
    expect(keys[0]).not.toContain('bgk_a');
  });
});

describe('createLegacyCancellations', () => {
  it('tells the other nodes only of a request it does not serve itself', () => {
    const bus = createInProcessChangeBus(logger);
    const published: unknown[] = [];
    bus.subscribe((event) => published.push(event));
    const cancellations = createLegacyCancellations(bus, logger);
    const cancelled: string[] = [];
    cancellations.track('here', () => cancelled.push('here'));
    cancellations.cancelled('tenant', 'here');
    expect([cancelled, published]).toEqual([['here'], []]);
    cancellations.cancelled('tenant', 'elsewhere');
    expect(published).toEqual([{ kind: 'message', topic: 'mcp.request.cancelled', payload: { tenantId: 'tenant', key: 'elsewhere' } }]);
  });

  it('cancels the one request under a key, once it is told, and none after it ended', () => {
    const cancellations = createLegacyCancellations(createInProcessChangeBus(logger), logger);
    const cancelled: string[] = [];
    const untrack = cancellations.track('k1', () => cancelled.push('k1'));
    cancellations.track('k2', () => cancelled.push('k2'));
    cancellations.cancelled('tenant', 'k1');
    expect(cancelled).toEqual(['k1']);
    untrack();
    cancellations.cancelled('tenant', 'k1');
    expect(cancelled).toEqual(['k1']);
  });

  it('cancels neither of two requests under one key, and the one left after the other ended', () => {
    const cancellations = createLegacyCancellations(createInProcessChangeBus(logger), logger);
    const cancelled: string[] = [];
    const untrackFirst = cancellations.track('k', () => cancelled.push('first'));
    cancellations.track('k', () => cancelled.push('second'));
    cancellations.cancelled('tenant', 'k');
    expect(cancelled).toEqual([]);
    untrackFirst();
    cancellations.cancelled('tenant', 'k');
    expect(cancelled).toEqual(['second']);
  });
});
