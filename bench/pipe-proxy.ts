import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeRequest } from '../test/support/round-robin-proxy.ts';

export interface PipeProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A reverse proxy that only pipes bytes: every request is sent on to the
 * upstream over a keep-alive connection, and its answer (JSON or an event
 * stream, session headers included) piped back. No MCP, no authentication.
 * Its figures are what the extra loopback hop alone costs on this machine.
 */
export async function startPipeProxy(upstreamUrl: string): Promise<PipeProxy> {
  const upstream = new URL(upstreamUrl);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => pipeRequest(req, res, upstream, agent));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}
