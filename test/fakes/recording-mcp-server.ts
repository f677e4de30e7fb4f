import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, inputRequired, inputResponse, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { readBody } from './read-body.ts';

/** One HTTP request the fake upstream received. */
export interface RecordedRequest {
  method: string;
  headers: http.IncomingHttpHeaders;
  /** The JSON-RPC method of a POST body, when it had one. */
  rpcMethod?: string;
}

/** A small MCP server (v2 SDK, both eras) on 127.0.0.1 that records every request it receives. */
export interface RecordingMcpServer {
  url: string;
  requests: RecordedRequest[];
  /** How many tool calls saw their request aborted (the client went away or cancelled) while running. */
  readonly cancellations: number;
  /** Each of those aborts' reason, as the upstream's SDK gave it (a `notifications/cancelled` reason, or an error when the stream closed). */
  readonly cancelReasons: unknown[];
  /** `subscriptions/listen` streams held open now; a client that closes its connection ends its stream. */
  readonly openListenStreams: number;
  close(): Promise<void>;
}

/** A few bytes standing for an audio clip. */
export const WAV_BASE64 = Buffer.from('RIFF0000WAVEfmt ').toString('base64');

/**
 * A tool, a prompt and a resource that ask the client for input first
 * (2026-07-28 multi-round-trip): `delete-file` asks to confirm, keeping the
 * path in its request state, and reports progress before asking when asked
 * for it; `settle` asks nothing, only that the client come back with its
 * state, reporting progress first when asked for it (`settle-after` as
 * many times as it is told); `sign-off` asks for a name; `note://private` asks to reveal itself.
 */
export function registerAskingItems(server: McpServer): void {
  server.registerTool(
    'delete-file',
    { description: 'Deletes a file once the user confirms.', inputSchema: z.object({ path: z.string() }) },
    async ({ path }, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
      if (answer.kind !== 'elicit') {
        // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
        const progressToken = ctx.mcpReq._meta?.progressToken;
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: 1, total: 2, message: 'found it' } });
        }
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({
              message: `Delete ${path}?`,
              requestedSchema: { type: 'object', properties: { sure: { type: 'boolean' } }, required: ['sure'] },
            }),
          },
          requestState: `delete:${path}`,
        });
      }
      const state = ctx.mcpReq.requestState();
      if (state !== `delete:${path}`) return { content: [{ type: 'text', text: `refused: the request state ${String(state)} is not this call's` }], isError: true };
      const confirmed = answer.action === 'accept' && answer.content?.['sure'] === true;
      return { content: [{ type: 'text', text: confirmed ? `deleted ${path}` : `kept ${path} (${answer.action})` }] };
    },
  );
  server.registerTool('settle', { description: 'Answers once the client has come back with its state, asking nothing.' }, async (ctx) => {
    if (ctx.mcpReq.requestState() === 'settling') return { content: [{ type: 'text', text: 'settled' }] };
    // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
    const progressToken = ctx.mcpReq._meta?.progressToken;
    if (progressToken !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: 1, message: 'settling' } });
    return inputRequired({ requestState: 'settling' });
  });
  server.registerTool(
    'settle-after',
    { description: 'Asks to be called again `rounds` times, then answers.', inputSchema: z.object({ rounds: z.number().int() }) },
    async ({ rounds }, ctx) => {
      const calledAgain = Number(ctx.mcpReq.requestState() ?? 0);
      if (calledAgain >= rounds) return { content: [{ type: 'text', text: `settled after ${calledAgain}` }] };
      return inputRequired({ requestState: String(calledAgain + 1) });
    },
  );
  server.registerPrompt('sign-off', { description: 'A sign-off in the name the user gives.' }, async (ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'name');
    if (answer.kind !== 'elicit' || answer.action !== 'accept') {
      return inputRequired({
        inputRequests: { name: inputRequired.elicit({ message: 'Sign off as?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } }) },
      });
    }
    return { messages: [{ role: 'user', content: { type: 'text', text: `Signed off by ${String(answer.content?.['name'])}` } }] };
  });
  server.registerResource('private-note', 'note://private', { mimeType: 'text/plain' }, async (uri, ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'reveal');
    if (answer.kind !== 'elicit' || answer.action !== 'accept') {
      return inputRequired({ inputRequests: { reveal: inputRequired.elicit({ message: 'Show the private note?', requestedSchema: { type: 'object', properties: {} } }) } });
    }
    return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'the private note' }] };
  });
}

function createServer(onCancelled: (reason: unknown) => void): McpServer {
  const server = new McpServer({ name: 'recording-upstream', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes the message back.', inputSchema: z.object({ message: z.string() }) },
    async ({ message }) => ({ content: [{ type: 'text', text: `echo: ${message}` }] }),
  );
  server.registerTool(
    'count',
    { description: 'Counts to `to`, one step every 50 ms, reporting progress; stops when cancelled.', inputSchema: z.object({ to: z.number().int() }) },
    async ({ to }, ctx) => {
      // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (let step = 1; step <= to; step++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        // Cancelled midway, it stops counting, and counts as a cancellation.
        if (ctx.mcpReq.signal.aborted) {
          onCancelled(ctx.mcpReq.signal.reason);
          return { content: [{ type: 'text', text: `stopped at ${step}` }], isError: true };
        }
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: step, total: to } });
        }
      }
      return { content: [{ type: 'text', text: `counted to ${to}` }], structuredContent: { counted: to } };
    },
  );
  server.registerTool('list-numbers', { description: 'Gives its numbers as structured content that is not an object (2026-07-28 allows it).' }, async () => ({
    content: [{ type: 'text', text: '[1,2]' }],
    structuredContent: [1, 2] as unknown as Record<string, unknown>,
  }));
  server.registerTool('report-failure', { description: 'Fails, attaching a recording.' }, async () => ({
    content: [
      { type: 'text', text: 'the recording is corrupt' },
      { type: 'audio', data: WAV_BASE64, mimeType: 'audio/wav' },
    ],
    isError: true,
  }));
  registerAskingItems(server);
  server.registerTool('hang', { description: 'Never answers (until cancelled, or after 10 s).' }, async (ctx) => {
    const { signal } = ctx.mcpReq;
    await new Promise((resolve) => {
      const aborted = () => {
        onCancelled(signal.reason);
        resolve(clearTimeout(timer));
      };
      // Ended on its own, it no longer counts a later abort (its stream closing) as a cancellation.
      const timer = setTimeout(() => resolve(signal.removeEventListener('abort', aborted)), 10_000);
      signal.addEventListener('abort', aborted, { once: true });
    });
    return { content: [{ type: 'text', text: 'too late' }] };
  });
  return server;
}


function rpcMethodOf(body: unknown): string | undefined {
  const method = (body as { method?: unknown } | undefined)?.method;
  return typeof method === 'string' ? method : undefined;
}

/** Starts the fake upstream on an ephemeral port; its endpoint is `/mcp`. */
export async function startRecordingMcpServer(): Promise<RecordingMcpServer> {
  const requests: RecordedRequest[] = [];
  const cancelReasons: unknown[] = [];
  let openListenStreams = 0;
  const handler = createMcpHandler(() => createServer((reason) => cancelReasons.push(reason)));
  const node = toNodeHandler(handler);
  const httpServer = http.createServer((req, res) => {
    void (async () => {
      const text = req.method === 'POST' ? await readBody(req) : '';
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const rpcMethod = rpcMethodOf(body);
      requests.push({ method: req.method ?? '', headers: req.headers, ...(rpcMethod && { rpcMethod }) });
      if (rpcMethod === 'subscriptions/listen') {
        openListenStreams += 1;
        res.once('close', () => (openListenStreams -= 1));
      }
      await node(req, res, body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    get cancellations() {
      return cancelReasons.length;
    },
    cancelReasons,
    get openListenStreams() {
      return openListenStreams;
    },
    async close() {
      await handler.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
