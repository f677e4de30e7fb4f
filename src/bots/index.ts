import type { Db } from '../shared/db.ts';
import { createBotService, type BotSecretKeySource, type BotService } from './bot.service.ts';
import { loadPriceTable } from './pricing/index.ts';

/** Bots: their configuration, the model client behind the tool loop, and pricing. The runtime and its endpoints come next. */
export interface BotsModule {
  bots: BotService;
}

/** Tenants' configured bots; their models are priced with the built-in price table. */
export function createBotsModule(deps: { db: Db; secretKey: BotSecretKeySource }): BotsModule {
  return { bots: createBotService({ ...deps, prices: () => loadPriceTable() }) };
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
