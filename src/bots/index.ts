import type { ChangeBus } from '../shared/change-bus.ts';
import type { Db } from '../shared/db.ts';
import type { Logger } from '../shared/logger.ts';
import type { UsageService } from '../tenancy/index.ts';
import { createAnthropicModelClient } from './anthropic-model-client.ts';
import { createBotRunner, type BotRunner, type BotRunnerLimits, type RunningBotRun } from './bot-runner.ts';
import { createBotService, type BotSecretKeySource, type BotService } from './bot.service.ts';
import { cacheBots } from './bot-cache.ts';
import { createCircuitBreakerRegistry } from './circuit-breaker.ts';
import type { ModelClient } from './model-client.ts';
import { createConversationService, type ConversationService } from './conversation.service.ts';
import { loadPriceTable } from './pricing/index.ts';

/** Bots: their configuration, their conversations, and the runtime that answers with Claude. */
export interface BotsModule {
  bots: BotService;
  conversations: ConversationService;
  runner: BotRunner;
  /** Whether the operator's Anthropic API key is configured: bots without their own key answer with it. */
  hasOperatorApiKey: boolean;
  /** Lets go of a deleted tenant in this process: stops its runs in progress and drops its cached bots. */
  forgetTenant(tenantId: string): void;
  /**
   * Stops the runs in progress in this process as the gateway shuts down, and refuses new ones:
   * each tells its caller so, meters what it was billed and stores nothing of its turn. Resolves
   * once all have settled, or after `waitMs` with those still running.
   */
  stopRuns(waitMs: number): Promise<RunningBotRun[]>;
}

/** What a run stopped by its tenant's deletion ends with. */
const TENANT_DELETED = 'The run was stopped: its tenant was deleted. Nothing of this turn was saved.';

/** What a run stopped by the gateway's shutdown ends with. */
const GATEWAY_STOPPING = 'The run was stopped: the gateway is shutting down. Nothing of this turn was saved; ask again in a moment.';

export interface BotsModuleDependencies {
  db: Db;
  secretKey: BotSecretKeySource;
  usage: UsageService;
  logger: Logger;
  /** The operator's Claude API key and endpoint; a bot's own key takes precedence. */
  anthropic: { apiKey: string | undefined; baseURL: string | undefined };
  limits?: Partial<BotRunnerLimits>;
  /** The operator's price file, merged over the built-in table. */
  pricesFile?: string | undefined;
  /** Told after a tenant's bots changed, so MCP clients can be notified. */
  onBotsChanged?: (tenantId: string) => void;
  /** When given, bots are kept in memory and dropped on change on every node (see `cacheBots`). */
  changes?: ChangeBus | undefined;
}

/** Tenants' bots; models are priced with the built-in price table, and API keys share a circuit breaker each. */
export function createBotsModule(deps: BotsModuleDependencies): BotsModule {
  let table: ReturnType<typeof loadPriceTable> | undefined;
  const prices = () => (table ??= loadPriceTable({ overrideFile: deps.pricesFile }));
  const stored = createBotService({ db: deps.db, secretKey: deps.secretKey, prices, ...(deps.onBotsChanged && { onBotsChanged: deps.onBotsChanged }) });
  const cached = deps.changes ? cacheBots(stored, deps.changes) : undefined;
  const bots = cached ?? stored;
  const conversations = createConversationService({ db: deps.db });
  const circuitBreakers = createCircuitBreakerRegistry();
  // One client per API key in use (the operator's and tenants' own), reused across runs.
  const modelClients = new Map<string, ModelClient>();
  const runner = createBotRunner({
    bots,
    conversations,
    usage: deps.usage,
    prices,
    modelClientFor: (apiKey) => {
      let client = modelClients.get(apiKey);
      if (!client) {
        const { baseURL } = deps.anthropic;
        client = createAnthropicModelClient({ apiKey, circuitBreakers, ...(baseURL !== undefined && { baseURL }) });
        modelClients.set(apiKey, client);
      }
      return client;
    },
    operatorApiKey: deps.anthropic.apiKey,
    limits: deps.limits,
    logger: deps.logger,
  });
  return {
    bots,
    conversations,
    runner,
    hasOperatorApiKey: deps.anthropic.apiKey !== undefined,
    forgetTenant(tenantId) {
      runner.stopTenant(tenantId, TENANT_DELETED);
      cached?.forgetTenant(tenantId);
    },
    stopRuns: (waitMs) => runner.stopAll(GATEWAY_STOPPING, waitMs),
  };
}

export {
  DEFAULT_MAX_TOKENS,
  type BotInfo,
  type BotSecretKeySource,
  type BotServerAttachment,
  type BotService,
  type CreateBotInput,
  type UpdateBotInput,
} from './bot.service.ts';
export {
  BotRunRefused,
  BotRunStopped,
  BotRunTimeout,
  DEFAULT_RUNNER_LIMITS,
  type AskInput,
  type AskResult,
  type BotRunEvent,
  type BotRunner,
  type BotRunnerLimits,
  type RunCaller,
  type RunningBotRun,
  type RunSpending,
  type ToolClientContext,
  type ToolClientFactory,
} from './bot-runner.ts';
export type { ModelCallReport, RunEvent, ToolClient, ToolOutcome } from './tool-loop.ts';
export {
  createConversationService,
  type ConversationInfo,
  type ConversationService,
  type ConversationVisibility,
  type NewMessage,
  type StoredContent,
  type StoredMessage,
} from './conversation.service.ts';
export {
  addUsage,
  ModelError,
  ZERO_USAGE,
  type ModelClient,
  type ModelContentBlock,
  type ModelErrorKind,
  type ModelEvent,
  type ModelRequest,
  type ModelResponse,
  type ModelStreamOptions,
  type ModelTool,
  type ModelUsage,
} from './model-client.ts';
export { createAnthropicModelClient, type AnthropicModelClientOptions } from './anthropic-model-client.ts';
export { createCircuitBreakerRegistry, type CircuitBreakerRegistry } from './circuit-breaker.ts';
export { computeCost, loadPriceTable, type Cost, type ModelPrice, type PriceTable, type TokenUsage } from './pricing/index.ts';
