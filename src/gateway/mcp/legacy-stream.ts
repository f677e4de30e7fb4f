import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import type { Request } from 'express';
import type { ListKind } from '../../servers/index.ts';
import { EVENT_STREAM_HEADERS, KEEP_ALIVE_MS } from './direct-tool-call.ts';

/**
 * Whether a request opens a 2025-era stream for server messages: a GET that
 * accepts an event stream, from a client of a 2025 revision (it names one, or
 * none: 2025-03-26 clients send no version), on the connection its handshake
 * opened (it names the `Mcp-Session-Id` the gateway gave it; a client of the
 * older HTTP+SSE transport names none, and would wait on the stream for an
 * `endpoint` event). Anything else the SDK answers (405: 2026-07-28 clients
 * listen with `subscriptions/listen` instead).
 */
export function isLegacyStreamRequest(req: Request): boolean {
  if (req.method !== 'GET' || req.get('mcp-method') !== undefined || !req.get('mcp-session-id')) return false;
  const version = req.get('mcp-protocol-version')?.trim();
  if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return false;
  return (req.get('accept') ?? '').toLowerCase().includes('text/event-stream');
}

/**
 * Whether the client's revision (2025-11-25 on) takes the priming event, and
 * opens its stream again when the server ends it; clients of earlier ones
 * open it again only when it breaks.
 */
export function takesPriming(req: Request): boolean {
  const version = req.get('mcp-protocol-version')?.trim();
  return version !== undefined && version >= '2025-11-25';
}

/** How long a client whose stream ended waits before opening another (the priming event's `retry`): a draining node's successor has started by then. */
export const RETRY_MS = 5_000;

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
  /** Ends the stream (see `openLegacyStream`); the client opens another (on this node or another). */
  end(): void;
}

/**
 * Opens the event stream a 2025-era client's GET asked for. Every event has
 * an id, unique to the stream, so that a client whose stream ends opens
 * another naming the last id it saw (`Last-Event-ID`); nothing is kept to
 * replay, so it is then told that every list may have changed. A client that
 * `primed` is sent the spec's priming event first (an id and no data, with
 * the `retry` wait) and has its stream ended when it must end; the stream of
 * an earlier client is broken instead, which it answers by opening another.
 * Comment frames keep an idle stream through proxies.
 */
export function openLegacyStream(res: ServerResponse, primed: boolean): LegacyStream {
  const streamId = randomUUID();
  let nextId = 0;
  const send = (data: string, retry = '') => {
    if (res.writableEnded || res.destroyed) return;
    res.write(`id: ${streamId}-${nextId}\n${retry}event: message\ndata: ${data}\n\n`);
    nextId += 1;
    // Ended at once: ending it gracefully would wait for the client to read.
    if (res.writableLength > MAX_UNREAD_BYTES) res.destroy();
  };
  const keepAlive = setInterval(() => res.write(': keepalive\n\n'), KEEP_ALIVE_MS).unref();
  const end = () => {
    clearInterval(keepAlive);
    if (primed) {
      if (!res.writableEnded) res.end();
    } else res.destroy();
  };
  res.once('close', () => clearInterval(keepAlive));
  // Sent now, whatever follows: a client waits for the head before it reads the stream.
  res.writeHead(200, EVENT_STREAM_HEADERS).flushHeaders();
  if (primed) send('', `retry: ${RETRY_MS}\n`);
  return {
    changed: (list) => send(JSON.stringify({ jsonrpc: '2.0', method: METHOD_OF[list] })),
    end,
  };
}
