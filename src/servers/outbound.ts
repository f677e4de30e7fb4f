import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP, Socket, type LookupFunction } from 'node:net';
import { callbackify } from 'node:util';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { findCause } from '../shared/errors.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, limitResponse } from './message-limit.ts';
import { isAddressAllowed } from './policy.ts';

/** Resolves a host name to every address it has, as `dns.lookup` with `all: true` does. */
export type ResolveHost = (hostname: string, options: LookupOptions) => Promise<LookupAddress[]>;

/** The global fetch's signature, as the MCP client and Octokit take it. */
export type OutboundFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** One HTTP request sent with `OutboundGuard.request`. */
export interface OutboundRequestOptions {
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** A response whose body is a node stream: read it, or `dump()` it so the connection is reused. */
export type OutboundResponse = Pick<Dispatcher.ResponseData, 'statusCode' | 'headers' | 'body'>;

/**
 * An HTTP request over the guard's own agent, with node streams instead of
 * fetch's web streams (several times cheaper per request). Redirects are not
 * followed: a 3xx comes back as the response.
 */
export type OutboundRequest = (url: URL, options: OutboundRequestOptions) => Promise<OutboundResponse>;

/** A connection refused because it would reach an address the operator has not allowed; nothing was sent. */
export class OutboundRefusedError extends Error {
  override readonly name = 'OutboundRefusedError';
  constructor(
    /** The host name or address the connection was for. */
    readonly host: string,
    /** Why, naming the refused address. */
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** The refusal behind an error, looking through the causes fetch, Octokit and pg wrap it in. */
export function findOutboundRefusal(error: unknown): OutboundRefusedError | undefined {
  return findCause(error, OutboundRefusedError);
}

/**
 * Tenants' servers' outbound connections under the operator's address policy.
 * Each connection resolves its host through a lookup that checks every
 * address, so the address checked is the address connected to: a host that
 * resolves elsewhere between a check and the connection (DNS rebinding) is
 * refused there. Literal addresses, which skip the lookup, are checked before
 * connecting.
 */
export interface OutboundGuard {
  /** The global fetch over an agent whose every connection (redirects included) is checked; bodies read through `maxMessageBytes`. */
  fetch: OutboundFetch;
  /** A request over the same checked agent as `fetch`, for hot paths; its caller reads the body within `maxMessageBytes` (see message-limit.ts). */
  request: OutboundRequest;
  /** The most one message of a response may hold: a JSON body, or one event of an event stream (stdio sources use it for one line). */
  maxMessageBytes: number;
  /** An unconnected TCP socket whose `connect(port, host)` is checked, for pg's `stream` option. */
  createSocket: () => Socket;
}

const systemResolve: ResolveHost = (hostname, options) => dnsLookup(hostname, { ...options, all: true });

/**
 * One guard, and one connection pool, per policy: built once by the servers
 * module and shared by its sources. `resolve` replaces the system resolver.
 */
export function createOutboundGuard({
  allowPrivateNetworks,
  maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
  resolve = systemResolve,
}: {
  allowPrivateNetworks: readonly string[];
  maxMessageBytes?: number;
  resolve?: ResolveHost;
}): OutboundGuard {
  function refusalOf(host: string, address: string): OutboundRefusedError | undefined {
    if (isAddressAllowed(address, allowPrivateNetworks)) return undefined;
    const what = host === address ? `${host} is` : `${host} resolves to ${address},`;
    return new OutboundRefusedError(host, `${what} a private or reserved address the operator has not allowed (BOTGATE_ALLOW_PRIVATE_NETWORKS)`);
  }

  /** The refusal of a literal address host (`[::1]` included); undefined for names and allowed addresses. */
  function refusalOfLiteral(host: string): OutboundRefusedError | undefined {
    const bare = host.replace(/^\[|\]$/g, '');
    return isIP(bare) ? refusalOf(bare, bare) : undefined;
  }

  // Refuses the whole name when any of its addresses is refused, as the configuration check does.
  const resolveAllowed = callbackify(async (hostname: string, options: LookupOptions): Promise<LookupAddress[]> => {
    const addresses = await resolve(hostname, options);
    const refused = addresses.map((a) => refusalOf(hostname, a.address)).find((r) => r !== undefined);
    if (refused) throw refused;
    if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
    return addresses;
  });

  const lookup: LookupFunction = (hostname, options, callback) => {
    resolveAllowed(hostname, options, (error, addresses) => {
      const [first] = addresses ?? [];
      if (error || !first) callback(error ?? new Error(`${hostname} has no address`), '', 0);
      else if ((options as { all?: boolean }).all) (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      else callback(null, first.address, first.family);
    });
  };

  const connect = buildConnector({ lookup });
  const agent = new Agent({
    connect(options, callback) {
      const refusal = refusalOfLiteral(options.hostname);
      if (refusal) callback(refusal, null);
      else connect(options, callback);
    },
  });

  function createSocket(): Socket {
    const socket = new Socket();
    const connectSocket = socket.connect.bind(socket);
    const refuse = (error: Error) => {
      // Failed as a connection would, so the caller's 'error' listener, attached after connect(), sees it.
      process.nextTick(() => socket.destroy(error));
      return socket;
    };
    socket.connect = (port: unknown, host: unknown) => {
      // pg passes a Unix socket path alone: not a network address the policy can judge.
      if (typeof port !== 'number' || typeof host !== 'string') {
        return refuse(new OutboundRefusedError(String(port), 'only TCP connections to a host name or address are allowed'));
      }
      const refusal = refusalOfLiteral(host);
      return refusal ? refuse(refusal) : connectSocket({ port, host, lookup });
    };
    return socket;
  }

  return {
    fetch: async (input, init) =>
      limitResponse(
        await fetch(input, {
          ...init,
          // The MCP client passes one signal for its whole connection; fetch adds an abort listener
          // to it per request, dropped only on garbage collection (nodejs/undici#5285), so a busy
          // upstream would pile up listeners and warnings. A signal of the request's own follows it
          // without a listener on it (AbortSignal.any holds its dependants weakly).
          ...(init?.signal && { signal: AbortSignal.any([init.signal]) }),
          dispatcher: agent,
        }),
        maxMessageBytes,
      ),
    request: (url, { method, headers, body, signal }) =>
      agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        body: body ?? null,
        ...(signal && { signal }),
      }),
    createSocket,
    maxMessageBytes,
  };
}
