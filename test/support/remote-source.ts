import type { ToolCallContext } from '../../src/servers/tool-source.ts';

/** A call context that wants no progress, cancelled through `signal`. */
export function quietContext(signal = new AbortController().signal): ToolCallContext {
  return { signal, progress: async () => undefined };
}

/** Waits, checking every 10 ms, until `condition` holds; throws after `timeoutMs`. */
export async function pollUntil(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Headers any HTTP client sends, and the ones the MCP transport manages: what is left came from the source's configuration. */
export const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'content-type',
  'content-length',
  'accept',
  'accept-encoding',
  'accept-language',
  'sec-fetch-mode',
  'user-agent',
  'mcp-protocol-version',
  // The v2 client's era probe and 2026-07-28 requests send these; 2025-era requests do not.
  'mcp-method',
  'mcp-name',
  'mcp-session-id',
]);
