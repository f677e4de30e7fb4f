import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** What the e2e tests need of an MCP client, whichever SDK generation it comes from. */
export interface McpTestClient {
  readonly name: 'v1' | 'v2';
  listToolNames(): Promise<string[]>;
  callTool(name: string, args: Record<string, unknown>): Promise<{ content: unknown[]; isError?: boolean; structuredContent?: unknown }>;
  close(): Promise<void>;
}

const headersFor = (key: string) => ({ authorization: `Bearer ${key}` });

/** The 2025-era client (`@modelcontextprotocol/sdk` 1.x): initialize + session. */
export async function connectV1(url: string, key: string): Promise<McpTestClient> {
  const client = new V1Client({ name: 'e2e-v1', version: '1.0.0' });
  await client.connect(new V1Transport(new URL(url), { requestInit: { headers: headersFor(key) } }));
  return {
    name: 'v1',
    listToolNames: async () => (await client.listTools()).tools.map((t) => t.name),
    callTool: async (name, args) => (await client.callTool({ name, arguments: args })) as Awaited<ReturnType<McpTestClient['callTool']>>,
    close: () => client.close(),
  };
}

/** The v2 client in `auto` mode: speaks 2026-07-28 where the server does. */
export async function connectV2(url: string, key: string): Promise<McpTestClient & { era(): string | undefined }> {
  const client = new V2Client({ name: 'e2e-v2', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new V2Transport(new URL(url), { requestInit: { headers: headersFor(key) } }));
  return {
    name: 'v2',
    era: () => client.getProtocolEra(),
    listToolNames: async () => (await client.listTools()).tools.map((t) => t.name),
    callTool: (name, args) => client.callTool({ name, arguments: args }),
    close: () => client.close(),
  };
}

export const CLIENTS = [
  ['v1', connectV1],
  ['v2', connectV2],
] as const;
