import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { mayBeDirectToolCall, readDirectToolCall } from '../../src/gateway/mcp/direct-tool-call.ts';

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'unit', version: '1.0.0' },
};

const HEADERS = {
  'content-type': 'application/json',
  'content-length': '200',
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': 'tools/call',
  'mcp-name': 'read_file',
};

function requestWith(headers: Record<string, string | undefined>, method = 'POST'): IncomingMessage {
  const merged = Object.fromEntries(Object.entries({ ...HEADERS, ...headers }).filter(([, value]) => value !== undefined));
  return { method, headers: merged } as unknown as IncomingMessage;
}

const call = (params: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 'c-1',
  method: 'tools/call',
  params: { name: 'read_file', arguments: { path: 'a.txt' }, _meta: { ...ENVELOPE, 'io.botgate/chain': ['x'] }, ...params },
});

describe('readDirectToolCall', () => {
  it('reads a well-formed 2026-07-28 call, giving handlers `_meta` without the envelope as the SDK does', () => {
    expect(readDirectToolCall(requestWith({}), call())).toEqual({
      id: 'c-1',
      name: 'read_file',
      args: { path: 'a.txt' },
      meta: { 'io.botgate/chain': ['x'] },
    });
    expect(readDirectToolCall(requestWith({}), call({ arguments: undefined }))?.args).toEqual({});
  });

  it.each([
    ['a call that asks for progress', {}, call({ _meta: { ...ENVELOPE, progressToken: 1 } })],
    ['a 2025-era call (no envelope)', { 'mcp-protocol-version': '2025-11-25' }, call({ _meta: {} })],
    ['a missing MCP-Protocol-Version header', { 'mcp-protocol-version': undefined }, call()],
    ['a header naming another revision than the body', { 'mcp-protocol-version': '2026-01-01' }, call()],
    ['a missing Mcp-Name header', { 'mcp-name': undefined }, call()],
    ['an Mcp-Name header naming another tool', { 'mcp-name': 'write_file' }, call()],
    ['a Base64-encoded Mcp-Name header', { 'mcp-name': `=?base64?${Buffer.from('read_file').toString('base64')}?=` }, call()],
    ['another method', { 'mcp-method': 'tools/list' }, { ...call(), method: 'tools/list' }],
    ['arguments that are not an object', {}, call({ arguments: ['a.txt'] })],
    ['a name that is not a string', {}, call({ name: 7 })],
    ['a batch', {}, [call()]],
    ['a notification', {}, { jsonrpc: '2.0', method: 'tools/call', params: call().params }],
    ['an envelope without client capabilities', {}, call({ _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } })],
  ])('leaves %s to the SDK', (_what, headers, body) => {
    expect(readDirectToolCall(requestWith(headers), body)).toBeUndefined();
  });
});

describe('mayBeDirectToolCall', () => {
  it('reads only JSON POSTs of stated length within the limit that say they are tool calls', () => {
    expect(mayBeDirectToolCall(requestWith({}), 1_000)).toBe(true);
    expect(mayBeDirectToolCall(requestWith({ 'content-type': 'application/json; charset=utf-8' }), 1_000)).toBe(true);
    expect(mayBeDirectToolCall(requestWith({}, 'GET'), 1_000)).toBe(false);
    expect(mayBeDirectToolCall(requestWith({ 'content-length': undefined }), 1_000)).toBe(false);
    expect(mayBeDirectToolCall(requestWith({ 'content-length': '1001' }), 1_000)).toBe(false);
    expect(mayBeDirectToolCall(requestWith({ 'content-type': 'text/plain' }), 1_000)).toBe(false);
    expect(mayBeDirectToolCall(requestWith({ 'mcp-method': 'tools/list' }), 1_000)).toBe(false);
    expect(mayBeDirectToolCall(requestWith({ 'mcp-method': undefined }), 1_000)).toBe(false);
  });
});
