/**
 * The global fetch for the benchmarks' MCP clients. The client passes one
 * signal for its whole connection, and fetch adds an abort listener to it per
 * request that only garbage collection drops (nodejs/undici#5285): thousands of
 * calls a second would print listener-leak warnings. A signal of the request's
 * own follows the connection's without a listener on it, as the gateway's own
 * outbound fetch does (src/servers/outbound.ts).
 */
export const clientFetch: typeof fetch = (input, init) =>
  fetch(input, { ...init, ...(init?.signal && { signal: AbortSignal.any([init.signal]) }) });
