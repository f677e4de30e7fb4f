import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, Server } from '@modelcontextprotocol/server';
import { clientFetch } from './client-fetch.ts';

export interface BareProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * The least an MCP proxy built on the SDK does, as the gateway is: `createMcpHandler`
 * (dual-era, a server per request) in front of one v2 client connected to the upstream,
 * forwarding tools/list and tools/call, with no authentication, routing, pinning or audit.
 * Its figures are what every call costs when it goes through the SDK on both legs; the
 * gateway's hot calls do not (src/gateway/mcp/direct-tool-call.ts and legacy-tool-call.ts, src/servers/remote/direct-call.ts).
 */
export async function startBareProxy(upstreamUrl: string): Promise<BareProxy> {
  const upstream = new Client({ name: 'bare-proxy', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await upstream.connect(new StreamableHTTPClientTransport(new URL(upstreamUrl), { fetch: clientFetch }));
  const handler = createMcpHandler(
    () => {
      const server = new Server({ name: 'bare-proxy', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler('tools/list', async (request, ctx) => upstream.listTools(request.params, { signal: ctx.mcpReq.signal }));
      server.setRequestHandler('tools/call', async (request, ctx) =>
        upstream.callTool({ name: request.params.name, arguments: request.params.arguments ?? {} }, { signal: ctx.mcpReq.signal }),
      );
      return server;
    },
    { legacy: 'stateless' },
  );
  const serve = toNodeHandler(handler);
  const server = http.createServer((req, res) => void serve(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await upstream.close();
    },
  };
}
