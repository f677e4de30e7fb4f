import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake upstream's HTTP listener: its `/mcp` URL, and a close that drops open connections too. */
export interface McpHttpListener {
  url: string;
  close(): Promise<void>;
}

/** Listens on a free loopback port, answering every request with `handle`; a request it fails gets a bare 500. */
export async function listenForMcp(handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>): Promise<McpHttpListener> {
  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`,
    async close() {
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
