import { STATUS_CODES } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import {
  extractWWWAuthenticateParams,
  InsufficientScopeError,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  type CallToolResult,
} from '@modelcontextprotocol/client';
import { CallToolResultSchema } from '@modelcontextprotocol/core';
import { createParser } from 'eventsource-parser';
import type { ListKind } from '../list-changes.ts';
import { bodySizeGuard, eventSizeGuard, MessageTooLargeError } from '../message-limit.ts';
import type { OutboundRequest, OutboundRequestOptions, OutboundResponse } from '../outbound.ts';
import { foreignAnswer, isWithinOrigin, jsonMessages } from './checked-fetch.ts';
import type { ResourceUpdate } from './resource-watch.ts';
import { AnswerError, RedirectedError } from './upstream-error.ts';

/**
 * One 2025-era `tools/call` sent as a plain JSON-RPC POST on a session the SDK
 * client opened, instead of through the client (whose fetch, web streams and
 * protocol machinery cost ten times more CPU per call). It behaves as the
 * client does on such a session: progress, pings, cancellation and resumed
 * event streams included, and its failures are the errors the client raises
 * (through `checkingAnswers`), so callers classify them alike.
 */
export type DirectCall = (params: { name: string; arguments: Record<string, unknown> }, options: DirectCallOptions) => Promise<CallToolResult>;

export interface DirectCallOptions {
  /** The caller's cancellation: aborts the request and tells the upstream. */
  signal: AbortSignal;
  /** Bound on waiting for the answer, restarted by each progress notification; paused while a question waits for its answer. */
  timeout: number;
  /** Bound on the call in all, checked as progress arrives; none when absent. */
  maxTotalMs?: number | undefined;
  onprogress: (progress: { progress: number; total?: number; message?: string }) => void;
  /**
   * Told of each request for the client's input the upstream makes during
   * the call (see `ASKING_METHODS`) when `mayAsk` accepts it; the call then
   * waits for `UpstreamAsk.answer`. Without it, or refused, the request is
   * answered "Method not found", as by a client without the capability.
   */
  onAsk?: ((ask: UpstreamAsk) => void) | undefined;
  mayAsk?: ((method: string, params: Record<string, unknown>) => boolean) | undefined;
}

/** The requests for the client's input a 2025-era upstream may make during a call. */
export const ASKING_METHODS: readonly string[] = ['elicitation/create', 'sampling/createMessage'];

/** A request of the upstream's for the client's input, made during a call. */
export interface UpstreamAsk {
  method: string;
  params: Record<string, unknown>;
  /** Sends the client's answer (its result) to the upstream. */
  answer(result: Record<string, unknown>): void;
}

/** What a call does with the messages the upstream sends it besides its answer. */
interface CallHandlers {
  onprogress: DirectCallOptions['onprogress'];
  onAsk?: ((ask: UpstreamAsk) => void) | undefined;
  mayAsk?: DirectCallOptions['mayAsk'];
}

/** The session a direct call joins, as the SDK client negotiated it. */
export interface DirectCallTarget {
  url: URL;
  /** The configured headers (credentials); protocol headers are added here. */
  headers: Headers;
  sessionId: string | undefined;
  protocolVersion: string;
  /** The operator's policy-checked requests. */
  request: OutboundRequest;
  /** The most one message of the upstream's may hold: a JSON body, or one event of a stream. */
  maxMessageBytes: number;
  /** Aborted when the connection closes: calls in flight then fail, as the client's do. */
  closed: AbortSignal;
  /** Told of list changes the upstream sends on a call's stream, as the client relays them. */
  onListsChanged?: ((lists: ListKind[]) => void) | undefined;
  /** Told of resource updates the upstream sends on a call's stream, as the client relays them. */
  onResourceUpdated?: ((update: ResourceUpdate) => void) | undefined;
}

type Message = Record<string, unknown>;

const LIST_CHANGES: Readonly<Record<string, ListKind>> = {
  'notifications/tools/list_changed': 'tools',
  'notifications/prompts/list_changed': 'prompts',
  'notifications/resources/list_changed': 'resources',
};

// As the SDK's 2025 wire schema: a body of another result family does not default into an empty tool result.
const FOREIGN_RESULT_KEYS = ['task', 'inputRequests', 'requestState'];

function isObject(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mediaType(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first?.split(';')[0]?.trim().toLowerCase();
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Redirects followed for one message, as the SDK client's limit. */
const MAX_REDIRECTS = 5;

/**
 * Resuming a call's event stream, as the SDK client's defaults: failed
 * attempts in a row before giving up, and the wait before each unless the
 * upstream named one (`retry:`).
 */
const RESUME = { maxFailures: 2, initialDelayMs: 1_000, growFactor: 1.5, maxDelayMs: 30_000 };

/** Where a call's event stream got to: the last event id it named and the reconnection delay it asked for. */
interface StreamPosition {
  lastEventId?: string;
  retryMs?: number;
}

/**
 * Where a 307 or 308 answer points when the SDK client would follow it: the
 * same origin (or its https form on default ports), without other credentials
 * in the URL. Undefined for any other answer.
 */
export function sameOriginRedirect(from: URL, response: Pick<OutboundResponse, 'statusCode' | 'headers'>): URL | undefined {
  if (response.statusCode !== 307 && response.statusCode !== 308) return undefined;
  const location = headerValue(response.headers.location);
  if (!location || !URL.canParse(location, from.href)) return undefined;
  const to = new URL(location, from);
  const sameUserinfo = (!to.username && !to.password) || (to.username === from.username && to.password === from.password);
  return isWithinOrigin(from, to) && sameUserinfo ? to : undefined;
}

/** A whole body as text, read through the guard: a body over the limit rejects and is not read further. */
async function readText(body: OutboundResponse['body'], limit: number): Promise<string> {
  const guard = bodySizeGuard(limit);
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    guard(chunk as Buffer);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The error the SDK client (with no auth provider, as the connector makes it)
 * raises for a refused POST, so it is classified (and retried) the same way;
 * a redirect not followed is a `RedirectedError`, as through the client's fetch.
 */
async function httpFailure(response: OutboundResponse, from: URL, limit: number): Promise<Error> {
  const status = response.statusCode;
  const text = await readText(response.body, limit).catch(() => null);
  const location = headerValue(response.headers.location);
  if (status >= 300 && status < 400 && location && URL.canParse(location, from.href)) return new RedirectedError(status, new URL(location, from));
  const challenge = headerValue(response.headers['www-authenticate']);
  if (status === 403 && challenge) {
    const { scope, error, errorDescription } = extractWWWAuthenticateParams(
      new Response(null, { status, headers: { 'www-authenticate': challenge } }),
    );
    if (error === 'insufficient_scope') {
      return new InsufficientScopeError({ ...(scope && { requiredScope: scope }), ...(errorDescription && { errorDescription }) });
    }
  }
  return new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, `Error POSTing to endpoint: ${text}`, {
    status,
    statusText: STATUS_CODES[status] ?? '',
    text,
  });
}

/** A `tools/call` result checked as the SDK client checks a 2025-era one. */
export function toCallToolResult(raw: unknown): CallToolResult {
  const invalid = (why: string) => new SdkError(SdkErrorCode.InvalidResult, `Invalid result for tools/call: ${why}`);
  if (!isObject(raw)) throw invalid('not an object');
  const { resultType: _resultType, ...result } = raw;
  if (result['content'] === undefined && FOREIGN_RESULT_KEYS.some((key) => key in result)) {
    throw invalid('content is required in a result of another family');
  }
  const parsed = CallToolResultSchema.safeParse(result);
  if (!parsed.success) throw invalid(String(parsed.error));
  if (parsed.data.structuredContent !== undefined && !isObject(parsed.data.structuredContent)) {
    throw invalid('structuredContent is not an object');
  }
  return parsed.data;
}

/** The error an answer of ours carries, or its result. */
function settle(response: Message): CallToolResult {
  const { error } = response;
  if (error === undefined) return toCallToolResult(response['result']);
  if (isObject(error) && typeof error['code'] === 'number' && typeof error['message'] === 'string') {
    throw ProtocolError.fromError(error['code'], error['message'], error['data']);
  }
  throw new SdkError(SdkErrorCode.InvalidResult, 'Invalid error response for tools/call');
}

/** A call's event stream that ended before its answer: that call fails, the session goes on. */
function noAnswer(): AnswerError {
  return new AnswerError('the upstream ended the response without answering the call', 'unavailable');
}

/** An event stream's content type: the one answer a resumption may get. */
function isEventStream(response: OutboundResponse): boolean {
  return response.statusCode >= 200 && response.statusCode <= 299 && mediaType(response.headers['content-type']) === 'text/event-stream';
}

/** The error a call that ran past its bound in all fails with: the SDK client's own for `maxTotalTimeout`. */
export function totalTimeout(maxTotalTimeout: number, totalElapsed: number): SdkError {
  return new SdkError(SdkErrorCode.RequestTimeout, 'Maximum total timeout exceeded', { maxTotalTimeout, totalElapsed: Math.round(totalElapsed) });
}

/** How the SDK client rejects a request its caller aborted. */
function abortError(reason: unknown): SdkError {
  return reason instanceof SdkError ? reason : new SdkError(SdkErrorCode.RequestTimeout, String(reason));
}

/** Direct `tools/call`s on one 2025-era session; ids never collide with the client's numeric ones. */
export function createDirectCall(target: DirectCallTarget): DirectCall {
  const headers: Record<string, string> = {
    ...Object.fromEntries(target.headers),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': target.protocolVersion,
    ...(target.sessionId && { 'mcp-session-id': target.sessionId }),
  };
  // A stream is resumed with the session's headers, asking for events only.
  const resumeHeaders = { ...Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'content-type')), accept: 'text/event-stream' };
  let lastId = 0;

  /** Sends a request, following same-origin 307/308 redirects as the SDK client does (each hop policy-checked). */
  async function follow(options: OutboundRequestOptions): Promise<OutboundResponse> {
    let url = target.url;
    for (let followed = 0; ; followed++) {
      const response = await target.request(url, options);
      const next = followed < MAX_REDIRECTS ? sameOriginRedirect(url, response) : undefined;
      if (!next) return response;
      await response.body.dump();
      url = next;
    }
  }

  function post(message: Message, signal?: AbortSignal): Promise<OutboundResponse> {
    return follow({ method: 'POST', headers, body: JSON.stringify(message), ...(signal && { signal }) });
  }

  /** Sends a message that needs no answer (a notification, or our answer to the upstream's request); failures are ignored, as the client ignores them. */
  function send(message: Message): void {
    post(message)
      .then((response) => response.body.dump())
      .catch(() => undefined);
  }

  /** Handles one message from the upstream during a call; true when it is the call's answer. */
  function receive(message: Message, id: string, { onprogress, onAsk, mayAsk }: CallHandlers): boolean {
    const { method } = message;
    if (typeof method !== 'string') return message['id'] === id && ('result' in message || 'error' in message);
    const requestId = message['id'];
    const params = isObject(message['params']) ? message['params'] : {};
    if (requestId !== undefined && onAsk && ASKING_METHODS.includes(method) && (mayAsk?.(method, params) ?? true)) {
      // A question for the calling client: it is passed on, and its answer goes back as the reply to this request.
      onAsk({ method, params, answer: (result) => send({ jsonrpc: '2.0', id: requestId, result }) });
      return false;
    }
    if (requestId !== undefined) {
      // A request of the upstream's: a client without capabilities only answers pings.
      send(
        method === 'ping'
          ? { jsonrpc: '2.0', id: message['id'], result: {} }
          : { jsonrpc: '2.0', id: message['id'], error: { code: ProtocolErrorCode.MethodNotFound, message: 'Method not found' } },
      );
      return false;
    }
    if (method === 'notifications/progress' && params['progressToken'] === id && typeof params['progress'] === 'number') {
      onprogress({
        progress: params['progress'],
        ...(typeof params['total'] === 'number' && { total: params['total'] }),
        ...(typeof params['message'] === 'string' && { message: params['message'] }),
      });
    }
    const changed = LIST_CHANGES[method];
    if (changed) target.onListsChanged?.([changed]);
    if (method === 'notifications/resources/updated' && typeof params['uri'] === 'string') target.onResourceUpdated?.({ ...params, uri: params['uri'] });
    return false;
  }

  /** Closes a body not to be read further (destroying emits an abort error, expected here). */
  function discard(body: OutboundResponse['body']): void {
    body.once('error', () => undefined).destroy();
  }

  /** Reads what follows the answer (up to undici's dump limit) so the socket is reused; closing the connection ends it. */
  function drain(body: OutboundResponse['body']): void {
    const destroy = () => body.destroy();
    target.closed.addEventListener('abort', destroy, { once: true });
    body
      .dump()
      .finally(() => target.closed.removeEventListener('abort', destroy))
      .catch(() => undefined);
  }

  /**
   * Reads an event stream until our answer arrives, noting in `position` where
   * it got to. Undefined when the stream ends first. After the answer, the
   * call's own stream is drained so the connection is reused; a resumed one
   * is closed, as the upstream may keep it open for events the call no longer
   * waits for.
   */
  async function readStream(
    body: OutboundResponse['body'],
    id: string,
    handlers: CallHandlers,
    position: StreamPosition,
    resumed: boolean,
  ): Promise<Message | undefined> {
    const pending: Message[] = [];
    const guard = eventSizeGuard(target.maxMessageBytes);
    const decoder = new TextDecoder();
    const parser = createParser({
      onRetry: (retryMs) => (position.retryMs = retryMs),
      onEvent: ({ id: eventId, event, data }) => {
        if (eventId) position.lastEventId = eventId;
        // Priming events carry no data.
        if (!data || (event !== undefined && event !== 'message')) return;
        try {
          const message: unknown = JSON.parse(data);
          if (isObject(message)) pending.push(message);
        } catch {
          // An unreadable event is skipped, as the client skips it.
        }
      },
    });
    const chunks = body.iterator({ destroyOnReturn: false });
    for await (const chunk of chunks) {
      try {
        guard(chunk as Buffer);
      } catch (error) {
        // Not a byte more of it: the connection is closed rather than drained.
        discard(body);
        throw error;
      }
      parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
      for (const message of pending.splice(0)) {
        if (receive(message, id, handlers)) {
          await chunks.return?.();
          if (resumed) discard(body);
          else drain(body);
          return message;
        }
      }
    }
    return undefined;
  }

  /**
   * Opens the call's stream again after `position.lastEventId` (GET with
   * `Last-Event-ID`), waiting first as the upstream asked or with the client's
   * backoff; gives up after the client's number of failed attempts, or at once
   * when the upstream has no stream to offer (405).
   */
  async function resume(position: StreamPosition & { lastEventId: string }, signal: AbortSignal): Promise<OutboundResponse['body']> {
    let failure = '';
    for (let attempt = 0; attempt < RESUME.maxFailures; attempt++) {
      const backoff = Math.min(RESUME.initialDelayMs * RESUME.growFactor ** attempt, RESUME.maxDelayMs);
      await delay(position.retryMs ?? backoff, undefined, { signal });
      try {
        const response = await follow({ method: 'GET', headers: { ...resumeHeaders, 'last-event-id': position.lastEventId }, signal });
        if (isEventStream(response)) return response.body;
        await response.body.dump();
        failure = `HTTP ${response.statusCode}`;
        if (response.statusCode === 405) break;
      } catch (error) {
        if (signal.aborted) throw error;
        failure = error instanceof Error ? error.message : String(error);
      }
    }
    throw new AnswerError(`the upstream ended the call's event stream before answering, and resuming it failed (${failure})`, 'unavailable');
  }

  /**
   * The answer on a call's event stream. A stream that breaks or ends before
   * it, after naming an event, is resumed from there, as the client resumes
   * it: upstreams may close a long call's stream on purpose (SSE polling).
   */
  async function awaitAnswer(
    body: OutboundResponse['body'],
    id: string,
    signal: AbortSignal,
    handlers: CallHandlers,
  ): Promise<Message> {
    const position: StreamPosition = {};
    for (let stream = body, resumed = false; ; resumed = true) {
      const answer = await readStream(stream, id, handlers, position, resumed).catch((error: unknown) => {
        // Resuming would only replay what was too large.
        if (signal.aborted || position.lastEventId === undefined || error instanceof MessageTooLargeError) throw error;
        return undefined;
      });
      if (answer) return answer;
      const { lastEventId } = position;
      if (lastEventId === undefined) throw noAnswer();
      stream = await resume({ ...position, lastEventId }, signal);
    }
  }

  async function exchange(request: Message, signal: AbortSignal, handlers: CallHandlers): Promise<CallToolResult> {
    const id = request['id'] as string;
    const response = await post(request, signal);
    if (response.statusCode < 200 || response.statusCode > 299) throw await httpFailure(response, target.url, target.maxMessageBytes);
    const type = mediaType(response.headers['content-type']);
    if (type === 'text/event-stream') return settle(await awaitAnswer(response.body, id, signal, handlers));
    if (type === 'application/json') {
      const messages = jsonMessages(await readText(response.body, target.maxMessageBytes));
      for (const message of messages) {
        if (isObject(message) && receive(message, id, handlers)) return settle(message);
      }
      throw foreignAnswer(messages);
    }
    await response.body.dump();
    const contentType = headerValue(response.headers['content-type']);
    throw new SdkError(SdkErrorCode.ClientHttpUnexpectedContent, `Unexpected content type: ${contentType}`, { contentType });
  }

  return async ({ name, arguments: args }, { signal, timeout, maxTotalMs, onprogress, onAsk, mayAsk }) => {
    if (signal.aborted) throw abortError(signal.reason);
    lastId += 1;
    const id = `botgate-${lastId}`;
    const request = { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: { progressToken: id } } };

    const http = new AbortController();
    let stopped: Error | undefined;
    /** Ends the call with `error`; `reason`, when given, is told to the upstream. */
    const stop = (error: Error, reason?: string) => {
      if (stopped) return;
      stopped = error;
      http.abort(error);
      // On a 2025 session closing the stream does not cancel the call: the notification does.
      if (reason !== undefined) send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } });
    };
    const onAbort = () => stop(abortError(signal.reason), signal.reason instanceof Error ? signal.reason.message : String(signal.reason));
    const onClosed = () => stop(new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed'));
    const onTimeout = () => stop(new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout }), 'Request timed out');
    let timer = setTimeout(onTimeout, timeout);
    // Questions waiting for the client's answer: the upstream waits on a person or a model meanwhile, not the other way round.
    let waitingAnswers = 0;
    const restartTimer = () => {
      clearTimeout(timer);
      if (waitingAnswers === 0 && !stopped) timer = setTimeout(onTimeout, timeout);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    target.closed.addEventListener('abort', onClosed, { once: true });
    if (target.closed.aborted) onClosed();
    try {
      const started = performance.now();
      const handlers: CallHandlers = {
        onprogress: (progress) => {
          const elapsed = performance.now() - started;
          // As the client: past the bound in all, the next progress ends the call (and tells the upstream).
          if (maxTotalMs !== undefined && elapsed >= maxTotalMs) {
            stop(totalTimeout(maxTotalMs, elapsed), 'Maximum total timeout exceeded');
            return;
          }
          restartTimer();
          onprogress(progress);
        },
        mayAsk,
        ...(onAsk && {
          onAsk: (ask: UpstreamAsk) => {
            waitingAnswers += 1;
            clearTimeout(timer);
            let answered = false;
            onAsk({
              ...ask,
              answer: (result) => {
                if (answered) return;
                answered = true;
                waitingAnswers -= 1;
                restartTimer();
                ask.answer(result);
              },
            });
          },
        }),
      };
      return await exchange(request, http.signal, handlers);
    } catch (error) {
      throw stopped ?? error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      target.closed.removeEventListener('abort', onClosed);
    }
  };
}
