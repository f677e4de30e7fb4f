const REVISION = '2026-07-28';

export interface RawCall {
  url: string;
  key: string;
  name: string;
  args?: Record<string, unknown>;
  /** Asks for progress. */
  progress?: boolean;
  /** What the client declares it can do, in the request's envelope; none when absent. */
  capabilities?: Record<string, unknown>;
  /** More params of the call: a retry's `inputResponses` and `requestState`. */
  params?: Record<string, unknown>;
  /**
   * Sends the body without a length (chunked): the gateway then leaves the
   * request to the SDK's per-request server, the path the direct one must match.
   */
  chunked?: boolean;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** A 2026-07-28 tools/call as the v2 client sends it, over plain HTTP; `messages` are all the answer's messages, `json` the last. */
export function postToolCall(call: RawCall): Promise<RawAnswer> {
  const meta = {
    'io.modelcontextprotocol/protocolVersion': REVISION,
    'io.modelcontextprotocol/clientCapabilities': call.capabilities ?? {},
    'io.modelcontextprotocol/clientInfo': { name: 'raw-e2e', version: '1.0.0' },
    ...(call.progress && { progressToken: 'progress-1' }),
  };
  const params = { name: call.name, arguments: call.args ?? {}, _meta: meta, ...call.params };
  return post(call, params, { 'mcp-protocol-version': REVISION, 'mcp-method': 'tools/call', 'mcp-name': call.name });
}

/** A 2025-11-25 tools/call as the v1 client sends it after its handshake, over plain HTTP; as `postToolCall` answers. */
export function postLegacyToolCall(call: Omit<RawCall, 'capabilities'>): Promise<RawAnswer> {
  const params = { name: call.name, arguments: call.args ?? {}, ...(call.progress && { _meta: { progressToken: 'progress-1' } }), ...call.params };
  return post(call, params, { 'mcp-protocol-version': '2025-11-25' });
}

/** Posts the call (its own `body`, or a request of id 7 with `params`) with the era's headers, then `call.headers`. */
async function post(call: Omit<RawCall, 'capabilities'>, params: Record<string, unknown>, eraHeaders: Record<string, string>): Promise<RawAnswer> {
  const body = call.body ?? JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params });
  const response = await fetch(call.url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${call.key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...eraHeaders,
      ...call.headers,
    },
    ...(call.chunked ? { body: new Blob([body]).stream(), duplex: 'half' } : { body }),
    ...(call.signal && { signal: call.signal }),
  });
  return readAnswer(response);
}

/** An answer's status and type, its messages (of an event stream, or the one JSON body), and the last of them. */
export interface RawAnswer {
  status: number;
  contentType: string | null;
  json: unknown;
  messages: unknown[];
}

async function readAnswer(response: Response): Promise<RawAnswer> {
  const contentType = response.headers.get('content-type');
  const text = await response.text();
  // Asked for progress, the answer may be a stream: its last message is the response.
  const data = contentType === 'text/event-stream' ? text.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)) : [text];
  const messages = data.map((message) => JSON.parse(message) as unknown);
  return { status: response.status, contentType, json: messages.at(-1), messages };
}
