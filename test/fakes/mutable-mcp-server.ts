import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { listenForMcp } from './mcp-http.ts';

/**
 * A small MCP server (v2 SDK, both eras) on 127.0.0.1 whose `echo` tool
 * definition a test changes while it runs, as a compromised or careless
 * upstream would. Lists carry no cache hints, so every listing is fresh.
 */
export interface MutableMcpServer {
  url: string;
  /** The description `echo` is listed with from the next request on. */
  echoDescription: string;
  /** Announces a tool list change to the clients listening (`subscriptions/listen`), as a well-behaved upstream does after changing a tool. */
  announceToolsChanged(): void;
  /** Names of the tools called, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

export const ORIGINAL_ECHO_DESCRIPTION = 'Echoes the message back.';

/** Starts the fake upstream on an ephemeral port; its endpoint is `/mcp`. */
export async function startMutableMcpServer(): Promise<MutableMcpServer> {
  const calls: string[] = [];
  const state = { echoDescription: ORIGINAL_ECHO_DESCRIPTION };
  // A server per request, built from the current state: a change shows on the next listing.
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: 'mutable-upstream', version: '1.0.0' });
    server.registerTool(
      'echo',
      { description: state.echoDescription, inputSchema: z.object({ message: z.string() }) },
      async ({ message }) => {
        calls.push('echo');
        return { content: [{ type: 'text', text: `echo: ${message}` }] };
      },
    );
    server.registerTool('ping', { description: 'Answers pong.' }, async () => {
      calls.push('ping');
      return { content: [{ type: 'text', text: 'pong' }] };
    });
    return server;
  });
  const node = toNodeHandler(handler);
  const listener = await listenForMcp((req, res) => node(req, res));
  return {
    url: listener.url,
    get echoDescription() {
      return state.echoDescription;
    },
    set echoDescription(description: string) {
      state.echoDescription = description;
    },
    calls,
    announceToolsChanged: () => handler.notify.toolsChanged(),
    async close() {
      await handler.close();
      await listener.close();
    },
  };
}
