import type { ServerResponse } from 'node:http';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import type { Request } from 'express';
import type { ListKind } from '../../servers/index.ts';
import { EVENT_STREAM_HEADERS, KEEP_ALIVE_MS } from './direct-tool-call.ts';

/**
 * Whether a request opens a 2025-era stream for server messages: a GET that
 * accepts an event stream, from a client of a 2025 revision (it names one, or
 * none: 2025-03-26 clients send no version). Anything else the SDK answers
 * (405: 2026-07-28 clients listen with `subscriptions/listen` instead).
 */
export function isLegacyStreamRequest(req: Request): boolean {
  if (req.method !== 'GET' || req.get('mcp-method') !== undefined) return false;
  const version = req.get('mcp-protocol-version')?.trim();
  if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return false;
  return (req.get('accept') ?? '').toLowerCase().includes('text/event-stream');
}

/** The most a client that stops reading may leave unread before its stream is ended: it listens again when it reads on. */
export const MAX_UNREAD_BYTES = 64 * 1024;

const METHOD_OF: Record<ListKind, string> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
};

/** An open 2025-era stream of list-change notifications. */
export interface LegacyStream {
  /** Tells the client that `list` changed. */
  changed(list: ListKind): void;
  /** Ends the stream; the client opens another (on this node or another). */
  end(): void;
}

/**
 * Opens the event stream a 2025-era client's GET asked for. Every event has
 * an id, the first one none but it (the spec's priming event), so that a
 * client whose stream ends opens another naming the last id it saw
 * (`Last-Event-ID`); nothing is kept to replay, so it is then told that every
 * list may have changed. Comment frames keep an idle stream through proxies.
 */
export function openLegacyStream(res: ServerResponse): LegacyStream {
  let nextId = 0;
  const send = (data: string) => {
    if (res.writableEnded || res.destroyed) return;
    res.write(`id: ${nextId}\nevent: message\ndata: ${data}\n\n`);
    nextId += 1;
    // Ended at once: ending it gracefully would wait for the client to read.
    if (res.writableLength > MAX_UNREAD_BYTES) res.destroy();
  };
  const keepAlive = setInterval(() => res.write(': keepalive\n\n'), KEEP_ALIVE_MS).unref();
  const end = () => {
    clearInterval(keepAlive);
    if (!res.writableEnded) res.end();
  };
  res.once('close', () => clearInterval(keepAlive));
  res.writeHead(200, EVENT_STREAM_HEADERS);
  send('');
  return {
    changed: (list) => send(JSON.stringify({ jsonrpc: '2.0', method: METHOD_OF[list] })),
    end,
  };
}
