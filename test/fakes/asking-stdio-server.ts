// A 2026-07-28 MCP server over stdio whose tool, prompt and resource ask the client for input:
// `node --import tsx test/fakes/asking-stdio-server.ts`, from the repository's root.
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { registerAskingItems } from './recording-mcp-server.ts';

serveStdio(() => {
  const server = new McpServer({ name: 'asking-stdio', version: '1.0.0' });
  registerAskingItems(server);
  return server;
});
