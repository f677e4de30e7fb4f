import fs from 'node:fs/promises';
import * as z from 'zod';
import { closestName } from '../../shared/closest-name.ts';

/** USD per million tokens for one model, as exact decimal strings. */
export interface ModelPrice {
  model: string;
  aliases: readonly string[];
  input: string;
  output: string;
  /** The 5-minute cache write rate. */
  cacheWrite: string;
  cacheRead: string;
  /** Where the rates were read, and when. */
  source: string;
  asOf: string;
}

/** The prices by model id and declared alias. */
export interface PriceTable {
  readonly models: readonly ModelPrice[];
  /** The price of `model` by exact id or declared alias; undefined when unpriced. */
  find(model: string): ModelPrice | undefined;
  /** The priced id or alias an unpriced `model` most likely misspells (`claude-sonet-4-5`); undefined when none is near. */
  similar(model: string): string | undefined;
}

// At most 4 decimals per million tokens keeps every per-call cost exact at the 10 decimals stored.
const DECIMAL = /^\d{1,6}(\.\d{1,4})?$/;

// A number in JSON is accepted too, read through its shortest decimal form ("0.3", not 0.299…).
const rate = z
  .union([z.string(), z.number().nonnegative()])
  .transform((value) => (typeof value === 'number' ? String(value) : value))
  .refine((value) => DECIMAL.test(value), 'must be a non-negative decimal such as "3" or "0.30"');

const modelId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/, 'must be a model id such as "claude-haiku-4-5"');

const entrySchema = z.strictObject({
  model: modelId,
  aliases: z.array(modelId).max(20).default([]),
  input: rate,
  output: rate,
  cache_write: rate,
  cache_read: rate,
  source: z.string().min(1).max(500),
  as_of: z.iso.date(),
});

const fileSchema = z.strictObject({
  $comment: z.string().optional(),
  models: z.array(entrySchema),
});

const BUILT_IN = new URL('./prices.json', import.meta.url);

async function readPriceFile(file: string | URL): Promise<ModelPrice[]> {
  const name = file instanceof URL ? file.pathname : file;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`price file ${name}: ${(error as Error).message}`, { cause: error });
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw new Error(`price file ${name}: ${field}: ${issue?.message ?? 'is invalid'}`);
  }
  return result.data.models.map((entry) => ({
    model: entry.model,
    aliases: entry.aliases,
    input: entry.input,
    output: entry.output,
    cacheWrite: entry.cache_write,
    cacheRead: entry.cache_read,
    source: entry.source,
    asOf: entry.as_of,
  }));
}

/** Indexes entries by id and alias; a name claimed twice is an error, never a silent choice. */
function indexPrices(models: readonly ModelPrice[], describe: string): Map<string, ModelPrice> {
  const byName = new Map<string, ModelPrice>();
  for (const price of models) {
    for (const name of [price.model, ...price.aliases]) {
      const other = byName.get(name);
      if (other) {
        throw new Error(`${describe}: "${name}" names both ${other.model} and ${price.model}`);
      }
      byName.set(name, price);
    }
  }
  return byName;
}

/**
 * The built-in price table, with the operator's file (same format) merged over it:
 * an operator entry replaces the built-in entry of the same `model`, or adds one.
 */
export async function loadPriceTable(options: { overrideFile?: string | undefined } = {}): Promise<PriceTable> {
  const builtIn = await readPriceFile(BUILT_IN);
  const merged = new Map(builtIn.map((price) => [price.model, price]));
  let describe = 'built-in price table';
  if (options.overrideFile !== undefined) {
    for (const price of await readPriceFile(options.overrideFile)) merged.set(price.model, price);
    describe = `price file ${options.overrideFile}`;
  }
  const models = [...merged.values()];
  const byName = indexPrices(models, describe);
  return { models, find: (model) => byName.get(model), similar: (model) => closestName(model, byName.keys()) };
}
