import type { ServerResponse } from 'node:http';
import { toNodeHandler, type NodeIncomingMessageLike } from '@modelcontextprotocol/node';
import { classifyInboundRequest, createMcpHandler, type McpHttpHandler, type McpServerFactory, type ServerEvent, type ServerEventBus } from '@modelcontextprotocol/server';
import type { Request } from 'express';
import type { ChangeBus, ChangeEvent } from '../../shared/change-bus.ts';
import { AppError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { ALL_LISTS, readListsChange, type ListKind, type ResourceWatchListener } from '../../servers/index.ts';
import { readCredentialsChanged, readTenantDeleted } from '../../tenancy/index.ts';
import { openLegacyStream } from './legacy-stream.ts';
import { ACCEPT_WAIT_MS, openStreamWatches, type StreamWatches } from './stream-watches.ts';

/** Whose changes one `subscriptions/listen` stream may hear. */
export interface ListenScope {
  tenantId: string;
  /** The server of a single-server endpoint; undefined on the tenant's aggregate endpoint. */
  server: string | undefined;
  /** Whether the stream's key may see a server at all. */
  mayUseServer(slug: string): boolean;
  /** Hears of updates to a resource the endpoint publishes (see `ContentCatalog.watchResource`). */
  watchResource(uri: string, listener: ResourceWatchListener): (() => void) | undefined;
  /** Whether the credential that opened the stream still holds: not revoked, not expired. */
  credentialHolds(): Promise<boolean>;
  /**
   * `credentialChangesHeard()` before the credential was authenticated: a change
   * heard since, which no check of it may have seen yet, has it checked again once held.
   */
  credentialChangesSeen?: number | undefined;
}

/** How often an open stream's credential is checked again, besides when the tenant's credentials change: an expired one's stream ends within this. */
export const RECHECK_CREDENTIAL_MS = 10_000;

/** An open stream a node holds: how to end it, and to check its credential again now. */
interface HeldStream {
  end(): void;
  recheck(): void;
}

/** Streams one tenant may hold open on one node; each holds a connection. */
const MAX_STREAMS_PER_TENANT = 256;
/** How often a tenant's streams refused for the limit are logged at most. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** Resources one stream may watch; each may hold a subscription upstream. */
export const MAX_RESOURCE_SUBSCRIPTIONS = 100;

const EVENT_OF: Record<ListKind, ServerEvent> = {
  tools: { kind: 'tools_list_changed' },
  prompts: { kind: 'prompts_list_changed' },
  resources: { kind: 'resources_list_changed' },
};

/** The lists a bus event changes for a stream of `scope`: none for another tenant's, or another server's, change. */
export function listsForScope(event: ChangeEvent, scope: ListenScope): readonly ListKind[] {
  // Messages were lost: every list may have changed. Saying so tells nobody anything about anyone.
  if (event.kind === 'resync') return ALL_LISTS;
  const change = readListsChange(event);
  if (!change || change.tenantId !== scope.tenantId) return [];
  if (scope.server !== undefined && change.serverSlug !== scope.server) return [];
  if (!scope.mayUseServer(change.serverSlug)) return [];
  return change.lists;
}

/** The SDK events a bus event means for a stream of `scope` (see `listsForScope`). */
export function eventsForScope(event: ChangeEvent, scope: ListenScope): ServerEvent[] {
  return listsForScope(event, scope).map((kind) => EVENT_OF[kind]);
}

/** The resource URIs a `subscriptions/listen` body asks to hear of; the SDK refuses a malformed filter itself. */
export function requestedResources(body: unknown): string[] {
  const params = (body as { params?: { notifications?: { resourceSubscriptions?: unknown } } } | null)?.params;
  const uris = params?.notifications?.resourceSubscriptions;
  return Array.isArray(uris) ? [...new Set(uris.filter((uri): uri is string => typeof uri === 'string'))] : [];
}

/**
 * The body with its resource filter narrowed to `honored` URIs, so that the
 * SDK acknowledges only subscriptions that can deliver updates (see
 * `StreamWatches.honored`). A malformed filter is left for the SDK to refuse.
 */
export function narrowResourceFilter(body: unknown, honored: (uri: string) => boolean): unknown {
  const params = (body as { params?: { notifications?: { resourceSubscriptions?: unknown } } } | null)?.params;
  const uris = params?.notifications?.resourceSubscriptions;
  if (!Array.isArray(uris) || !uris.every((uri): uri is string => typeof uri === 'string')) return body;
  const { notifications } = params as { notifications: Record<string, unknown> };
  return {
    ...(body as Record<string, unknown>),
    params: { ...params, notifications: { ...notifications, resourceSubscriptions: uris.filter(honored) } },
  };
}

/**
 * The SDK's listen router hands each stream's listener to `subscribe` with no
 * word of whose stream it is; this bus is made for one stream, so it knows.
 * Publishing goes through the change bus, never through here. Resource updates
 * come from the stream's own watches, ended with it.
 */
function scopedEventBus(changes: ChangeBus, scope: ListenScope, watches: StreamWatches | undefined): ServerEventBus {
  return {
    publish: () => {},
    subscribe: (listener) => {
      const stopChanges = changes.subscribe((event) => {
        for (const sdkEvent of eventsForScope(event, scope)) listener(sdkEvent);
      });
      const detach = watches?.attach(listener);
      return () => {
        stopChanges();
        detach?.();
        watches?.stop();
      };
    },
  };
}

/** Whether a body is a well-formed 2026-07-28 `subscriptions/listen` request, as the SDK's classifier judges it. */
function isListenBody(req: NodeIncomingMessageLike, body: unknown): boolean {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const route = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: header('mcp-protocol-version'),
    mcpMethodHeader: header('mcp-method'),
    mcpNameHeader: header('mcp-name'),
    body,
  });
  return route.kind === 'modern' && route.messageKind === 'request' && route.message.method === 'subscriptions/listen';
}

/** Whether a request is a 2026-07-28 `subscriptions/listen`; the SDK refuses one whose header and body disagree. */
export function isListenRequest(req: Request): boolean {
  return req.get('mcp-method')?.trim() === 'subscriptions/listen';
}

export interface ListenStreams {
  /**
   * Serves one `subscriptions/listen` request (authenticated already, `req.auth`
   * set) for `scope`; `body` is its body when already read and parsed.
   */
  serve(req: NodeIncomingMessageLike, res: ServerResponse, scope: ListenScope, body?: unknown): Promise<void>;
  /**
   * Serves a 2025-era client's GET stream (see legacy-stream.ts) for `scope`:
   * the changes its scope may hear to the `lists` the endpoint offers, as the
   * 2025 notifications. `resumed` when the client names the last event it saw
   * on a stream that ended; `primed` when its revision takes the priming event.
   */
  serveLegacy(res: ServerResponse, scope: ListenScope, options: { lists: readonly ListKind[]; resumed: boolean; primed: boolean }): void;
  /** How many changes to credentials (any tenant's) this node has heard of: read before authenticating a stream's request. */
  credentialChangesHeard(): number;
}

/**
 * Serves `subscriptions/listen` with the SDK's own listen router, through a
 * handler made for that one stream whose bus delivers only the changes its
 * scope may hear, and updates of the resources it asked for; and 2025-era GET
 * streams, which hear the same changes. A stream lives as long as its handler
 * (or response); when `stopping` aborts, every open stream is ended
 * gracefully so draining need not wait, and when a tenant is deleted (on any
 * node), its streams on this node end. A stream whose watched server closes
 * (reconfigured, deleted) ends too, so its client listens again; so does one
 * whose credential was revoked or expired (checked every
 * `RECHECK_CREDENTIAL_MS`).
 */
export function createListenStreams(options: {
  changes: ChangeBus;
  factory: McpServerFactory;
  logger: Logger;
  maxBodyBytes: number;
  stopping: AbortSignal | undefined;
  /** Streams one tenant may hold open on this node, those still opening included. Default 256. */
  maxStreamsPerTenant?: number;
  /** How long a stream waits for its upstreams' answers before it is acknowledged. Default `ACCEPT_WAIT_MS`. */
  acceptWaitMs?: number;
  /** How often an open stream's credential is checked again. Default `RECHECK_CREDENTIAL_MS`. */
  recheckCredentialMs?: number;
}): ListenStreams {
  const { changes, factory, logger, stopping } = options;
  const maxStreams = options.maxStreamsPerTenant ?? MAX_STREAMS_PER_TENANT;
  // Each open stream (how to end it, and to check its credential now), by tenant.
  const perTenant = new Map<string, Set<HeldStream>>();
  // Changes to credentials heard of, any tenant's (see `ListenScope.credentialChangesSeen`).
  let credentialChanges = 0;
  // Streams still waiting for their upstreams' answers, by tenant: they count against the limit too.
  const opening = new Map<string, number>();
  const countOpening = (tenantId: string, by: number) => {
    const count = (opening.get(tenantId) ?? 0) + by;
    if (count > 0) opening.set(tenantId, count);
    else opening.delete(tenantId);
  };
  const onerror = (error: Error) => logger.warn({ err: error }, 'subscriptions/listen stream error');
  const end = (streams: Iterable<HeldStream>) => {
    for (const stream of streams) stream.end();
  };
  const endHandler = (handler: McpHttpHandler) => () => void handler.close().catch(onerror);

  // Refusals for the limit, logged once a minute per tenant with how many followed: a client retrying cannot flood the log.
  const refusals = new Map<string, { loggedAt: number; since: number }>();
  const logRefusal = (tenantId: string) => {
    const now = performance.now();
    const last = refusals.get(tenantId);
    if (last && now - last.loggedAt < REFUSAL_LOG_INTERVAL_MS) {
      last.since += 1;
      return;
    }
    const message = 'a stream was refused: the tenant holds the most this node allows (BOTGATE_MAX_STREAMS_PER_TENANT)';
    logger.warn({ tenantId, limit: maxStreams, refusedSinceLastWarning: last?.since ?? 0 }, message);
    refusals.set(tenantId, { loggedAt: now, since: 0 });
  };

  /** Refuses a stream the node cannot take: it is stopping, or the tenant holds its most. */
  const admit = (tenantId: string) => {
    if (stopping?.aborted) throw new AppError('unavailable', 'the gateway is shutting down; listen again on another node');
    if ((perTenant.get(tenantId)?.size ?? 0) + (opening.get(tenantId) ?? 0) >= maxStreams) {
      logRefusal(tenantId);
      throw new AppError('rate_limited', `this tenant already holds ${maxStreams} open streams on this node`);
    }
  };

  /**
   * Holds an open stream until `res` closes: counted, ended with its tenant, and when its credential stops
   * holding. That is checked when the tenant's credentials change (a key revoked or narrowed, a member removed,
   * an approval withdrawn, an access token revoked, on any node), and every `recheckCredentialMs` for what
   * changes unannounced (expiry, a change whose message the bus lost).
   */
  const hold = (res: ServerResponse, scope: ListenScope, endStream: () => void) => {
    // One check at a time: a burst of changes checks each stream once more, not once per change.
    let checking = false;
    let checkAgain = false;
    const recheck = () => {
      if (checking) {
        checkAgain = true;
        return;
      }
      checking = true;
      void (async () => {
        try {
          if (!(await scope.credentialHolds())) endStream();
        } catch (error) {
          logger.warn({ err: error }, 'checking an open stream’s credential failed; checked again later');
        } finally {
          checking = false;
          if (checkAgain && !res.closed) {
            checkAgain = false;
            recheck();
          }
        }
      })();
    };
    const stream: HeldStream = { end: endStream, recheck };
    const held = perTenant.get(scope.tenantId) ?? new Set<HeldStream>();
    perTenant.set(scope.tenantId, held.add(stream));
    const timer = setInterval(recheck, options.recheckCredentialMs ?? RECHECK_CREDENTIAL_MS);
    timer.unref();
    // A change heard while the stream's credential was being authenticated or its watches opened.
    if (scope.credentialChangesSeen !== undefined && scope.credentialChangesSeen !== credentialChanges) recheck();
    res.once('close', () => {
      clearInterval(timer);
      held.delete(stream);
      if (held.size === 0 && perTenant.get(scope.tenantId) === held) perTenant.delete(scope.tenantId);
    });
  };

  stopping?.addEventListener('abort', () => {
    for (const handlers of perTenant.values()) end(handlers);
  });
  changes.subscribe((event) => {
    const deleted = readTenantDeleted(event);
    if (deleted !== undefined) end(perTenant.get(deleted) ?? []);
    const changed = readCredentialsChanged(event);
    if (changed === undefined) return;
    credentialChanges += 1;
    for (const stream of perTenant.get(changed) ?? []) stream.recheck();
  });

  return {
    async serve(req, res, scope, body) {
      const requested = requestedResources(body);
      if (requested.length > MAX_RESOURCE_SUBSCRIPTIONS) {
        throw new AppError('bad_request', `a subscriptions/listen stream may watch at most ${MAX_RESOURCE_SUBSCRIPTIONS} resources; it asked for ${requested.length}`);
      }
      admit(scope.tenantId);
      // Watched before the stream is acknowledged, so that the acknowledgement names only what can be delivered;
      // only for a well-formed request, so that one the SDK refuses subscribes to nothing upstream.
      const closed = new AbortController();
      if (res.closed) closed.abort();
      res.once('close', () => closed.abort());
      let endStream: (() => void) | undefined;
      let sourceEnded = false;
      const onEnded = () => {
        sourceEnded = true;
        endStream?.();
      };
      let watches: StreamWatches | undefined;
      if (requested.length > 0 && isListenBody(req, body)) {
        countOpening(scope.tenantId, 1);
        try {
          watches = await openStreamWatches((uri, listener) => scope.watchResource(uri, listener), requested, {
            waitMs: options.acceptWaitMs ?? ACCEPT_WAIT_MS,
            signal: closed.signal,
            onEnded,
          });
        } finally {
          countOpening(scope.tenantId, -1);
        }
      }
      res.once('close', () => watches?.stop());
      if (closed.signal.aborted || sourceEnded || stopping?.aborted) {
        watches?.stop();
        if (closed.signal.aborted) return;
        throw new AppError('unavailable', sourceEnded ? 'a watched server changed while the stream opened; listen again' : 'the gateway is shutting down; listen again on another node');
      }
      const created = createMcpHandler(factory, {
        legacy: 'stateless',
        bus: scopedEventBus(changes, scope, watches),
        maxSubscriptions: 1,
        maxRequestBodySize: options.maxBodyBytes,
        onerror,
      });
      endStream = endHandler(created);
      hold(res, scope, endStream);
      // Nothing is acknowledged that is not watched.
      const honored = new Set(watches?.honored);
      const narrowed = narrowResourceFilter(body, (uri) => honored.has(uri));
      await toNodeHandler(created, { maxRequestBodySize: options.maxBodyBytes, onerror })(req, res, narrowed);
    },

    serveLegacy(res, scope, { lists, resumed, primed }) {
      // A client gone while it was authenticated: nothing is held for it, since its close will not be heard again.
      if (res.closed) return;
      admit(scope.tenantId);
      const stream = openLegacyStream(res, primed);
      const offered = (list: ListKind) => lists.includes(list);
      const stopChanges = changes.subscribe((event) => {
        for (const list of listsForScope(event, scope).filter(offered)) stream.changed(list);
      });
      res.once('close', stopChanges);
      hold(res, scope, () => stream.end());
      // Nothing was kept for the client while it was away: whatever it missed, every list may have changed.
      if (resumed) for (const list of lists) stream.changed(list);
    },

    credentialChangesHeard: () => credentialChanges,
  };
}
