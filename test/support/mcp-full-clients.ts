import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
  type CallToolResult,
  type ClientCapabilities,
  type CompleteRequestParams,
  type CompleteResult,
  type GetPromptResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplateType,
  type Tool,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** Progress as a client receives it. */
export interface ProgressEvent {
  progress: number;
  total?: number | undefined;
}

/**
 * Every part of the protocol the gateway proxies, from either SDK generation.
 * Results are typed with the v2 shapes; v1 results have the same JSON.
 * (test/support/mcp-clients.ts is the smaller tools-only surface.)
 */
export interface McpFullClient {
  readonly name: 'v1' | 'v2';
  /** What the server declared when the client connected. */
  capabilities(): Record<string, unknown> | undefined;
  /** The instructions the server gave when the client connected. */
  instructions(): string | undefined;
  listTools(): Promise<Tool[]>;
  /** Asks for progress (sending a progress token) when `onProgress` is given. */
  callTool(name: string, args: Record<string, unknown>, onProgress?: (event: ProgressEvent) => void): Promise<CallToolResult>;
  listResources(): Promise<Resource[]>;
  listResourceTemplates(): Promise<ResourceTemplateType[]>;
  readResource(uri: string): Promise<ReadResourceResult>;
  listPrompts(): Promise<Prompt[]>;
  getPrompt(name: string, args?: Record<string, string>): Promise<GetPromptResult>;
  complete(params: CompleteRequestParams): Promise<CompleteResult>;
  close(): Promise<void>;
}

const headersFor = (key: string | undefined): Record<string, string> => (key === undefined ? {} : { authorization: `Bearer ${key}` });

/** The 2025-era client (`@modelcontextprotocol/sdk` 1.x): initialize + session. */
export async function connectFullV1(url: string, key?: string): Promise<McpFullClient> {
  const client = new V1Client({ name: 'e2e-v1', version: '1.0.0' });
  await client.connect(new V1Transport(new URL(url), { requestInit: { headers: headersFor(key) } }));
  return {
    name: 'v1',
    capabilities: () => client.getServerCapabilities(),
    instructions: () => client.getInstructions(),
    listTools: async () => (await client.listTools()).tools as Tool[],
    callTool: async (name, args, onProgress) =>
      (await client.callTool({ name, arguments: args }, undefined, onProgress && { onprogress: onProgress })) as CallToolResult,
    listResources: async () => (await client.listResources()).resources,
    listResourceTemplates: async () => (await client.listResourceTemplates()).resourceTemplates,
    readResource: (uri) => client.readResource({ uri }),
    listPrompts: async () => (await client.listPrompts()).prompts,
    getPrompt: (name, args) => client.getPrompt({ name, ...(args && { arguments: args }) }),
    complete: (params) => client.complete(params),
    close: () => client.close(),
  };
}

/** The v2 client in `auto` mode: speaks 2026-07-28 where the server does. */
export async function connectFullV2(url: string, key?: string, capabilities?: ClientCapabilities): Promise<McpFullClient> {
  const client = new V2Client({ name: 'e2e-v2', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, ...(capabilities && { capabilities }) });
  await client.connect(new V2Transport(new URL(url), { requestInit: { headers: headersFor(key) } }));
  return {
    name: 'v2',
    capabilities: () => client.getServerCapabilities(),
    instructions: () => client.getInstructions(),
    listTools: async () => (await client.listTools()).tools,
    callTool: (name, args, onProgress) => client.callTool({ name, arguments: args }, onProgress && { onprogress: onProgress }),
    listResources: async () => (await client.listResources()).resources,
    listResourceTemplates: async () => (await client.listResourceTemplates()).resourceTemplates,
    readResource: (uri) => client.readResource({ uri }),
    listPrompts: async () => (await client.listPrompts()).prompts,
    getPrompt: (name, args) => client.getPrompt({ name, ...(args && { arguments: args }) }),
    complete: (params) => client.complete(params),
    close: () => client.close(),
  };
}

export const FULL_CLIENTS = [
  ['v1', connectFullV1],
  ['v2', connectFullV2],
] as const;
