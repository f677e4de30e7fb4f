import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { readLegacyToolCall } from '../../src/gateway/mcp/legacy-tool-call.ts';

const HEADERS = {
  'content-type': 'application/json',
  'content-length': '200',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

function requestWith(headers: Record<string, string | undefined>): IncomingMessage {
  const merged = Object.fromEntries(Object.entries({ ...HEADERS, ...headers }).filter(([, value]) => value !== undefined));
  return { method: 'POST', headers: merged } as unknown as IncomingMessage;
}

const call = (params: Record<string, unknown> = { name: 'read_file', arguments: { path: 'a.txt' } }, fields: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 3,
  method: 'tools/call',
  params,
  ...fields,
});

describe('readLegacyToolCall', () => {
  it('reads a 2025-era call as the SDK gives it to handlers: `_meta` whole, none when none was sent', () => {
    expect(readLegacyToolCall(requestWith({}), call())).toEqual({ id: 3, name: 'read_file', args: { path: 'a.txt' }, meta: undefined });
    const meta = { progressToken: 'p-1', 'io.botgate/chain': ['x'] };
    expect(readLegacyToolCall(requestWith({}), call({ name: 'read_file', _meta: meta }))).toEqual({ id: 3, name: 'read_file', args: {}, meta, progressToken: 'p-1' });
  });

  it('reads every 2025 revision the SDK serves', () => {
    for (const version of ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07']) {
      expect(readLegacyToolCall(requestWith({ 'mcp-protocol-version': version }), call())).toMatchObject({ name: 'read_file' });
    }
  });

  const leftToSdk: Array<[string, Record<string, string | undefined>, unknown]> = [
    ['no revision named (the SDK assumes one)', { 'mcp-protocol-version': undefined }, call()],
    ['a revision the SDK does not serve', { 'mcp-protocol-version': '2024-01-01' }, call()],
    ['the 2026-07-28 revision', { 'mcp-protocol-version': '2026-07-28' }, call()],
    ['a client that takes JSON only', { accept: 'application/json' }, call()],
    ['a client that takes event streams only', { accept: 'text/event-stream' }, call()],
    ['a batch', {}, [call()]],
    ['another method', {}, { ...call(), method: 'tools/list' }],
    ['a notification', {}, { jsonrpc: '2.0', method: 'tools/call', params: { name: 'read_file' } }],
    ['a fractional id', {}, call(undefined, { id: 1.5 })],
    ['a wrong JSON-RPC version', {}, call(undefined, { jsonrpc: '1.0' })],
    ['a name that is not a string', {}, call({ name: 7 })],
    ['arguments that are not an object', {}, call({ name: 'read_file', arguments: ['a.txt'] })],
    ['`_meta` that is not an object', {}, call({ name: 'read_file', _meta: 'x' })],
    ['a progress token that is neither string nor number', {}, call({ name: 'read_file', _meta: { progressToken: { a: 1 } } })],
    ['a task', {}, call({ name: 'read_file', task: { ttl: 1000 } })],
    ['a 2026-07-28 retry', {}, call({ name: 'read_file', requestState: 's' })],
    ['2026-07-28 envelope keys in `_meta` (the SDK takes them out)', {}, call({ name: 'read_file', _meta: { 'io.modelcontextprotocol/clientCapabilities': {} } })],
    ['no params', {}, { jsonrpc: '2.0', id: 3, method: 'tools/call' }],
  ];
  for (const [what, headers, body] of leftToSdk) {
    it(`leaves ${what} to the SDK`, () => {
      expect(readLegacyToolCall(requestWith(headers), body)).toBeUndefined();
    });
  }
});
