import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, inputRequired, inputResponse, McpServer } from '@modelcontextprotocol/server';
import { listenForMcp } from './mcp-http.ts';

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
  const listener = await listenForMcp((req, res) => node(req, res));
  return {
    url: listener.url,
    reads,
    async close() {
      await handler.close();
      await listener.close();
    },
  };
}
