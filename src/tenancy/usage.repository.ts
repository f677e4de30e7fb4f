import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db, Tx } from '../shared/db.ts';
import type { Actor } from './types.ts';

/** One model call as the bot runtime reports it. */
export interface UsageRecordInput {
  botId: string | null;
  conversationId: string | null;
  runId: string;
  /** The run of the calling bot when this one was called by another; costs roll up there. */
  parentRunId: string | null;
  /** Who the call was made for: the credential or person that started the run. */
  principal: Actor;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  /** Exact USD as a decimal string; null when the model has no price. */
  costUsd: string | null;
  stopReason: string | null;
  error: string | null;
}

export type UsageGroupBy = 'day' | 'bot' | 'model' | 'principal';

export interface UsageFilter {
  groupBy: UsageGroupBy;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Only calls made for one of these principals; every call when undefined. */
  principals?: readonly Actor[] | undefined;
}

/** Sums over a set of calls; costs are exact decimal strings. */
export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  /** Sum of the priced calls; unpriced calls are counted in `unpricedCalls`, not guessed. */
  costUsd: string;
  unpricedCalls: number;
}

export interface UsageGroup extends UsageTotals {
  /** `YYYY-MM-DD` (UTC), bot id, model, or `{type}:{id}`; null for calls without a bot. */
  key: string | null;
}

/** Appends one usage record; the table is append-only for the application. */
export async function insertUsageRecord(trx: Tx, tenantId: string, usage: UsageRecordInput): Promise<string> {
  const row = await trx
    .insertInto('usage_records')
    .values({
      tenant_id: tenantId,
      bot_id: usage.botId,
      conversation_id: usage.conversationId,
      run_id: usage.runId,
      parent_run_id: usage.parentRunId,
      principal_type: usage.principal.type,
      principal_id: usage.principal.id,
      model: usage.model,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      cache_write_tokens: usage.cacheWriteTokens,
      cache_read_tokens: usage.cacheReadTokens,
      cost_usd: usage.costUsd,
      priced: usage.costUsd !== null,
      stop_reason: usage.stopReason,
      error: usage.error,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

const GROUP_KEY: Record<UsageGroupBy, Expression<string | null>> = {
  day: sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`,
  bot: sql<string | null>`bot_id::text`,
  model: sql<string>`model`,
  principal: sql<string>`case when principal_id is null then principal_type else principal_type || ':' || principal_id end`,
};

// Sums run in SQL over numeric and come back as text: no float touches a cost.
const TOTALS = [
  sql<string>`count(*)::text`.as('calls'),
  sql<string>`coalesce(sum(input_tokens), 0)::text`.as('input_tokens'),
  sql<string>`coalesce(sum(output_tokens), 0)::text`.as('output_tokens'),
  sql<string>`coalesce(sum(cache_write_tokens), 0)::text`.as('cache_write_tokens'),
  sql<string>`coalesce(sum(cache_read_tokens), 0)::text`.as('cache_read_tokens'),
  sql<string>`trim_scale(coalesce(sum(cost_usd), 0))::text`.as('cost_usd'),
  sql<string>`(count(*) filter (where not priced))::text`.as('unpriced_calls'),
] as const;

interface TotalsRow {
  calls: string;
  input_tokens: string;
  output_tokens: string;
  cache_write_tokens: string;
  cache_read_tokens: string;
  cost_usd: string;
  unpriced_calls: string;
}

function toTotals(row: TotalsRow): UsageTotals {
  return {
    calls: Number(row.calls),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    cacheWriteTokens: Number(row.cache_write_tokens),
    cacheReadTokens: Number(row.cache_read_tokens),
    costUsd: row.cost_usd,
    unpricedCalls: Number(row.unpriced_calls),
  };
}

function filtered(trx: Tx | Db, tenantId: string, filter: UsageFilter) {
  let query = trx.selectFrom('usage_records').where('tenant_id', '=', tenantId);
  if (filter.since) query = query.where('created_at', '>=', filter.since);
  if (filter.until) query = query.where('created_at', '<', filter.until);
  const principals = filter.principals;
  if (principals) {
    query = query.where((eb) =>
      eb.or(
        principals.map(
          (p): Expression<SqlBool> =>
            p.id === null
              ? eb.and([eb('principal_type', '=', p.type), eb('principal_id', 'is', null)])
              : eb.and([eb('principal_type', '=', p.type), eb('principal_id', '=', p.id)]),
        ),
      ),
    );
  }
  return query;
}

/** A tenant's usage summed per group, ordered by key, and over everything that matched. */
export async function summarizeUsage(
  trx: Tx | Db,
  tenantId: string,
  filter: UsageFilter,
): Promise<{ groups: UsageGroup[]; total: UsageTotals }> {
  const key = GROUP_KEY[filter.groupBy];
  const rows = await filtered(trx, tenantId, filter)
    .select([sql<string | null>`${key}`.as('key'), ...TOTALS])
    .groupBy(sql`1`)
    .orderBy(sql`1 asc nulls last`)
    .execute();
  const total = await filtered(trx, tenantId, filter).select([...TOTALS]).executeTakeFirstOrThrow();
  return { groups: rows.map((row) => ({ key: row.key, ...toTotals(row) })), total: toTotals(total) };
}

/**
 * The usage of a conversation: its own model calls and, recursively, those of
 * every bot its runs called (linked by parent run). Row-level security and
 * the tenant filter keep the walk inside the tenant.
 */
export async function conversationUsage(trx: Tx | Db, tenantId: string, conversationId: string): Promise<UsageTotals> {
  const result = await sql<TotalsRow>`
    with recursive runs(run_id) as (
      select distinct run_id from usage_records where tenant_id = ${tenantId} and conversation_id = ${conversationId}
      union
      select u.run_id from usage_records u join runs r on u.parent_run_id = r.run_id where u.tenant_id = ${tenantId}
    )
    select count(*)::text as calls,
           coalesce(sum(input_tokens), 0)::text as input_tokens,
           coalesce(sum(output_tokens), 0)::text as output_tokens,
           coalesce(sum(cache_write_tokens), 0)::text as cache_write_tokens,
           coalesce(sum(cache_read_tokens), 0)::text as cache_read_tokens,
           trim_scale(coalesce(sum(cost_usd), 0))::text as cost_usd,
           (count(*) filter (where not priced))::text as unpriced_calls
      from usage_records
     where tenant_id = ${tenantId} and run_id in (select run_id from runs)`.execute(trx);
  const row = result.rows[0];
  if (!row) throw new Error('usage totals query returned no row');
  return toTotals(row);
}
