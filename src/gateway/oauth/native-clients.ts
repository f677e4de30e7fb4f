import type { OutboundInit } from './outbound-fetch.ts';

/** The loopback hosts on which oidc-provider lets a native client's redirect use any port. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The most of a fetched document read to look at it; oidc-provider then applies its own, smaller limits. */
const MAX_DOCUMENT_BYTES = 64 * 1024;

type Fetch = (input: string | URL, init?: OutboundInit) => Promise<Response>;

function isLoopbackRedirect(uri: unknown): boolean {
  const url = typeof uri === 'string' ? URL.parse(uri) : null;
  return url?.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * A client metadata document that names no `application_type` and whose
 * redirects are all on loopback, read as a native app's (`native`). Without
 * it the type defaults to `web`, whose redirects must match to the port,
 * while an app on the person's computer listens on whatever port is free
 * (RFC 8252 §7.3, OAuth 2.1 §4.1.1: any port on loopback). Claude Code's
 * published document is such a one. Anything else is returned as it is.
 */
export function nativeByDefault(document: unknown): unknown {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return document;
  const { application_type: type, redirect_uris: redirects } = document as Record<string, unknown>;
  if (type !== undefined || !Array.isArray(redirects) || redirects.length === 0 || !redirects.every(isLoopbackRedirect)) return document;
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
