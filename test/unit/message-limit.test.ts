import { describe, expect, it } from 'vitest';
import { bodySizeGuard, eventSizeGuard, findMessageTooLarge, limitResponse, MessageTooLargeError, reportingOverflow } from '../../src/servers/message-limit.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const event = (size: number, end = '\n\n') => `data: ${'x'.repeat(size - 6 - end.length)}${end}`;

describe('bodySizeGuard', () => {
  it('lets a body up to the limit through, across chunks, and refuses the byte after', () => {
    const guard = bodySizeGuard(10);
    guard(bytes('12345'));
    guard(bytes('67890'));
    expect(() => guard(bytes('!'))).toThrow(MessageTooLargeError);
  });
});

describe('eventSizeGuard', () => {
  it('counts each event on its own, so a stream may carry any number of events under the limit', () => {
    const guard = eventSizeGuard(100);
    expect(() => {
      for (let i = 0; i < 1_000; i++) guard(bytes(event(100)));
    }).not.toThrow();
  });

  it('refuses an event over the limit, whether it arrives whole or in pieces', () => {
    expect(() => eventSizeGuard(100)(bytes(`${event(50)}${event(101)}${event(50)}`))).toThrow(MessageTooLargeError);
    const guard = eventSizeGuard(100);
    guard(bytes('data: '));
    guard(bytes('x'.repeat(60)));
    expect(() => guard(bytes('x'.repeat(60)))).toThrow(/more than 100 bytes/);
  });

  it.each([
    ['LF', '\n\n'],
    ['CRLF', '\r\n\r\n'],
    ['CR', '\r\r'],
  ])('ends events at an empty line with %s line ends', (_name, end) => {
    const guard = eventSizeGuard(100);
    expect(() => {
      for (let i = 0; i < 10; i++) guard(bytes(event(100, end)));
      // A CRLF split between chunks is still one line end.
      guard(bytes('data: a\r'));
      guard(bytes('\n\r\n'));
      guard(bytes(event(100, end)));
    }).not.toThrow();
    expect(() => guard(bytes(event(150, end)))).toThrow(MessageTooLargeError);
  });

  it('does not take a CRLF for an empty line', () => {
    const guard = eventSizeGuard(100);
    // Two lines of 60 bytes each, CRLF-ended, with no empty line between: one event of 124 bytes.
    expect(() => guard(bytes(`data: ${'x'.repeat(54)}\r\ndata: ${'x'.repeat(54)}\r\n`))).toThrow(MessageTooLargeError);
  });
});

describe('limitResponse', () => {
  it('passes a body within the limit unchanged, with status, headers and url', async () => {
    const original = new Response('{"ok":true}', { status: 201, statusText: 'Created', headers: { 'content-type': 'application/json', 'x-a': 'b' } });
    Object.defineProperty(original, 'url', { value: 'http://127.0.0.1:1/mcp' });
    const limited = limitResponse(original, 1024);
    expect([limited.status, limited.statusText, limited.headers.get('x-a'), limited.url]).toEqual([201, 'Created', 'b', 'http://127.0.0.1:1/mcp']);
    expect(await limited.json()).toEqual({ ok: true });
  });

  it('fails reading a JSON body over the limit', async () => {
    const limited = limitResponse(new Response('x'.repeat(2048), { headers: { 'content-type': 'application/json' } }), 1024);
    const error: unknown = await limited.text().catch((e: unknown) => e);
    expect(findMessageTooLarge(error)?.limit).toBe(1024);
  });

  it('lets an event stream run past the limit in total, and fails at an event over it', async () => {
    const stream = event(1000).repeat(10);
    const fine = limitResponse(new Response(stream, { headers: { 'content-type': 'text/event-stream; charset=utf-8' } }), 1024);
    expect(await fine.text()).toBe(stream);
    const tooLarge = limitResponse(new Response(`${stream}${event(2000)}`, { headers: { 'content-type': 'text/event-stream' } }), 1024);
    expect(findMessageTooLarge(await tooLarge.text().catch((e: unknown) => e))).toBeInstanceOf(MessageTooLargeError);
  });

  it('tells the sender of the request whose response passed the limit, and nobody else', async () => {
    const told: Array<[string, number]> = [];
    const sent = async (name: string, body: string) =>
      reportingOverflow(
        (error) => told.push([name, error.limit]),
        async () => {
          // As a client would: the response arrives after an await, its body is read later still.
          await new Promise((resolve) => setTimeout(resolve, 1));
          return limitResponse(new Response(body, { headers: { 'content-type': 'text/event-stream' } }), 1024);
        },
      );
    const [small, large] = await Promise.all([sent('small', event(100)), sent('large', event(2000))]);
    const outside = limitResponse(new Response(event(2000), { headers: { 'content-type': 'text/event-stream' } }), 1024);
    expect(await small.text()).toBe(event(100));
    await expect(large.text()).rejects.toThrow(/more than 1024 bytes/);
    await expect(outside.text()).rejects.toThrow(/more than 1024 bytes/);
    expect(told).toEqual([['large', 1024]]);
  });

  it('leaves a response without a body as it is', () => {
    const empty = new Response(null, { status: 204 });
    expect(limitResponse(empty, 1024)).toBe(empty);
  });
});
