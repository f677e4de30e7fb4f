import type { Logger } from '../../shared/logger.ts';
import { outgoingVia, VIA_HEADER } from '../../shared/via.ts';
import type { ListKind } from '../list-changes.ts';
import type { OutboundGuard } from '../outbound.ts';
import type { HeldCallLink } from './held-call-relay.ts';
import { createProxySource, type RemoteSource } from './proxy-source.ts';
import { createResourceWatches } from './resource-watch.ts';
import type { DroppedTool } from './tool-listing.ts';
import { buildUpstreamHeaders, createUpstreamConnector } from './upstream-connection.ts';
import { withResourceWatches } from './watched-source.ts';

/** How to reach a tenant's own Streamable HTTP MCP server. */
export interface RemoteSourceOptions {
  url: string;
  /** Non-secret headers sent on every upstream request. */
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer <token>` on every upstream request. */
  token?: string;
  /** Secret headers sent on every upstream request. */
  secretHeaders?: Record<string, string>;
  /** The operator's policy-checked fetch and requests: every connection goes only to allowed addresses. */
  outbound: Pick<OutboundGuard, 'fetch' | 'request' | 'maxMessageBytes'>;
  /** Bound on each operation, connecting included; progress from the upstream restarts it. Default 30 s. */
  timeoutMs?: number;
  /** Bound on a tool call in all, whatever progress the upstream reports. Default one hour. */
  maxCallMs?: number;
  /** Bound on establishing a connection and negotiating the protocol era. Default 5 s. */
  connectTimeoutMs?: number;
  /** Negotiated eras by upstream, shared across sources so reconnects skip the probe. */
  eraCache?: Map<string, unknown>;
  /** Told when the connected upstream announces that its tools, prompts or resources changed. */
  onListsChanged?: (lists: ListKind[]) => void;
  /** Told when subscribing a watched resource, or reconnecting for watches, failed; watching goes on. */
  onWatchError?: (error: unknown, uri: string | undefined) => void;
  /** Lets a retry answering the upstream's question reach the call on any node (see `ProxySourceOptions`). */
  heldCalls?: HeldCallLink | undefined;
  /** Told of the upstream's tools left out of a listing because they are invalid (a child logger naming the server). */
  logger?: Pick<Logger, 'warn'> | undefined;
}

/**
 * Proxies a tenant's Streamable HTTP MCP server. It connects on first use
 * (each connection checked against the address policy), sends only the
 * configured credentials, and drops the connection after a transport failure
 * so the next call reconnects.
 * Tool calls never throw for upstream failures: they return `isError` results.
 */
export function createRemoteSource(options: RemoteSourceOptions): Required<Omit<RemoteSource, 'check'>> {
  const upstream = new URL(options.url).host;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const watches = createResourceWatches({
    // Opening a connection is what subscribes the watched resources on it.
    reconnect: async () => {
      (await connector.acquire(() => AbortSignal.timeout(connectTimeoutMs))).release?.();
    },
    onError: (error, uri) => options.onWatchError?.(error, uri),
  });
  const outbound = carryingVia(options.outbound);
  const connector = createUpstreamConnector({
    url: options.url,
    headers: buildUpstreamHeaders(options),
    fetch: outbound.fetch,
    request: outbound.request,
    maxMessageBytes: options.outbound.maxMessageBytes,
    connectTimeoutMs,
    eraCache: options.eraCache,
    onListsChanged: options.onListsChanged,
    watches,
    onToolsDropped: (dropped) => logDropped(options.logger, upstream, dropped),
  });
  const proxy = createProxySource({
    connector,
    upstream,
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.maxCallMs !== undefined && { maxCallMs: options.maxCallMs }),
    heldCalls: options.heldCalls,
  });
  return withResourceWatches(proxy, watches);
}

/** Invalid tools named in the log in one listing, at most: an upstream may list any number. */
const MAX_LOGGED_DROPS = 20;

/** Logs the tools a listing left out, each with its reason, so that an admin can have the upstream fixed. */
function logDropped(logger: Pick<Logger, 'warn'> | undefined, upstream: string, dropped: DroppedTool[]): void {
  for (const { name, reason } of dropped.slice(0, MAX_LOGGED_DROPS)) {
    logger?.warn({ upstream, tool: name, reason }, 'dropped an invalid tool from the upstream’s listing');
  }
  if (dropped.length > MAX_LOGGED_DROPS) {
    logger?.warn({ upstream, more: dropped.length - MAX_LOGGED_DROPS }, 'dropped more invalid tools from the upstream’s listing');
  }
}

/** The outbound requests with the chain of the request being served (via.ts), so that a loop back to this gateway is refused. */
function carryingVia(outbound: Pick<OutboundGuard, 'fetch' | 'request'>): Pick<OutboundGuard, 'fetch' | 'request'> {
  return {
    fetch: (input, init) => {
      const via = outgoingVia();
      if (via === undefined) return outbound.fetch(input, init);
      const headers = new Headers(init?.headers);
      headers.set(VIA_HEADER, via);
      return outbound.fetch(input, { ...init, headers });
    },
    request: (url, options) => {
      const via = outgoingVia();
      return outbound.request(url, via === undefined ? options : { ...options, headers: { ...options.headers, [VIA_HEADER]: via } });
    },
  };
}
