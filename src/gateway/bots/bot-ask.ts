import type { DiscoverResult } from '@modelcontextprotocol/client';
import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import * as z from 'zod';
import {
  BotRunRefused,
  BotRunStopped,
  BotRunTimeout,
  ModelError,
  type AskResult,
  type ModelErrorKind,
  type BotInfo,
  type BotRunEvent,
  type BotRunner,
  type RunSpending,
  type ToolClientFactory,
} from '../../bots/index.ts';
import { AppError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { errorResult, RESERVED_SERVER_SLUG, type ToolCallContext } from '../../servers/index.ts';
import { intersectTools, type Principal } from '../../tenancy/index.ts';
import { visibleActors } from '../visibility.ts';
import { createProgressCoalescer } from './progress-coalescer.ts';
import type { RunCredentials } from './run-credentials.ts';
import { createSelfToolClient } from './self-tool-client.ts';
import type { ToolListCache } from './tool-list-cache.ts';

/** The pseudo-server under which bots appear in the aggregate endpoint: `bot__{slug}`. */
export const BOTS_NAMESPACE = RESERVED_SERVER_SLUG;

/** What an ask needs from the request that carries it. */
export interface AskContext {
  runner: BotRunner;
  principal: Principal;
  /** The run of the bot that called, when a bot asks another; null for a client's own ask. */
  parentRunId: string | null;
  chain: readonly string[];
  /** Base URL of this node, for the run's own MCP calls. */
  selfUrl: () => string;
  credentials: RunCredentials;
  /** The bot of a single-bot endpoint, read once by the route with its key (see `BotService.forRun`). */
  loadedBot?: { info: BotInfo; apiKey: string | null } | undefined;
  /** `server/discover` answers of this node's endpoints, shared by runs (see the self tool client). */
  discoveries: Map<string, DiscoverResult>;
  /** Tool lists runs fetched, kept as the endpoint's cache hint allows. */
  toolLists: ToolListCache;
  logger: Logger;
}

/** What routes that start bot runs take from the gateway: the same for every request. */
export type BotRuntime = Pick<AskContext, 'runner' | 'credentials' | 'discoveries' | 'toolLists' | 'selfUrl' | 'logger'>;

const askArguments = z.strictObject({
  message: z.string({ error: 'message: required, the question or task for the bot' }).trim().min(1, 'message: must not be empty').max(100_000, 'message: at most 100000 characters'),
  conversation_id: z.uuid({ error: 'conversation_id: must be the id of a conversation this bot returned' }).optional(),
});

/** The MCP tool through which a bot is asked; `name` is `ask` on the bot's endpoint, its slug in the aggregate. */
export function askTool(name: string, bot: Pick<BotInfo, 'name' | 'description'>): Tool {
  return {
    name,
    title: bot.name,
    description: bot.description,
    inputSchema: {
      type: 'object',
      properties: {
        message: { type: 'string', description: 'The question or task for the bot, in plain language.' },
        conversation_id: {
          type: 'string',
          description: 'Continue an earlier conversation: the conversation_id a previous answer returned. Omit to start a new one.',
        },
      },
      required: ['message'],
      additionalProperties: false,
    },
    annotations: { readOnlyHint: false, openWorldHint: true },
  };
}

/** What the bot may use on behalf of the caller: its attachments, narrowed by the caller's own restrictions. */
function toolsForRun(principal: Principal, bot: BotInfo): string[] {
  const attached = [
    ...bot.servers.flatMap((s) => (s.tools ? s.tools.map((t) => `${s.slug}__${t}`) : [s.slug])),
    ...bot.bots.map((slug) => `${BOTS_NAMESPACE}__${slug}`),
  ];
  return intersectTools(principal.tools, attached);
}

const noTools = { listTools: async () => [], callTool: async () => ({ text: 'This bot has no tools.', isError: true }), close: async () => undefined };

/** Connects a run's tools to this node's aggregate endpoint with a credential bound to the run. */
function toolClientFor(context: AskContext): ToolClientFactory {
  const { principal } = context;
  return ({ bot, runId, chain, signal }) => {
    const tools = toolsForRun(principal, bot);
    if (tools.length === 0) return noTools;
    const credential = context.credentials.issue({ principal: { ...principal, scopes: ['mcp'], tools }, origin: principal, runId, chain });
    // A run ended early (cancelled, timed out, stopped) loses its credential at that moment, not once it has unwound.
    signal.addEventListener('abort', () => context.credentials.revoke(credential), { once: true });
    const client = createSelfToolClient({
      url: `${context.selfUrl()}/t/${principal.tenant.slug}/mcp`,
      credential,
      chain,
      discoveries: context.discoveries,
      onClose: () => context.credentials.revoke(credential),
    });
    // A run that finds its list kept does not connect until it calls a tool.
    return { ...client, listTools: (listing) => context.toolLists.list(principal.tenant.id, tools, () => client.listTools(listing)) };
  };
}

/** What a run spent, as answers and failures carry it: snake_case, costs as exact decimal strings. */
export function spendingJson(spent: RunSpending) {
  return {
    usage: {
      input_tokens: spent.usage.inputTokens,
      output_tokens: spent.usage.outputTokens,
      cache_write_tokens: spent.usage.cacheCreationInputTokens,
      cache_read_tokens: spent.usage.cacheReadInputTokens,
    },
    cost_usd: spent.costUsd,
    unpriced_calls: spent.unpricedCalls,
  };
}

/** `structuredContent` of an answer: snake_case, costs as exact decimal strings. */
export function askResultJson(result: AskResult) {
  return {
    conversation_id: result.conversationId,
    run_id: result.runId,
    stop_reason: result.stopReason,
    model: result.model,
    ...spendingJson(result),
  };
}

/** What the caller can do after a model call failed: wait for a passing trouble, or have the bot fixed. */
const MODEL_FAILURE_ADVICE: Record<ModelErrorKind, string> = {
  timeout: 'try again later.',
  cancelled: 'it was cancelled.',
  rate_limited: 'try again later.',
  overloaded: 'try again later.',
  server_error: 'try again later.',
  connection: 'try again later.',
  circuit_open: 'try again later.',
  invalid_response: 'try again later.',
  authentication: "the bot's Anthropic API key was refused, and will be until an admin of the tenant sets a valid one.",
  invalid_request: 'asking again will fail the same way until an admin of the tenant changes the bot.',
  api_error: 'asking again will likely fail the same way; an admin of the tenant should look at the bot.',
};

/** Why a run failed, in words the calling model or person can act on; undefined for failures to rethrow. */
export function describeRunFailure(error: unknown): string | undefined {
  if (error instanceof BotRunRefused || error instanceof BotRunTimeout || error instanceof BotRunStopped) return error.message;
  if (error instanceof ModelError) {
    if (error.kind === 'cancelled') return undefined;
    return `The bot could not answer: ${error.message.replace(/\.+$/, '')}. Nothing of this turn was saved; ${MODEL_FAILURE_ADVICE[error.kind]}`;
  }
  if (error instanceof AppError && error.code === 'not_found') {
    return error.message.startsWith('conversation') ? `${error.message}: conversation_id must be one this bot returned to you` : error.message;
  }
  if (error instanceof AppError && error.code === 'validation_failed') return error.message;
  return undefined;
}

/** Runs one ask for the context's principal, with the run's tools on this node's MCP path. */
export function runAsk(
  context: AskContext,
  input: { bot: string; message: string; conversationId: string | undefined; signal: AbortSignal; onEvent: (event: BotRunEvent) => void },
): Promise<AskResult> {
  const { principal } = context;
  return context.runner.ask({
    ...input,
    caller: { tenant: principal.tenant, principal: principal.actor, visibleTo: visibleActors(principal) },
    parentRunId: context.parentRunId,
    chain: context.chain,
    toolClient: toolClientFor(context),
    loaded: context.loadedBot,
  });
}

/**
 * The second text block of an answer: the conversation id, for clients that
 * give their model the content alone, so that it can continue the conversation.
 */
function continuationNote(conversationId: string): string {
  return `[conversation_id ${conversationId}: pass it as conversation_id to continue this conversation]`;
}

/**
 * Asks a bot as an MCP tool call: progress notifications carry the text as it
 * streams and each tool call as it happens; the result is the answer and a
 * note of the conversation id, with the answer again, the conversation id,
 * usage and cost (nested bots included) as `structuredContent`. Some clients
 * give their model the content alone, others (Claude Code among them) the
 * structured content alone when there is one: each carries the answer and
 * the conversation id. A run that fails after model calls were made says what
 * they cost in the same fields, beside the message (`error`), so a calling
 * bot's totals include them.
 */
export async function askAsTool(context: AskContext, bot: string, args: Record<string, unknown>, call: ToolCallContext): Promise<CallToolResult> {
  const parsed = askArguments.safeParse(args);
  if (!parsed.success) return errorResult(parsed.error.issues[0]?.message ?? 'invalid arguments');
  let step = 0;
  const progress = createProgressCoalescer<string>(
    (item) => call.progress(++step, undefined, item.kind === 'text' ? item.text : item.event),
    (error) => context.logger.debug({ err: error }, 'progress notification not delivered'),
  );
  const onEvent = (event: BotRunEvent) => {
    if (event.type === 'text_delta') progress.text(event.text);
    else if (event.type === 'tool_use') progress.event(`[calling ${event.name}]`);
    else if (event.type === 'tool_result') progress.event(`[${event.name} ${event.isError ? 'failed' : 'done'}]`);
  };
  try {
    const result = await runAsk(context, { bot, message: parsed.data.message, conversationId: parsed.data.conversation_id, signal: call.signal, onEvent });
    await progress.flush();
    return {
      content: [
        { type: 'text', text: result.text },
        { type: 'text', text: continuationNote(result.conversationId) },
      ],
      structuredContent: { answer: result.text, ...askResultJson(result) },
    };
  } catch (error) {
    await progress.flush();
    const message = describeRunFailure(error);
    if (message === undefined) throw error;
    const spent = context.runner.spentBy(error);
    return spent ? { ...errorResult(message), structuredContent: { error: message, ...spendingJson(spent) } } : errorResult(message);
  }
}

