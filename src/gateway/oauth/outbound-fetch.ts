import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { isAddressAllowed } from '../../servers/index.ts';

/** What oidc-provider passes to its `fetch` hook (a GET of a client metadata document). */
export interface OutboundInit {
  method?: string | undefined;
  headers?: ConstructorParameters<typeof Headers>[0];
  body?: string | undefined;
  signal?: AbortSignal | null | undefined;
}

/** Thrown when a URL resolves to an address the operator has not allowed. */
export class RefusedAddressError extends Error {
  override readonly name = 'RefusedAddressError';
}

const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * A fetch for the authorization server's outbound requests (Client ID Metadata
 * Documents) under the gateway's address policy: private and reserved
 * addresses are refused unless in BOTGATE_ALLOW_PRIVATE_NETWORKS. The check
 * runs on the addresses the socket actually connects to (no DNS rebinding
 * window), and redirects are not followed.
 */
export function createPolicyFetch(allowPrivateNetworks: readonly string[]) {
  const refused = (address: string) => new RefusedAddressError(`${address} is a private or reserved address the operator has not allowed (BOTGATE_ALLOW_PRIVATE_NETWORKS)`);

  const lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const bad = addresses.find((a) => !isAddressAllowed(a.address, allowPrivateNetworks));
      if (bad || addresses.length === 0) return callback(bad ? refused(bad.address) : new Error(`${hostname} has no address`), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses as [LookupAddress];
      return callback(null, first.address, first.family);
    });
  };

  return function policyFetch(input: string | URL, init: OutboundInit = {}): Promise<Response> {
    const target = new URL(input);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (target.protocol !== 'https:' && target.protocol !== 'http:') return Promise.reject(new TypeError(`unsupported protocol ${target.protocol}`));
    if (isIP(host) && !isAddressAllowed(host, allowPrivateNetworks)) return Promise.reject(refused(host));
    const client = target.protocol === 'https:' ? https : http;
    const method = init.method ?? 'GET';
    return new Promise((resolve, reject) => {
      const request = client.request(
        target,
        { method, headers: Object.fromEntries(new Headers(init.headers).entries()), lookup, ...(init.signal && { signal: init.signal }) },
        (response) => {
          const status = response.statusCode ?? 502;
          const headers = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (Array.isArray(value)) for (const v of value) headers.append(name, v);
            else if (value !== undefined) headers.set(name, value);
          }
          const empty = NULL_BODY.has(status) || method === 'HEAD';
          if (empty) response.resume();
          resolve(new Response(empty ? null : (Readable.toWeb(response) as ReadableStream<Uint8Array>), { status, headers }));
        },
      );
      request.on('error', reject);
      request.end(init.body);
    });
  };
}
