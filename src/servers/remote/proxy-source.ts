import { CLIENT_CAPABILITIES_META_KEY, SERVER_INFO_META_KEY, type Client, type RequestOptions } from '@modelcontextprotocol/client';
import type {
  CompleteRequestParams,
  CompleteResult,
  GetPromptResult,
  InputRequiredResult,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplateType,
} from '@modelcontextprotocol/server';
import { reportingOverflow } from '../message-limit.ts';
import { errorResult, unavailableResult, type AskingContext, type ToolCallContext, type ToolCallOutcome, type ToolSource } from '../tool-source.ts';
import { createAskedCalls, isParkedStateShape, UNKNOWN_STATE_MESSAGE } from './asked-calls.ts';
import { totalTimeout, type DirectCall } from './direct-call.ts';
import type { HeldCallLink } from './held-call-relay.ts';
import type { ResourceWatchListener } from './resource-watch.ts';
import type { UpstreamConnector } from './upstream-connection.ts';
import { isConnectionLost, isRefusedUnrun, toUpstreamError } from './upstream-error.ts';

/**
 * A tool source that also proxies the upstream's resources, prompts and
 * completions. The extra methods reject with an `UpstreamError`; lists are
 * empty when the upstream lacks the capability.
 */
export interface RemoteSource extends ToolSource<ToolCallOutcome> {
  listResources?(signal: AbortSignal): Promise<Resource[]>;
  listResourceTemplates?(signal: AbortSignal): Promise<ResourceTemplateType[]>;
  /** Like `getPrompt`, may give back an `input_required` result (2026-07-28 upstreams). */
  readResource?(uri: string, signal: AbortSignal, asking?: AskingContext): Promise<ReadResourceResult | InputRequiredResult>;
  listPrompts?(signal: AbortSignal): Promise<Prompt[]>;
  getPrompt?(
    name: string,
    args: Record<string, string> | undefined,
    signal: AbortSignal,
    asking?: AskingContext,
  ): Promise<GetPromptResult | InputRequiredResult>;
  complete?(params: CompleteRequestParams, signal: AbortSignal): Promise<CompleteResult>;
  /** Hears of changes to one of the upstream's resources until the returned function is called (see `ResourceWatches`). */
  watchResource?(uri: string, listener: ResourceWatchListener): () => void;
  /** The instructions the upstream gave in its handshake (`initialize` or `server/discover`), if any. */
  instructions?(signal: AbortSignal): Promise<string | undefined>;
}

/**
 * A proxy over a connector: every method of a remote source but watching,
 * which needs the connector's help (`instructions` is optional to wrappers).
 */
export type ProxySource = Required<Omit<RemoteSource, 'watchResource' | 'inUse' | 'check' | 'instructions'>> & Pick<RemoteSource, 'instructions'>;

/** What a proxy needs: where its client comes from, how to name the upstream, and its time bound. */
export interface ProxySourceOptions {
  connector: UpstreamConnector;
  /** Names the upstream in error messages shown to the tenant (a host, a command name). */
  upstream: string;
  /** Bound on each operation, connecting included; progress from the upstream restarts it. */
  timeoutMs: number;
  /**
   * Bound on a tool call in all, however often the upstream reports progress
   * (MCP asks for one), checked as progress arrives. Default one hour.
   */
  maxCallMs?: number;
  /**
   * Where calls that asked the client something are announced, and retries
   * for calls this node does not hold are sent on, so that the retry may
   * reach any node. Without it a retry must reach the node holding its call.
   */
  heldCalls?: HeldCallLink | undefined;
}

/** How long a tool call may take in all unless the source is told otherwise. */
export const DEFAULT_MAX_CALL_MS = 60 * 60_000;

/**
 * Removes the upstream's `serverInfo` from a 2026-era result's `_meta`: it
 * describes the hop to the upstream, and the gateway answers as itself.
 * Everything else the upstream put in the result passes through.
 */
function withoutUpstreamIdentity<T extends { _meta?: Record<string, unknown> }>(result: T): T {
  // oxlint-disable-next-line no-underscore-dangle -- MCP names the field `_meta`
  const { _meta: meta, ...rest } = result;
  if (!meta || !(SERVER_INFO_META_KEY in meta)) return result;
  const { [SERVER_INFO_META_KEY]: _serverInfo, ...kept } = meta;
  return (Object.keys(kept).length > 0 ? { ...rest, _meta: kept } : rest) as T;
}

/**
 * The params of a request that may ask for input (`tools/call`,
 * `prompts/get`, `resources/read`) as the calling client made it. To a
 * 2026-07-28 upstream they carry the client's capabilities in the envelope
 * (over the gateway's own, which declare none), so the upstream asks only for
 * input the client can give, and on a retry the client's answers and the
 * upstream's state, verbatim. A 2025-era upstream has no such vocabulary.
 */
function askingParams<P extends object>(client: Client, params: P, asking: AskingContext | undefined): P {
  if (client.getProtocolEra() !== 'modern') return params;
  const { clientCapabilities = {}, input } = asking ?? {};
  return {
    ...params,
    // Never the gateway's own, which it declares for 2025-era upstreams' questions (see upstream-connection.ts).
    _meta: { [CLIENT_CAPABILITIES_META_KEY]: clientCapabilities },
    ...(input?.responses && { inputResponses: input.responses }),
    ...(input?.state !== undefined && { requestState: input.state }),
  };
}

/** What every operation is given: the caller's signal and what is left of the time bound. */
type BoundOptions = RequestOptions & { signal: AbortSignal; timeout: number };

type Operation<T> = (client: Client, options: BoundOptions, directCall: DirectCall | undefined) => Promise<T>;

/**
 * Sends a request through the client so that an answer over the message limit
 * fails it at once with the limit's error, and the upstream is told it was
 * cancelled. (The client drops an event stream that breaks off without failing
 * the request it answers, which would wait out its timeout.) `send` may stop
 * the request the same way with an error of its own.
 */
async function throughClient<T>(options: BoundOptions, send: (options: BoundOptions, stop: (error: Error) => void) => Promise<T>): Promise<T> {
  const stopped = new AbortController();
  const signal = AbortSignal.any([options.signal, stopped.signal]);
  const stop = (error: Error) => stopped.abort(error);
  try {
    return await reportingOverflow(stop, () => send({ ...options, signal }, stop));
  } catch (error) {
    throw stopped.signal.aborted ? (stopped.signal.reason as Error) : error;
  }
}

/**
 * Proxies an upstream MCP server through a connector's shared client. A
 * connection that fails is discarded so the next call reconnects. Tool calls
 * never throw for upstream failures: they return `isError` results.
 */
export function createProxySource({
  connector,
  upstream,
  timeoutMs,
  maxCallMs = DEFAULT_MAX_CALL_MS,
  heldCalls,
}: ProxySourceOptions): ProxySource & Required<Pick<RemoteSource, 'instructions'>> {
  // Calls of a 2025-era upstream that asked the client something and wait for its retry, on any node.
  const asked = createAskedCalls({
    onPark: heldCalls
      ? (state, key) =>
          heldCalls.hold(state, key, (responses, signal, progress) =>
            // Served on as a retry reaching this node is, its progress going to the node the retry reached.
            source.callTool(key.tool, {}, { signal, progress, caller: key.caller, input: { state, responses } }),
          )
      : undefined,
  });

  /** A retry for a call this node does not hold: the node holding it serves it, if any does. */
  async function forwardRetry(name: string, context: ToolCallContext): Promise<ToolCallOutcome> {
    const state = context.input?.state;
    if (!heldCalls || state === undefined || !isParkedStateShape(state)) return errorResult(UNKNOWN_STATE_MESSAGE);
    const key = { tool: name, caller: context.caller };
    return (await heldCalls.forward(state, key, context.input?.responses ?? {}, context)) ?? errorResult(UNKNOWN_STATE_MESSAGE);
  }

  /**
   * Runs `operation` on the shared connection within `timeoutMs`. A failure
   * that shows the connection is gone replaces it (any other fails this
   * operation alone); one of a connection that earlier calls had used is
   * retried once on a new one when `mayRetry` says resending is safe (the
   * upstream may have restarted).
   */
  async function run<T>(signal: AbortSignal, mayRetry: (error: unknown) => boolean, operation: Operation<T>): Promise<T> {
    const started = Date.now();
    // Made only when a connection is still being opened: the common call pays for no timer.
    const wait = () => AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    for (let attempt = 0; ; attempt++) {
      const lease = await connector.acquire(wait);
      const { client, fresh, directCall } = lease;
      try {
        const timeout = Math.max(1, timeoutMs - (Date.now() - started));
        return await operation(client, { signal, timeout }, directCall);
      } catch (caught) {
        // A 2025-era upstream that forgot the session refuses its requests (404).
        const session = client.transport?.sessionId !== undefined;
        // A lost connection the connector ended on purpose fails with the connector's reason.
        const error = isConnectionLost(caught, session) ? (connector.endedBy?.(client) ?? caught) : caught;
        if (signal.aborted || !isConnectionLost(error, session)) throw error;
        connector.discard(client);
        if (fresh || attempt > 0 || !mayRetry(error)) throw error;
      } finally {
        lease.release?.();
      }
    }
  }

  /** Runs an operation that is safe to repeat, turning failures into `UpstreamError`s. */
  async function query<T>(signal: AbortSignal, operation: Operation<T>): Promise<T> {
    try {
      return await run(signal, () => true, (client, options, directCall) =>
        throughClient(options, (bound) => operation(client, bound, directCall)),
      );
    } catch (error) {
      throw signal.aborted ? error : toUpstreamError(error, upstream, timeoutMs);
    }
  }

  const source: ProxySource & Required<Pick<RemoteSource, 'instructions'>> = {
    // Never from the client's response cache: the upstream connection is shared by every client of the tenant, and
    // a cached answer (a resource another person unlocked by answering the upstream) is not theirs. Tool lists must
    // also reach tool pinning now, not when the upstream's TTL ends.
    listTools: (signal) =>
      query(signal, async (client, request) => (await client.listTools(undefined, { ...request, cacheMode: 'bypass' })).tools),

    async callTool(name, args, context) {
      try {
        const state = context.input?.state;
        if (state !== undefined && asked.holds(state)) return await asked.resume(name, context);
        const onprogress = ({ progress, total, message }: { progress: number; total?: number; message?: string }) => {
          context.progress(progress, total, message).catch(() => undefined);
        };
        const result: ToolCallOutcome = await run(context.signal, isRefusedUnrun, (client, request, directCall) =>
          // A 2025-era session's calls skip the client: same behaviour and errors, a tenth of the CPU.
          // Its questions for the client come back as input_required; a retry naming no call held here goes to the node holding it.
          directCall
            ? state !== undefined
              ? forwardRetry(name, context)
              : asked.call(directCall, name, args, context, { timeout: request.timeout, maxTotalMs: maxCallMs })
            : throughClient(request, (bound, stop) => {
                const started = performance.now();
                return client.callTool(
                  askingParams(client, { name, arguments: args }, context),
                  // Progress is always asked for: it also keeps a long call within its timeout, up to `maxCallMs`.
                  // A request for the client's input comes back to be passed on, not fulfilled here.
                  {
                    ...bound,
                    resetTimeoutOnProgress: true,
                    onprogress: (progress) => {
                      const elapsed = performance.now() - started;
                      if (elapsed < maxCallMs) onprogress(progress);
                      else stop(totalTimeout(maxCallMs, elapsed));
                    },
                    allowInputRequired: true,
                  },
                );
              }),
        );
        return withoutUpstreamIdentity(result);
      } catch (error) {
        if (context.signal.aborted) return errorResult(`The call to ${name} on ${upstream} was cancelled.`);
        const failure = toUpstreamError(error, upstream, timeoutMs);
        return failure.failure === 'unavailable' ? unavailableResult(failure.message) : errorResult(failure.message);
      }
    },

    listResources: (signal) => query(signal, async (client, request) => (await client.listResources(undefined, { ...request, cacheMode: 'bypass' })).resources),

    listResourceTemplates: (signal) =>
      query(signal, async (client, request) => (await client.listResourceTemplates(undefined, { ...request, cacheMode: 'bypass' })).resourceTemplates),

    // A request for the client's input comes back to be passed on, as for tool calls.
    readResource: (uri, signal, asking) =>
      query(signal, async (client, request) =>
        withoutUpstreamIdentity(await client.readResource(askingParams(client, { uri }, asking), { ...request, cacheMode: 'bypass', allowInputRequired: true })),
      ),

    listPrompts: (signal) => query(signal, async (client, request) => (await client.listPrompts(undefined, { ...request, cacheMode: 'bypass' })).prompts),

    getPrompt: (name, args, signal, asking) =>
      query(signal, async (client, request) =>
        withoutUpstreamIdentity(
          await client.getPrompt(askingParams(client, { name, ...(args && { arguments: args }) }, asking), { ...request, allowInputRequired: true }),
        ),
      ),

    complete: (params, signal) =>
      query(signal, async (client, request) => withoutUpstreamIdentity(await client.complete(params, request))),

    // Kept by the client from the handshake that opened the connection.
    instructions: (signal) => query(signal, async (client) => client.getInstructions()),

    close: () => {
      asked.close();
      return connector.close();
    },
  };
  return source;
}
