export { computeCost, type Cost, type TokenUsage } from './cost.ts';
export { loadPriceTable, type ModelPrice, type PriceTable } from './price-table.ts';
