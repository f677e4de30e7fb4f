import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fake Anthropic Messages API on 127.0.0.1: POST /v1/messages replays
 * scripted responses in the real wire format (SSE `event:`/`data:` frames when
 * `stream: true`, a Message JSON body otherwise).
 */

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export type FakeBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'thinking'; thinking: string; signature: string };

/** One SSE frame, or an action between frames. */
export type SseStep = { event: string; data: unknown } | { cut: true } | { stallMs: number };

/** One scripted answer to one request. */
export type FakeReply =
  /** A complete message, rendered as SSE or JSON to match the request's `stream`. */
  | { kind: 'message'; content: FakeBlock[]; usage: FakeUsage; stopReason: string; model?: string }
  /** Raw SSE steps, for broken streams. */
  | { kind: 'sse'; steps: SseStep[] }
  /** An HTTP error with the API's error body. */
  | { kind: 'http_error'; status: number; errorType: string; message: string; headers?: Record<string, string> };

/** A complete scripted message, as the builders return it. */
export type MessageReply = Extract<FakeReply, { kind: 'message' }>;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** Set when the client dropped the connection before the reply was complete. */
  clientClosed: boolean;
}

export interface FakeAnthropic {
  url: string;
  requests: RecordedRequest[];
  /** Queues replies, answered in order, one per request, before any `respond` fallback. */
  script(...replies: FakeReply[]): void;
  /** Drops unanswered replies and the recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_MODEL = 'claude-sonnet-4-5';
const newId = (prefix: string) => `${prefix}_fake${randomBytes(8).toString('hex')}`;

/** Fixed-size pieces, so JSON is split mid-token as the real API does. */
function chunk(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

function fullUsage(usage: FakeUsage) {
  return { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...usage };
}

/** A reply of one text block. */
export function textReply(text: string, usage: FakeUsage = { input_tokens: 10, output_tokens: 5 }): MessageReply {
  return { kind: 'message', content: [{ type: 'text', text }], usage, stopReason: 'end_turn' };
}

/** A reply asking for one or more tool calls, optionally after some text. */
export function toolUseReply(calls: { name: string; input: Record<string, unknown>; id?: string }[], usage: FakeUsage = { input_tokens: 10, output_tokens: 20 }, text?: string): MessageReply {
  const tools: FakeBlock[] = calls.map((c) => ({ type: 'tool_use', id: c.id ?? newId('toolu'), name: c.name, input: c.input }));
  return { kind: 'message', content: [...(text === undefined ? [] : [{ type: 'text' as const, text }]), ...tools], usage, stopReason: 'tool_use' };
}

/** A reply of a thinking block (with signature) then text. */
export function thinkingReply(thinking: string, text: string, usage: FakeUsage = { input_tokens: 10, output_tokens: 30 }): MessageReply {
  return { kind: 'message', content: [{ type: 'thinking', thinking, signature: `sig-${thinking.length}-EqQKCkgIARAB` }, { type: 'text', text }], usage, stopReason: 'end_turn' };
}

/** An HTTP error with the API's error body, e.g. `httpError(429, 'rate_limit_error', 'slow down', { 'retry-after': '0' })`. */
export function httpError(status: number, errorType: string, message: string, headers?: Record<string, string>): FakeReply {
  return { kind: 'http_error', status, errorType, message, ...(headers && { headers }) };
}

/** The Message object a `message` reply stands for. */
export function toMessage(reply: MessageReply) {
  return {
    id: newId('msg'),
    type: 'message',
    role: 'assistant',
    model: reply.model ?? DEFAULT_MODEL,
    content: reply.content,
    stop_reason: reply.stopReason,
    stop_sequence: null,
    usage: fullUsage(reply.usage),
  };
}

/** The SSE frames the real API sends for a message: deltas split, a ping after message_start. */
export function messageEvents(reply: MessageReply): SseStep[] {
  const message = toMessage(reply);
  const steps: SseStep[] = [
    { event: 'message_start', data: { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } } } },
    { event: 'ping', data: { type: 'ping' } },
  ];
  reply.content.forEach((block, index) => {
    const delta = (d: unknown): SseStep => ({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: d } });
    if (block.type === 'text') {
      steps.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } } });
      for (const piece of chunk(block.text, 4)) steps.push(delta({ type: 'text_delta', text: piece }));
    } else if (block.type === 'tool_use') {
      steps.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } } });
      steps.push(delta({ type: 'input_json_delta', partial_json: '' }));
      for (const piece of chunk(JSON.stringify(block.input), 7)) steps.push(delta({ type: 'input_json_delta', partial_json: piece }));
    } else {
      steps.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } } });
      for (const piece of chunk(block.thinking, 6)) steps.push(delta({ type: 'thinking_delta', thinking: piece }));
      steps.push(delta({ type: 'signature_delta', signature: block.signature }));
    }
    steps.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  steps.push(
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: reply.stopReason, stop_sequence: null }, usage: { output_tokens: reply.usage.output_tokens } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  );
  return steps;
}

/**
 * The SSE frames of a reply whose last tool call stops halfway through its input, as when `max_tokens` or the
 * context window ends the reply there (give the reply that stop reason): the block is closed with the JSON
 * written so far, then message_delta carries the stop reason and the final usage.
 */
export function cutInToolInput(reply: MessageReply): SseStep[] {
  const steps = messageEvents(reply);
  const index = reply.content.findLastIndex((block) => block.type === 'tool_use');
  const pieces = steps.flatMap((step, i) => {
    const data = 'event' in step ? (step.data as { index?: number; delta?: { type?: string; partial_json?: string } }) : undefined;
    return data?.index === index && data.delta?.type === 'input_json_delta' && data.delta.partial_json !== '' ? [i] : [];
  });
  if (pieces.length < 2) throw new Error('cutInToolInput: the last tool call needs a longer input to cut');
  const dropped = new Set(pieces.slice(Math.floor(pieces.length / 2)));
  return steps.filter((_step, i) => !dropped.has(i));
}

/** The `error` frame the API sends mid-stream. */
export function errorEvent(errorType: string, message: string): SseStep {
  return { event: 'error', data: { type: 'error', error: { type: errorType, message } } };
}

/** Raw SSE steps, e.g. `sseReply([...messageEvents(r).slice(0, 4), { cut: true }])`. */
export function sseReply(steps: SseStep[]): FakeReply {
  return { kind: 'sse', steps };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req'), ...headers });
  res.end(JSON.stringify(body));
}

/** The API's refusal of a request offering a tool under a name it does not take; undefined when all are fine. */
function invalidToolName(body: unknown): string | undefined {
  const tools = typeof body === 'object' && body !== null ? (body as { tools?: unknown }).tools : undefined;
  if (!Array.isArray(tools)) return undefined;
  const index = tools.findIndex((tool: { name?: unknown }) => typeof tool.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name));
  return index < 0 ? undefined : `tools.${index}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`;
}

/**
 * The API's refusal of an empty text block in `system` or in a message's content (with `cache_control`
 * on it, or without); undefined when there is none.
 */
function emptyTextBlock(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { system, messages } = body as { system?: unknown; messages?: unknown };
  const blocks: Array<{ at: string; field: string; block: { type?: unknown; text?: unknown; cache_control?: unknown } }> = [];
  if (Array.isArray(system)) system.forEach((block, i) => blocks.push({ at: `system.${i}`, field: 'system', block }));
  if (Array.isArray(messages)) {
    messages.forEach((message: { content?: unknown }, m) => {
      if (Array.isArray(message.content)) message.content.forEach((block, i) => blocks.push({ at: `messages.${m}.content.${i}`, field: 'messages', block }));
    });
  }
  const empty = blocks.find(({ block }) => block.type === 'text' && block.text === '');
  if (!empty) return undefined;
  return empty.block.cache_control ? `${empty.at}.text: cache_control cannot be set for empty text blocks` : `${empty.field}: text content blocks must be non-empty`;
}

const apiError = (type: string, message: string) => ({ type: 'error', error: { type, message }, request_id: newId('req') });

/** Waits `ms`, or less if the fake closes or the client leaves first. */
function pause(ms: number, res: ServerResponse, closing: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      closing.removeEventListener('abort', done);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    closing.addEventListener('abort', done);
    res.once('close', done);
  });
}

const isDelta = (step: SseStep) => 'event' in step && step.event === 'content_block_delta';

async function writeSse(res: ServerResponse, steps: SseStep[], closing: AbortSignal, deltaDelayMs: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': newId('req') });
  let deltas = 0;
  for (const step of steps) {
    if (closing.aborted || res.destroyed) return;
    if ('cut' in step) {
      // Let the written frames reach the client, then drop the connection without a chunked terminator.
      await new Promise((resolve) => setTimeout(resolve, 20));
      res.socket?.destroy();
      return;
    }
    if ('stallMs' in step) {
      await pause(step.stallMs, res, closing);
      continue;
    }
    // Paced between deltas, not before the first: the time to first token stays what it is unpaced.
    if (deltaDelayMs > 0 && isDelta(step)) {
      if (deltas > 0) await pause(deltaDelayMs, res, closing);
      if (closing.aborted || res.destroyed) return;
      deltas += 1;
    }
    res.write(`event: ${step.event}\ndata: ${JSON.stringify(step.data)}\n\n`);
  }
  res.end();
}

export interface FakeAnthropicOptions {
  apiKey?: string;
  /** Answers a request when no scripted reply is queued; without it such a request gets a 500. */
  respond?: (body: unknown) => FakeReply;
  /** Pause between consecutive `content_block_delta` frames of a stream, so that streams last and overlap. */
  deltaDelayMs?: number;
}

/** Starts the fake on 127.0.0.1, port 0. */
export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const apiKey = options.apiKey ?? 'sk-ant-test-key';
  const deltaDelayMs = options.deltaDelayMs ?? 0;
  const queue: FakeReply[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  // Every stream pausing (paced or stalled) listens for the fake closing; hundreds may at once.
  setMaxListeners(0, closing.signal);

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const piece of req) chunks.push(piece as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, clientClosed: false };
    requests.push(recorded);
    res.once('close', () => {
      if (!res.writableFinished && !closing.signal.aborted) recorded.clientClosed = true;
    });

    if (req.method !== 'POST' || path !== '/v1/messages') {
      sendJson(res, 404, apiError('not_found_error', `Not found: ${req.method} ${path}`));
      return;
    }
    const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice('Bearer '.length) : undefined;
    if (req.headers['x-api-key'] !== apiKey && bearer !== apiKey) {
      sendJson(res, 401, apiError('authentication_error', 'invalid x-api-key'));
      return;
    }
    if (typeof req.headers['anthropic-version'] !== 'string') {
      sendJson(res, 400, apiError('invalid_request_error', 'anthropic-version: header is required'));
      return;
    }
    const refusal = invalidToolName(body) ?? emptyTextBlock(body);
    if (refusal) {
      sendJson(res, 400, apiError('invalid_request_error', refusal));
      return;
    }
    const reply = queue.shift() ?? options.respond?.(body);
    if (!reply) {
      sendJson(res, 500, apiError('api_error', 'fake Anthropic: no scripted reply left'));
      return;
    }
    const streaming = typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true;
    if (reply.kind === 'http_error') {
      sendJson(res, reply.status, apiError(reply.errorType, reply.message), reply.headers);
    } else if (reply.kind === 'sse') {
      await writeSse(res, reply.steps, closing.signal, deltaDelayMs);
    } else if (streaming) {
      await writeSse(res, messageEvents(reply), closing.signal, deltaDelayMs);
    } else {
      sendJson(res, 200, toMessage(reply));
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => {
      queue.push(...replies);
    },
    reset: () => {
      queue.length = 0;
      requests.length = 0;
    },
    close: async () => {
      closing.abort();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
