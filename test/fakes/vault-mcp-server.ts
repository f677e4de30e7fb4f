import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, inputRequired, inputResponse, McpServer } from '@modelcontextprotocol/server';

/**
 * A 2026-07-28 upstream with one resource, `vault://secret`, that asks the reader who they are
 * (form elicitation) and answers with that reader's secret. Its reads carry a cache hint (60 s, private),
 * as the spec lets a server say: the answer may be kept by *that* client.
 */
export async function startVaultMcpServer(): Promise<{ url: string; reads: string[]; close(): Promise<void> }> {
  const reads: string[] = [];
  const handler = createMcpHandler(() => {
    const server = new McpServer(
      { name: 'vault', version: '1.0.0' },
      { cacheHints: { 'resources/read': { ttlMs: 60_000, cacheScope: 'private' } } },
    );
    server.registerResource('secret', 'vault://secret', { mimeType: 'text/plain' }, async (uri, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'who');
      if (answer.kind !== 'elicit' || answer.action !== 'accept') {
        reads.push('asked');
        return inputRequired({
          inputRequests: {
            who: inputRequired.elicit({ message: 'Who are you?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } }),
          },
        });
      }
      const name = String(answer.content?.['name']);
      reads.push(`revealed:${name}`);
      return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: `the secret of ${name}` }] };
    });
    return server;
  });
  const node = toNodeHandler(handler);
  const httpServer = http.createServer((req, res) => {
    node(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`,
    reads,
    async close() {
      await handler.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
