import { sql } from 'kysely';
import type { Db, Tx } from '../shared/db.ts';

/** A server attached to a bot, with the tools it may use there (all when absent). */
export interface BotServerAttachment {
  slug: string;
  tools?: string[];
}

/** The configurable fields of a bot, as written. */
export interface BotFields {
  name: string;
  description: string;
  model: string;
  systemPrompt: string;
  temperature: number | null;
  maxTokens: number;
  /** Extended thinking budget in tokens; null when the bot does not think before answering. */
  thinkingBudget: number | null;
  servers: BotServerAttachment[];
  bots: string[];
  sealedApiKey: string | null;
}

/** A bot row as stored: attachments are JSON, the API key is ciphertext. */
export interface BotRecord extends BotFields {
  id: string;
  tenantId: string;
  slug: string;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = [
  'id',
  'tenant_id',
  'slug',
  'name',
  'description',
  'model',
  'system_prompt',
  'temperature',
  'max_tokens',
  'thinking_budget',
  'servers',
  'bots',
  'anthropic_api_key',
  'created_at',
  'updated_at',
] as const;

function toRecord(row: {
  id: string;
  tenant_id: string;
  slug: string;
  name: string;
  description: string;
  model: string;
  system_prompt: string;
  temperature: string | null;
  max_tokens: number;
  thinking_budget: number | null;
  servers: unknown;
  bots: unknown;
  anthropic_api_key: string | null;
  created_at: Date;
  updated_at: Date;
}): BotRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    model: row.model,
    systemPrompt: row.system_prompt,
    temperature: row.temperature === null ? null : Number(row.temperature),
    maxTokens: row.max_tokens,
    thinkingBudget: row.thinking_budget,
    servers: row.servers as BotServerAttachment[],
    bots: row.bots as string[],
    sealedApiKey: row.anthropic_api_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRow(fields: BotFields) {
  return {
    name: fields.name,
    description: fields.description,
    model: fields.model,
    system_prompt: fields.systemPrompt,
    temperature: fields.temperature,
    max_tokens: fields.maxTokens,
    thinking_budget: fields.thinkingBudget,
    servers: JSON.stringify(fields.servers),
    bots: JSON.stringify(fields.bots),
    anthropic_api_key: fields.sealedApiKey,
  };
}

export async function listBotRecords(trx: Tx | Db, tenantId: string): Promise<BotRecord[]> {
  const rows = await trx.selectFrom('bots').select(COLUMNS).where('tenant_id', '=', tenantId).orderBy('slug').execute();
  return rows.map(toRecord);
}

/**
 * How a read bot row is locked until the transaction ends: `delete` (FOR UPDATE) waits for, and
 * holds off, whoever attaches the bot (see `existingBotSlugs`); `change` (FOR NO KEY UPDATE), for
 * changes keeping its slug, does not.
 */
export type BotRowLock = 'delete' | 'change';

export async function findBotRecord(trx: Tx, tenantId: string, slug: string, lock?: BotRowLock): Promise<BotRecord | undefined> {
  let query = trx.selectFrom('bots').select(COLUMNS).where('tenant_id', '=', tenantId).where('slug', '=', slug);
  if (lock === 'delete') query = query.forUpdate();
  else if (lock === 'change') query = query.forNoKeyUpdate();
  const row = await query.executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

/**
 * The tenant's bots attaching the server `server`, or the bot `bot`, locked for a change (FOR NO KEY
 * UPDATE: one attaching these bots meanwhile, holding them FOR KEY SHARE, is not waited for).
 */
export async function listBotsAttaching(trx: Tx, tenantId: string, attached: { server: string } | { bot: string }): Promise<BotRecord[]> {
  const attaches =
    'server' in attached
      ? sql<boolean>`servers @> ${JSON.stringify([{ slug: attached.server }])}::jsonb`
      : sql<boolean>`bots @> ${JSON.stringify([attached.bot])}::jsonb`;
  const rows = await trx.selectFrom('bots').select(COLUMNS).where('tenant_id', '=', tenantId).where(attaches).orderBy('slug').forNoKeyUpdate().execute();
  return rows.map(toRecord);
}

/**
 * Which of `slugs` name a bot of the tenant. With `hold`, each found is locked FOR KEY SHARE until
 * the transaction ends, so that it is not deleted before what comes to name it is committed (a
 * deletion locks the row FOR UPDATE: it waits, or is waited for and then the bot is not found).
 */
export async function existingBotSlugs(trx: Tx, tenantId: string, slugs: readonly string[], hold = false): Promise<Set<string>> {
  if (slugs.length === 0) return new Set();
  let query = trx.selectFrom('bots').select('slug').where('tenant_id', '=', tenantId).where('slug', 'in', slugs);
  if (hold) query = query.forKeyShare();
  return new Set((await query.execute()).map((r) => r.slug));
}

/** Which of `slugs` name a server of the tenant; with `hold`, each found is locked as `existingBotSlugs` does. */
export async function existingServerSlugs(trx: Tx, tenantId: string, slugs: readonly string[], hold = false): Promise<Set<string>> {
  if (slugs.length === 0) return new Set();
  let query = trx.selectFrom('servers').select('slug').where('tenant_id', '=', tenantId).where('slug', 'in', slugs);
  if (hold) query = query.forKeyShare();
  return new Set((await query.execute()).map((r) => r.slug));
}

export async function insertBotRecord(trx: Tx, record: { id: string; tenantId: string; slug: string } & BotFields): Promise<BotRecord> {
  const row = await trx
    .insertInto('bots')
    .values({ id: record.id, tenant_id: record.tenantId, slug: record.slug, ...toRow(record) })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export async function updateBotRecord(trx: Tx, tenantId: string, id: string, fields: BotFields): Promise<BotRecord> {
  const row = await trx
    .updateTable('bots')
    .set({ ...toRow(fields), updated_at: new Date() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export async function deleteBotRecord(trx: Tx, tenantId: string, id: string): Promise<void> {
  await trx.deleteFrom('bots').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}
