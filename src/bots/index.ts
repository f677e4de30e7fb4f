/** Bots: the model client behind the tool loop, and pricing. The runtime and its endpoints come next. */
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
