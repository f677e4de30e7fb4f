import net from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { listen } from '../../src/gateway/index.ts';

/** A keep-alive client on a raw socket: it sends GET requests and never closes the connection itself. */
function keepAliveClient(url: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    get: (path: string) => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`),
    received: () => received,
    /** Resolves when the server closed the connection. */
    ended,
  };
}

describe('closing the gateway’s HTTP server', () => {
  it('closes a connection whose stream the shutdown ended, without waiting for its keep-alive client to let go', async () => {
    let endStream: (() => void) | undefined;
    const streaming = new Promise<void>((resolve) => (endStream = resolve));
    let opened: () => void = () => {};
    const open = new Promise<void>((resolve) => (opened = resolve));
    const app = express();
    app.get('/stream', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      opened();
      void streaming.then(() => res.end());
    });
    const server = await listen(app, { host: '127.0.0.1', port: 0 });
    const client = keepAliveClient(server.url);
    client.get('/stream');
    await open;

    // The shutdown ends the stream after the server started closing; the client keeps the connection.
    // Left to its client, the connection would hold the close for the whole grace period (an hour here, past the test's timeout).
    const closed = server.close(3_600_000);
    endStream?.();
    await closed;
    await client.ended;
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*: open\n\n[\s\S]*0\r\n\r\n$/);
  }, 20_000);
});
