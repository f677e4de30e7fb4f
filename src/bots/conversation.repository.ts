import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database } from '../shared/db-schema.ts';
import type { Db, Tx } from '../shared/db.ts';
import type { Actor } from '../tenancy/index.ts';

/** Anthropic content blocks as JSON. */
export type StoredContent = Array<Record<string, unknown>>;

/** A conversation row with how many messages it holds. */
export interface ConversationRecord {
  id: string;
  botId: string;
  principal: Actor;
  title: string | null;
  summary: string | null;
  summarizedThroughSeq: number | null;
  messageCount: number;
  createdAt: Date;
  updatedAt: Date;
  /** `updated_at` in UTC to the microsecond: the exact keyset position, which a Date would round. */
  position: string;
}

/** One stored message; `seq` counts from 1 within its conversation. */
export interface StoredMessage {
  id: string;
  seq: number;
  role: 'user' | 'assistant';
  content: StoredContent;
  runId: string | null;
  createdAt: Date;
}

export interface ConversationFilter {
  botId?: string | undefined;
  /** Only conversations started by one of these principals; all when undefined. */
  principals?: readonly Actor[] | undefined;
}

type ConversationsEb = ExpressionBuilder<Database, 'conversations'>;

const COLUMNS = [
  'id',
  'bot_id',
  'principal_type',
  'principal_id',
  'title',
  'summary',
  'summarized_through_seq',
  'created_at',
  'updated_at',
] as const;

const POSITION = sql<string>`to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function withDetails(eb: ConversationsEb) {
  return [
    eb
      .selectFrom('conversation_messages as m')
      .select(sql<string>`count(*)::text`.as('n'))
      .whereRef('m.conversation_id', '=', 'conversations.id')
      .as('message_count'),
    POSITION.as('position'),
  ];
}

function toConversation(row: {
  id: string;
  bot_id: string;
  principal_type: string;
  principal_id: string | null;
  title: string | null;
  summary: string | null;
  summarized_through_seq: number | null;
  created_at: Date;
  updated_at: Date;
  message_count: string | null;
  position: string;
}): ConversationRecord {
  return {
    id: row.id,
    botId: row.bot_id,
    principal: { type: row.principal_type as Actor['type'], id: row.principal_id },
    title: row.title,
    summary: row.summary,
    summarizedThroughSeq: row.summarized_through_seq,
    messageCount: Number(row.message_count ?? 0),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    position: row.position,
  };
}

const MESSAGE_COLUMNS = ['id', 'seq', 'role', 'content', 'run_id', 'created_at'] as const;

function toMessage(row: { id: string; seq: number; role: 'user' | 'assistant'; content: unknown; run_id: string | null; created_at: Date }): StoredMessage {
  return { id: row.id, seq: row.seq, role: row.role, content: row.content as StoredContent, runId: row.run_id, createdAt: row.created_at };
}

function visibleTo(eb: ConversationsEb, principals: readonly Actor[]): Expression<SqlBool> {
  return eb.or(
    principals.map((p) =>
      p.id === null
        ? eb.and([eb('principal_type', '=', p.type), eb('principal_id', 'is', null)])
        : eb.and([eb('principal_type', '=', p.type), eb('principal_id', '=', p.id)]),
    ),
  );
}

function filtered(trx: Tx | Db, tenantId: string, filter: ConversationFilter) {
  let query = trx.selectFrom('conversations').where('tenant_id', '=', tenantId);
  if (filter.botId !== undefined) query = query.where('bot_id', '=', filter.botId);
  const principals = filter.principals;
  if (principals) query = query.where((eb) => visibleTo(eb, principals));
  return query;
}

/** Whether the tenant has a bot with this id; read under row-level security, unlike the foreign key check. */
export async function botExists(trx: Tx, tenantId: string, botId: string): Promise<boolean> {
  const row = await trx.selectFrom('bots').select('id').where('tenant_id', '=', tenantId).where('id', '=', botId).executeTakeFirst();
  return row !== undefined;
}

export async function insertConversation(
  trx: Tx,
  tenantId: string,
  input: { id?: string | undefined; botId: string; principal: Actor; title: string | null },
): Promise<ConversationRecord> {
  const row = await trx
    .insertInto('conversations')
    .values({
      ...(input.id !== undefined && { id: input.id }),
      tenant_id: tenantId,
      bot_id: input.botId,
      principal_type: input.principal.type,
      principal_id: input.principal.id,
      title: input.title,
    })
    .returning([...COLUMNS, POSITION.as('position')])
    .executeTakeFirstOrThrow();
  return toConversation({ ...row, message_count: '0' });
}

export async function findConversation(
  trx: Tx,
  tenantId: string,
  id: string,
  filter: ConversationFilter = {},
): Promise<ConversationRecord | undefined> {
  const row = await filtered(trx, tenantId, filter)
    .select(COLUMNS)
    .select(withDetails)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toConversation(row) : undefined;
}

/**
 * Locks the conversation row until the transaction ends, so turns appended to it
 * queue up instead of interleaving; undefined when the tenant has no such conversation.
 */
export async function lockConversation(
  trx: Tx,
  tenantId: string,
  id: string,
): Promise<{ title: string | null; summarizedThroughSeq: number | null } | undefined> {
  const row = await trx
    .selectFrom('conversations')
    .select(['title', 'summarized_through_seq'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row ? { title: row.title, summarizedThroughSeq: row.summarized_through_seq } : undefined;
}

/** Newest first (updated_at, then id, descending), continuing after `after` when given. */
export async function listConversations(
  trx: Tx,
  tenantId: string,
  filter: ConversationFilter & { after?: { position: string; id: string } | undefined; limit: number },
): Promise<ConversationRecord[]> {
  let query = filtered(trx, tenantId, filter);
  const after = filter.after;
  if (after) query = query.where(sql<boolean>`(updated_at, id) < (${after.position}::timestamptz, ${after.id}::uuid)`);
  const rows = await query
    .select(COLUMNS)
    .select(withDetails)
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit)
    .execute();
  return rows.map(toConversation);
}

/** The messages of a conversation in order; with `afterSeq`, only the first one and those after it. */
export async function listMessages(trx: Tx, tenantId: string, conversationId: string, afterSeq?: number): Promise<StoredMessage[]> {
  let query = trx
    .selectFrom('conversation_messages')
    .select(MESSAGE_COLUMNS)
    .where('tenant_id', '=', tenantId)
    .where('conversation_id', '=', conversationId);
  if (afterSeq !== undefined) {
    query = query.where((eb) =>
      eb.or([
        eb('seq', '>', afterSeq),
        eb(
          'seq',
          '=',
          eb.selectFrom('conversation_messages as f').select((f) => f.fn.min<number>('f.seq').as('first')).where('f.conversation_id', '=', conversationId),
        ),
      ]),
    );
  }
  const rows = await query.orderBy('seq').execute();
  return rows.map(toMessage);
}

/** The seq of the last message; 0 for a conversation without messages. */
export async function lastSeq(trx: Tx, tenantId: string, conversationId: string): Promise<number> {
  const row = await trx
    .selectFrom('conversation_messages')
    .select((eb) => eb.fn.max<number | null>('seq').as('last'))
    .where('tenant_id', '=', tenantId)
    .where('conversation_id', '=', conversationId)
    .executeTakeFirst();
  return row?.last ?? 0;
}

export async function insertMessages(
  trx: Tx,
  tenantId: string,
  conversationId: string,
  messages: ReadonlyArray<{ seq: number; role: 'user' | 'assistant'; content: StoredContent; runId: string | null }>,
): Promise<StoredMessage[]> {
  const rows = await trx
    .insertInto('conversation_messages')
    .values(
      messages.map((m) => ({
        tenant_id: tenantId,
        conversation_id: conversationId,
        seq: m.seq,
        role: m.role,
        content: JSON.stringify(m.content),
        run_id: m.runId,
      })),
    )
    .returning(MESSAGE_COLUMNS)
    .execute();
  return rows.map(toMessage).sort((a, b) => a.seq - b.seq);
}

/** Marks new activity; sets the title when one is given. */
export async function touchConversation(trx: Tx, tenantId: string, id: string, title: string | undefined): Promise<void> {
  // The clock, not the transaction start: a turn that waited for the lock must sort after the one it waited for.
  let update = trx.updateTable('conversations').set({ updated_at: sql<Date>`greatest(updated_at, clock_timestamp())` });
  if (title !== undefined) update = update.set({ title });
  await update.where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

export async function updateSummary(trx: Tx, tenantId: string, id: string, summary: string, throughSeq: number): Promise<void> {
  await trx
    .updateTable('conversations')
    .set({ summary, summarized_through_seq: throughSeq })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}
