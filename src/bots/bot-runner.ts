import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Actor, Tenant, UsageService } from '../tenancy/index.ts';
import type { BotInfo, BotService } from './bot.service.ts';
import type { ConversationService, ConversationVisibility } from './conversation.service.ts';
import { planCompaction } from './compaction.ts';
import { addUsage, ModelError, ZERO_USAGE, type ModelClient, type ModelUsage } from './model-client.ts';
import { computeCost, type PriceTable } from './pricing/index.ts';
import { sumCosts } from './run-cost.ts';
import { listingEarly, toModelMessages, toStored, unsavedAnswer, type Turn } from './run-messages.ts';
import { runToolLoop, type ModelCallReport, type RunEvent, type ToolClient } from './tool-loop.ts';

/** Who a run acts for, and what of the tenant's conversations they may continue. */
export interface RunCaller {
  tenant: Tenant;
  /** The credential or person the run is billed to. */
  principal: Actor;
  visibleTo: ConversationVisibility;
}

/** What the tools of one run are for; the gateway builds the tool client from it. */
export interface ToolClientContext {
  bot: BotInfo;
  runId: string;
  /** Bot slugs of the calling chain, this bot last. */
  chain: readonly string[];
  /** Aborted when the run ends early: cancelled, timed out or stopped. What the tools hold for the run may go then. */
  signal: AbortSignal;
}

/** Builds a run's tool client; closed when the run ends. */
export type ToolClientFactory = (context: ToolClientContext) => ToolClient & { close(): Promise<void> };

/** Events of a run: the loop's, bracketed by the ids the caller needs first. */
export type BotRunEvent = { type: 'run_start'; runId: string; conversationId: string; bot: string } | RunEvent;

export interface AskInput {
  bot: string;
  message: string;
  conversationId?: string | undefined;
  caller: RunCaller;
  /** The calling bot's run when another bot asks; its costs roll up there. */
  parentRunId: string | null;
  /** Bot slugs already in the call chain (the caller's chain); empty for a client's own ask. */
  chain: readonly string[];
  signal: AbortSignal;
  onEvent: (event: BotRunEvent) => void;
  /** The run's tools: the gateway connects them to its own MCP path with the caller's rights. */
  toolClient: ToolClientFactory;
  /** The bot as the caller already read it (`BotService.forRun`), saving a second read; used only when its slug is `bot`. */
  loaded?: { info: BotInfo; apiKey: string | null } | undefined;
}

/** What a run spent: the usage and cost of its model calls, nested bots' included. */
export interface RunSpending {
  usage: ModelUsage;
  /** Exact USD of the priced calls. */
  costUsd: string;
  /** Calls of models without a price; their cost is not in `costUsd`. */
  unpricedCalls: number;
}

/** The answer of one ask, with the usage and cost of every model call it caused, nested bots included. */
export interface AskResult extends RunSpending {
  runId: string;
  conversationId: string;
  text: string;
  stopReason: string;
  model: string;
}

/** A run in progress in this process, as a shutdown names one that did not end in time. */
export interface RunningBotRun {
  tenantId: string;
  bot: string;
  runId: string;
}

export interface BotRunner {
  ask(input: AskInput): Promise<AskResult>;
  /**
   * Stops the tenant's runs in progress in this process (the tenant was deleted): each ends
   * with `BotRunStopped(reason)` and stores nothing of its turn.
   */
  stopTenant(tenantId: string, reason: string): void;
  /**
   * Stops every run in progress in this process and refuses new ones (the gateway shuts down):
   * each ends with `BotRunStopped(reason)`, stores nothing of its turn and meters what it was
   * billed. Resolves once every one has settled, its metering and storage done, or after
   * `waitMs` with those that have not.
   */
  stopAll(reason: string, waitMs: number): Promise<RunningBotRun[]>;
  /**
   * What the run that failed with `error` had spent before it failed (its model calls are
   * metered all the same); undefined when it made none, or `error` is not what an ask failed with.
   */
  spentBy(error: unknown): RunSpending | undefined;
}

/** A run refused before it started: a cycle, a chain too deep, no API key. */
export class BotRunRefused extends Error {
  override readonly name = 'BotRunRefused';
}

/** A run stopped before its end by the gateway (its tenant was deleted); the message says why. */
export class BotRunStopped extends Error {
  override readonly name = 'BotRunStopped';
}

/** A run stopped at its overall deadline (each model call also has its own idle timeout and deadline). */
export class BotRunTimeout extends Error {
  override readonly name = 'BotRunTimeout';
}

export interface BotRunnerLimits {
  maxRounds: number;
  maxDepth: number;
  /** Longest a whole run may take, tool calls and nested bots included. */
  runDeadlineMs: number;
  /** History size (estimated tokens) past which older turns are summarised. */
  compactionThresholdTokens: number;
  /** Recent messages kept verbatim when summarising. */
  compactionKeepRecent: number;
  /** The cheaper model that writes summaries. */
  summaryModel: string;
}

export const DEFAULT_RUNNER_LIMITS: BotRunnerLimits = {
  maxRounds: 10,
  maxDepth: 4,
  runDeadlineMs: 10 * 60_000,
  compactionThresholdTokens: 50_000,
  compactionKeepRecent: 6,
  summaryModel: 'claude-haiku-4-5',
};

export interface BotRunnerDependencies {
  bots: BotService;
  conversations: ConversationService;
  usage: UsageService;
  prices: () => Promise<PriceTable>;
  /** A model client for an API key; clients of one key share a circuit breaker. */
  modelClientFor: (apiKey: string) => ModelClient;
  /** The operator's key, used when a bot has none of its own. */
  operatorApiKey: string | undefined;
  limits?: Partial<BotRunnerLimits>;
  logger: Logger;
}

const SUMMARY_SYSTEM =
  'You summarise the earlier part of a conversation between a user and an assistant so the assistant can continue it. ' +
  'Keep every fact, decision, open question, file name, identifier and number that later turns may need. Write plain prose.';

const NO_HISTORY = { summary: null, messages: [] } as const;

const noop = () => undefined;

/** What a run has spent so far: its own calls' usage and cost as metered, and what the nested bots it asked reported. */
interface Tally {
  usage: ModelUsage;
  /** One entry per metered call and per nested bot's answer or failure; null: unpriced. */
  costs: Array<string | null>;
  nestedUnpricedCalls: number;
}

function totalOf(tally: Tally): RunSpending {
  const { costUsd, unpricedCalls } = sumCosts(tally.costs);
  return { usage: tally.usage, costUsd, unpricedCalls: unpricedCalls + tally.nestedUnpricedCalls };
}

/** The run's tools, counting what nested bots report as each call returns, so that a run that fails later still knows. */
function counting(tools: ToolClient, tally: Tally): ToolClient {
  return {
    listTools: (signal) => tools.listTools(signal),
    async callTool(name, input, signal) {
      const outcome = await tools.callTool(name, input, signal);
      if (outcome.nested) {
        tally.usage = addUsage(tally.usage, outcome.nested.usage);
        tally.costs.push(outcome.nested.costUsd);
        tally.nestedUnpricedCalls += outcome.nested.unpricedCalls;
      }
      return outcome;
    },
  };
}

/**
 * Runs bots: loads the bot and its conversation, summarises a long history,
 * drives the tool loop, meters every model call as it ends, and persists the
 * turn only when the run succeeds, so a failed or cancelled run leaves the
 * conversation as it was.
 */
export function createBotRunner(deps: BotRunnerDependencies): BotRunner {
  const limits = { ...DEFAULT_RUNNER_LIMITS, ...deps.limits };

  async function meter(caller: RunCaller, bot: BotInfo, ids: { runId: string; conversationId: string; parentRunId: string | null }, report: ModelCallReport) {
    const cost = computeCost((await deps.prices()).find(report.model), {
      inputTokens: report.usage.inputTokens,
      outputTokens: report.usage.outputTokens,
      cacheWriteTokens: report.usage.cacheCreationInputTokens,
      cacheReadTokens: report.usage.cacheReadInputTokens,
    });
    await deps.usage.record(caller.tenant.id, {
      botId: bot.id,
      conversationId: ids.conversationId,
      runId: ids.runId,
      parentRunId: ids.parentRunId,
      principal: caller.principal,
      model: report.model,
      inputTokens: report.usage.inputTokens,
      outputTokens: report.usage.outputTokens,
      cacheWriteTokens: report.usage.cacheCreationInputTokens,
      cacheReadTokens: report.usage.cacheReadInputTokens,
      costUsd: cost.costUsd,
      stopReason: report.stopReason,
      error: report.error,
    });
    return cost.costUsd;
  }

  /** Summarises older turns with the cheaper model when the history has grown past the threshold. */
  async function compact(model: ModelClient, conversationId: string, tenantId: string, signal: AbortSignal, record: (r: ModelCallReport) => Promise<unknown>) {
    const history = await deps.conversations.history(tenantId, conversationId);
    const plan = planCompaction(history.messages, { thresholdTokens: limits.compactionThresholdTokens, keepRecent: limits.compactionKeepRecent });
    if (!plan) return history;
    const transcript = [history.summary ? `Summary so far:\n${history.summary}` : '', ...plan.summarize.map((m) => `${m.role}: ${JSON.stringify(m.content)}`)]
      .filter(Boolean)
      .join('\n\n');
    try {
      const response = await model.stream(
        { model: limits.summaryModel, system: SUMMARY_SYSTEM, maxTokens: 2048, tools: [], messages: [{ role: 'user', content: transcript }] },
        { signal, onEvent: () => undefined },
      );
      await record({ model: limits.summaryModel, usage: addUsage(response.usage, response.discardedUsage ?? ZERO_USAGE), stopReason: response.stopReason, error: null });
      const summary = response.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
      await deps.conversations.storeSummary(tenantId, conversationId, { summary, throughSeq: plan.throughSeq });
      return deps.conversations.history(tenantId, conversationId);
    } catch (error) {
      if (error instanceof ModelError) {
        await record({ model: limits.summaryModel, usage: error.usage ?? ZERO_USAGE, stopReason: null, error: error.message });
        if (error.kind === 'cancelled') throw error;
      }
      // A summary is an optimisation: the run goes on with the full history.
      deps.logger.warn({ err: error, conversationId }, 'summarising a long conversation failed; sending it whole');
      return history;
    }
  }

  // Runs in progress by tenant, each with the controller that stops it and what settles once it has ended.
  const running = new Map<string, Set<RunningBotRun & { stop: AbortController; settled: Promise<void> }>>();
  // Why new runs are refused, once every run was stopped.
  let closed: string | undefined;
  // What each failed run had spent, by the error it failed with.
  const spentByFailure = new WeakMap<object, RunSpending>();

  async function run(input: AskInput, { runId, stopped, tally }: { runId: string; stopped: AbortSignal; tally: Tally }): Promise<AskResult> {
    const { caller } = input;
    if (input.chain.includes(input.bot)) {
      throw new BotRunRefused(`Refused: calling bot "${input.bot}" again would make a cycle (${[...input.chain, input.bot].join(' → ')}).`);
    }
    if (input.chain.length >= limits.maxDepth) {
      throw new BotRunRefused(`Refused: bots may call bots at most ${limits.maxDepth} deep (${[...input.chain, input.bot].join(' → ')}).`);
    }
    const { info: bot, apiKey } = input.loaded?.info.slug === input.bot ? input.loaded : await deps.bots.forRun(caller.tenant, input.bot);
    const key = apiKey ?? deps.operatorApiKey;
    if (!key) throw new BotRunRefused(`Bot "${bot.slug}" has no Anthropic API key: set the bot's anthropic_api_key or the operator's ANTHROPIC_API_KEY.`);
    if (input.message.trim() === '') throw new AppError('validation_failed', 'message: must not be empty');

    // Continuing: the conversation must be the caller's and this bot's before anything runs.
    const continued = input.conversationId
      ? await deps.conversations.get(caller.tenant.id, input.conversationId, { botId: bot.id, visibleTo: caller.visibleTo })
      : undefined;
    // One deadline for the whole run: summary, model calls, tools and nested bots.
    const deadline = AbortSignal.timeout(limits.runDeadlineMs);
    const signal = AbortSignal.any([input.signal, deadline, stopped]);
    const timedOut = (error: unknown): never => {
      if (deadline.aborted && !input.signal.aborted) {
        throw new BotRunTimeout(`The bot did not finish within ${limits.runDeadlineMs} ms; nothing of this turn was saved.`, { cause: error });
      }
      throw error;
    };
    // Listed while the conversation is prepared: both stand between the caller and the first token.
    const tools = listingEarly(input.toolClient({ bot, runId, chain: [...input.chain, bot.slug], signal }), signal);
    // A new conversation is stored once the first model call is over (its usage names it) or before the
    // turn: never between the caller and the first token. On the embedded database statements run on this
    // thread, so the next turn of the event loop lets the text already streamed reach the client first.
    const conversationId = continued?.id ?? randomUUID();
    let stored: Promise<void> | undefined = continued ? Promise.resolve() : undefined;
    const store = () =>
      (stored ??= (async () => {
        await nextTurn();
        await deps.conversations.create(caller.tenant.id, { id: conversationId, botId: bot.id, principal: caller.principal });
      })());
    try {
      const ids = { runId, conversationId, parentRunId: input.parentRunId };
      input.onEvent({ type: 'run_start', runId, conversationId, bot: bot.slug });

      const model = deps.modelClientFor(key);
      const record = async (report: ModelCallReport) => {
        tally.usage = addUsage(tally.usage, report.usage);
        // The usage is recorded even if storing the conversation failed (the turn then fails with that error).
        await store().catch(() => undefined);
        tally.costs.push(await meter(caller, bot, ids, report));
      };
      // A new conversation has no history to read or summarise.
      const history = continued ? await compact(model, conversationId, caller.tenant.id, signal, record).catch(timedOut) : NO_HISTORY;
      const userMessage: Turn = { role: 'user', content: [{ type: 'text', text: input.message }] };
      const system = history.summary ? `${bot.systemPrompt}\n\n<conversation_summary>\n${history.summary}\n</conversation_summary>` : bot.systemPrompt;

      const result = await runToolLoop({
        model,
        tools: counting(tools, tally),
        request: {
          model: bot.model,
          system,
          maxTokens: bot.maxTokens,
          temperature: bot.temperature ?? undefined,
          thinking: bot.thinkingBudget === null ? undefined : { budgetTokens: bot.thinkingBudget },
        },
        messages: toModelMessages(history.messages, userMessage),
        maxRounds: limits.maxRounds,
        signal,
        onEvent: input.onEvent,
        onModelCall: record,
      }).catch(timedOut);

      await store();
      await deps.conversations.appendTurn(
        caller.tenant.id,
        conversationId,
        [userMessage, ...result.added, ...unsavedAnswer(result)].map((m) => toStored(m, runId)),
      );
      return { runId, conversationId, text: result.text, stopReason: result.stopReason, model: result.last?.model ?? bot.model, ...totalOf(tally) };
    } finally {
      await Promise.all([tools.close(), stored?.catch(() => undefined)]);
    }
  }

  return {
    async ask(input) {
      if (closed !== undefined) throw new BotRunStopped(closed);
      const tenantId = input.caller.tenant.id;
      const runId = randomUUID();
      const stop = new AbortController();
      const tally: Tally = { usage: ZERO_USAGE, costs: [], nestedUnpricedCalls: 0 };
      const outcome = run(input, { runId, stopped: stop.signal, tally });
      const entry = { tenantId, bot: input.bot, runId, stop, settled: outcome.then(noop, noop) };
      const runs = running.get(tenantId) ?? new Set();
      running.set(tenantId, runs.add(entry));
      try {
        return await outcome;
      } catch (error) {
        // Whatever failed once the run was stopped (the model call cut off, the tenant's rows gone) failed because of the stop.
        const failure: unknown = stop.signal.aborted && !input.signal.aborted ? stop.signal.reason : error;
        if (tally.costs.length > 0 && typeof failure === 'object' && failure !== null) spentByFailure.set(failure, totalOf(tally));
        throw failure;
      } finally {
        runs.delete(entry);
        if (runs.size === 0 && running.get(tenantId) === runs) running.delete(tenantId);
      }
    },

    stopTenant(tenantId, reason) {
      for (const { stop } of running.get(tenantId) ?? []) stop.abort(new BotRunStopped(reason));
    },

    async stopAll(reason, waitMs) {
      closed ??= reason;
      const runs = [...running.values()].flatMap((tenantRuns) => [...tenantRuns]);
      for (const { stop } of runs) stop.abort(new BotRunStopped(reason));
      const left = new Set(runs);
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(runs.map((entry) => entry.settled.then(() => left.delete(entry)))),
        new Promise((resolve) => (bound = setTimeout(resolve, waitMs))),
      ]);
      clearTimeout(bound);
      return [...left].map(({ tenantId, bot, runId }) => ({ tenantId, bot, runId }));
    },

    spentBy(error) {
      return typeof error === 'object' && error !== null ? spentByFailure.get(error) : undefined;
    },
  };
}
