// The MCP Apps upstream of apps-mcp-server.ts over stdio (2025-era, v1 SDK):
// `node --import <tsx> test/fakes/apps-stdio-server.ts`.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createAppsServer } from './apps-mcp-server.ts';

await createAppsServer().connect(new StdioServerTransport());
