import { PassThrough, Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RecordingResponse } from '../support/recording-response.ts';
import { createAnswer, discardRest, isReadableJsonPost, mayBeDirectToolCall, readBodyText, readDirectToolCall } from '../../src/gateway/mcp/direct-tool-call.ts';

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
      clientCapabilities: {},
    });
    expect(readDirectToolCall(requestWith({}), call({ arguments: undefined }))?.args).toEqual({});
  });

  it('reads the capabilities the client declares, and a retry’s answers and request state', () => {
    const capabilities = { elicitation: { form: {} }, sampling: {} };
    const responses = { confirm: { action: 'accept', content: { sure: true } } };
    const retry = call({ _meta: { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': capabilities }, inputResponses: responses, requestState: 's-1' });
    expect(readDirectToolCall(requestWith({}), retry)).toMatchObject({ clientCapabilities: capabilities, input: { responses, state: 's-1' } });
    expect(readDirectToolCall(requestWith({}), call({ requestState: 's-1' }))?.input).toEqual({ responses: undefined, state: 's-1' });
    expect(readDirectToolCall(requestWith({}), call())?.input).toBeUndefined();
  });

  it('reads a call that asks for progress, with its token, as string or number', () => {
    for (const progressToken of [1, 'p-1']) {
      expect(readDirectToolCall(requestWith({}), call({ _meta: { ...ENVELOPE, progressToken } }))).toEqual({
        id: 'c-1',
        name: 'read_file',
        args: { path: 'a.txt' },
        meta: { progressToken },
        progressToken,
        clientCapabilities: {},
      });
    }
  });

  it.each([
    ['a progress token that is neither string nor number', {}, call({ _meta: { ...ENVELOPE, progressToken: { n: 1 } } })],
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
    ['input responses that are not an object', {}, call({ inputResponses: [{ action: 'accept' }] })],
    ['a request state that is not a string', {}, call({ inputResponses: {}, requestState: 42 })],
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

function answerOn(options?: { openWhenIdle?: boolean }) {
  const res = new RecordingResponse();
  return { res, answer: createAnswer(res as unknown as ServerResponse, options) };
}

const PROGRESS = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } };
const RESULT = { jsonrpc: '2.0', id: 7, result: { content: [] } };

describe('createAnswer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers with one JSON body when nothing precedes the response', () => {
    const { res, answer } = answerOn();
    answer.respond(RESULT);
    const body = JSON.stringify(RESULT);
    expect(res.head).toEqual([200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }]);
    expect(res.chunks).toEqual([body]);
    expect(res.writableEnded).toBe(true);
  });

  it('opens an event stream with the first notification, and ends it with the response', async () => {
    const { res, answer } = answerOn();
    await answer.notify(PROGRESS);
    answer.respond(RESULT);
    expect(res.head).toEqual([
      200,
      { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' },
    ]);
    expect(res.chunks).toEqual([`event: message\ndata: ${JSON.stringify(PROGRESS)}\n\n`, `event: message\ndata: ${JSON.stringify(RESULT)}\n\n`]);
    expect(res.writableEnded).toBe(true);
  });

  it('keeps an open stream alive every 15 s until the response', async () => {
    vi.useFakeTimers();
    const { res, answer } = answerOn();
    await answer.notify(PROGRESS);
    vi.advanceTimersByTime(14_999);
    expect(res.chunks).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(res.chunks.at(-1)).toBe(': keepalive\n\n');
    answer.respond(RESULT);
    vi.advanceTimersByTime(60_000);
    expect(res.chunks.filter((chunk) => chunk.startsWith(':'))).toHaveLength(1);
  });

  it('opens the stream of a call silent for 15 s and keeps it alive, when asked to (2025 era), and ends it with the response', () => {
    vi.useFakeTimers();
    const { res, answer } = answerOn({ openWhenIdle: true });
    vi.advanceTimersByTime(14_999);
    expect(res.head).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(res.head?.[1]['content-type']).toBe('text/event-stream');
    expect(res.chunks).toEqual([': keepalive\n\n']);
    vi.advanceTimersByTime(15_000);
    expect(res.chunks).toEqual([': keepalive\n\n', ': keepalive\n\n']);
    answer.respond(RESULT);
    expect(res.chunks.at(-1)).toBe(`event: message\ndata: ${JSON.stringify(RESULT)}\n\n`);
    vi.advanceTimersByTime(60_000);
    expect(res.chunks).toHaveLength(3);
  });

  it('answers a call that ends within 15 s in one JSON body even when asked to open idle streams, and opens none after', () => {
    vi.useFakeTimers();
    const { res, answer } = answerOn({ openWhenIdle: true });
    vi.advanceTimersByTime(10_000);
    answer.respond(RESULT);
    expect(res.head?.[1]['content-type']).toBe('application/json');
    vi.advanceTimersByTime(60_000);
    expect(res.chunks).toEqual([JSON.stringify(RESULT)]);
  });

  it('opens no stream for a client gone before 15 s', () => {
    vi.useFakeTimers();
    const { res } = answerOn({ openWhenIdle: true });
    res.emit('close');
    vi.advanceTimersByTime(60_000);
    expect(res.head).toBeUndefined();
  });

  it('holds a notification until the client takes more (drain) or goes away', async () => {
    const { res, answer } = answerOn();
    res.full = true;
    let sent = false;
    const first = answer.notify(PROGRESS).then(() => (sent = true));
    await Promise.resolve();
    expect(sent).toBe(false);
    res.emit('drain');
    await first;

    const second = answer.notify(PROGRESS);
    res.emit('close');
    await second;
    expect(res.listenerCount('drain')).toBe(0);
  });

  it('waits once for a slow client however many notifications are sent meanwhile, so listeners do not pile up', async () => {
    const { res, answer } = answerOn();
    res.full = true;
    const waits = Array.from({ length: 50 }, () => answer.notify(PROGRESS));
    expect(res.chunks).toHaveLength(50);
    expect([res.listenerCount('drain'), res.listenerCount('close')]).toEqual([1, 2]);
    res.emit('drain');
    await Promise.all(waits);
    expect(res.listenerCount('drain')).toBe(0);
  });

  it('writes nothing more once the response has ended', async () => {
    const { res, answer } = answerOn();
    answer.respond(RESULT);
    await answer.notify(PROGRESS);
    expect(res.chunks).toHaveLength(1);
  });
});

describe('reading a body', () => {
  const body = (...chunks: string[]) => Readable.from(chunks.map((chunk) => Buffer.from(chunk))) as unknown as IncomingMessage;

  it('reads a body within the limit, and refuses one over it with 413', async () => {
    expect(await readBodyText(body('{"a":', '1}'), 7)).toBe('{"a":1}');
    await expect(readBodyText(body('{"a":', '12}'), 7)).rejects.toMatchObject({ code: 'payload_too_large', message: 'the request body is over 7 bytes' });
  });

  it('refuses a body over the limit only once it has read off the rest, so the client still sending it reads the refusal', async () => {
    const stream = new PassThrough();
    let refused = false;
    const reading = readBodyText(stream as unknown as IncomingMessage, 7).catch((error: unknown) => {
      refused = true;
      throw error;
    });
    stream.write('{"a":12}');
    await new Promise((resolve) => setImmediate(resolve));
    expect(refused).toBe(false);
    stream.end('x'.repeat(1000));
    await expect(reading).rejects.toMatchObject({ code: 'payload_too_large' });
  });

  it('closes the connection rather than read off more than 16 MiB of a refused body', async () => {
    const piece = 'x'.repeat(1024 * 1024);
    const stream = body(...Array.from({ length: 20 }, () => piece));
    // Closing the connection ends the request with it, as on a real socket.
    const destroy = vi.fn<() => void>(() => stream.destroy());
    Object.assign(stream, { socket: { destroy } });
    await discardRest(stream);
    expect(destroy).toHaveBeenCalledOnce();
    expect(stream.readableEnded).toBe(false);
  });

  it.each([
    ['a stated length within the limit', { 'content-length': '100' }, true],
    ['no stated length (chunked)', { 'content-length': undefined }, true],
    ['a stated length over the limit', { 'content-length': '201' }, false],
    ['a length that is not a number', { 'content-length': 'ten' }, false],
    ['a form body', { 'content-type': 'application/x-www-form-urlencoded' }, false],
  ])('takes a JSON POST with %s as readable: %s', (_what, headers, readable) => {
    expect(isReadableJsonPost(requestWith(headers), 200)).toBe(readable);
  });

  it('does not read a GET', () => {
    expect(isReadableJsonPost(requestWith({}, 'GET'), 200)).toBe(false);
  });
});
