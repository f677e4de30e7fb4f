import type { OutboundInit } from './outbound-fetch.ts';

/** The loopback hosts on which oidc-provider lets a native client's redirect use any port. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The most of a fetched document read to look at it; oidc-provider then applies its own, smaller limits. */
const MAX_DOCUMENT_BYTES = 64 * 1024;

type Fetch = (input: string | URL, init?: OutboundInit) => Promise<Response>;

/** Where a redirect sends the person back to: an app on their computer (on loopback, or by the app's own scheme), or the web. */
function destination(uri: unknown): 'loopback' | 'app' | 'web' {
  const url = typeof uri === 'string' ? URL.parse(uri) : null;
  if (url?.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return 'loopback';
  return url && url.protocol !== 'http:' && url.protocol !== 'https:' ? 'app' : 'web';
}

/**
 * Whether a client is a native app, one on the person's computer. It is when
 * it says so; and when its redirects all come back to the computer (loopback
 * http, or an app's own scheme) and it names no type, or names `web` along
 * with an app's scheme, which no web app could receive (Cursor registers so).
 * Taken for a web client instead, it would be refused: its loopback redirect
 * must then match to the port, while an app listens on whatever port is free
 * (RFC 8252 §7.3, OAuth 2.1 §4.1.1), and an app's scheme is no web address.
 * Dangerous schemes (`javascript:` and the like) are refused by the provider
 * for native clients too.
 */
export function isNativeClient(declared: unknown, redirects: unknown): boolean {
  if (declared === 'native') return true;
  if ((declared !== undefined && declared !== 'web') || !Array.isArray(redirects) || redirects.length === 0) return false;
  const destinations = redirects.map(destination);
  if (destinations.includes('web')) return false;
  return declared === undefined || destinations.includes('app');
}

/**
 * A client metadata document as read here: `application_type: native` added
 * when `isNativeClient` takes it for one without its saying so (Claude Code's
 * published document names no type and has loopback redirects only).
 * Anything else is returned as it is.
 */
export function nativeByDefault(document: unknown): unknown {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return document;
  const { application_type: type, redirect_uris: redirects } = document as Record<string, unknown>;
  if (type === 'native' || !isNativeClient(type, redirects)) return document;
  return { ...document, application_type: 'native' };
}

/** The whole body, or an error once it passes `limit` bytes. */
async function readBounded(response: Response, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  const reader = response.body?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
    received += read.value.byteLength;
    if (received > limit) {
      await reader?.cancel();
      throw new Error('response too large');
    }
    chunks.push(Buffer.from(read.value));
  }
  return Buffer.concat(chunks);
}

/**
 * `fetch` with the documents it brings (client metadata documents) passed
 * through `nativeByDefault`, whatever their declared type, as the provider
 * reads them; other answers are handed on unchanged.
 */
export function readingNativeByDefault(fetch: Fetch): Fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.status !== 200) return response;
    const body = await readBounded(response, MAX_DOCUMENT_BYTES);
    let document: unknown;
    try {
      document = JSON.parse(body.toString('utf8'));
    } catch {
      // Not JSON: the provider refuses it as it would have.
      return new Response(body, { status: response.status, headers: response.headers });
    }
    const read = nativeByDefault(document);
    if (read === document) return new Response(body, { status: response.status, headers: response.headers });
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    return new Response(JSON.stringify(read), { status: response.status, headers });
  };
}
