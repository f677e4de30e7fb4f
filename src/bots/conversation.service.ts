import * as z from 'zod';
import { withTenant, type Db, type Tx } from '../shared/db.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { unstorableAt } from '../shared/storable-json.ts';
import { isUuid, type Actor } from '../tenancy/index.ts';
import {
  botExists,
  findConversation,
  insertConversation,
  insertMessages,
  lastSeq,
  listConversations,
  listMessages,
  lockConversation,
  touchConversation,
  updateSummary,
  type ConversationFilter,
  type ConversationRecord,
  type StoredContent,
  type StoredMessage,
} from './conversation.repository.ts';

export type { StoredContent, StoredMessage } from './conversation.repository.ts';

/** A conversation with a bot, without its messages. */
export interface ConversationInfo {
  id: string;
  botId: string;
  title: string | null;
  /** Who started it. */
  principal: Actor;
  summary: string | null;
  summarizedThroughSeq: number | null;
  messageCount: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A message to append; `content` is Anthropic message content, an array of content blocks. */
export interface NewMessage {
  role: 'user' | 'assistant';
  content: StoredContent;
  /** The bot run that produced the turn. */
  runId: string | null;
}

/** Who may see a conversation: undefined = the whole tenant; else only conversations started by one of these principals. */
export type ConversationVisibility = readonly Actor[] | undefined;

/** Persisted conversations with bots: their messages, titles and summaries. */
export interface ConversationService {
  /** 404 'bot not found' when the tenant has no bot with that id. */
  /** `id` lets a caller name the conversation before it is stored (a run announces it while the insert is under way). */
  create(tenantId: string, input: { id?: string; botId: string; principal: Actor; title?: string | null }): Promise<ConversationInfo>;
  /** 404 AppError('not_found', 'conversation not found') when it does not exist in the tenant, belongs to another bot (when botId given), or is not visible. */
  get(tenantId: string, id: string, options?: { botId?: string; visibleTo?: ConversationVisibility }): Promise<ConversationInfo>;
  /** Newest first (updated_at desc, id desc), cursor pagination like the audit API. */
  list(
    tenantId: string,
    options: { botId?: string; visibleTo?: ConversationVisibility; limit: number; cursor?: string },
  ): Promise<{ conversations: ConversationInfo[]; nextCursor: string | null }>;
  /** Every message in order. */
  messages(tenantId: string, id: string): Promise<StoredMessage[]>;
  /** What the model is sent: the summary, and the first message plus the messages after summarizedThroughSeq (all of them when no summary), in order. */
  history(tenantId: string, id: string): Promise<{ summary: string | null; messages: StoredMessage[] }>;
  /**
   * Appends a whole turn in one transaction (all or nothing), seq continuing from the last; bumps
   * updated_at; titles an untitled conversation with its first user text. Concurrent turns queue on
   * the conversation's row lock, so they never interleave or collide on seq.
   */
  appendTurn(tenantId: string, id: string, messages: NewMessage[]): Promise<StoredMessage[]>;
  /**
   * Records a summary of the messages up to and including throughSeq. A summary older than the
   * stored one (a smaller throughSeq, from a slower concurrent summarizer) is ignored.
   */
  storeSummary(tenantId: string, id: string, input: { summary: string; throughSeq: number }): Promise<void>;
}

const TITLE_LENGTH = 80;
const MAX_PAGE = 200;

const refuse = (field: string, reason: string) => new AppError('validation_failed', `${field}: ${reason}`, { details: { field } });

const contentBlock = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { type?: unknown }).type === 'string',
  'must be a content block: an object with a string "type"',
);

const turnSchema = z
  .array(
    z.object({
      role: z.enum(['user', 'assistant'], 'must be "user" or "assistant"'),
      content: z.array(contentBlock, 'must be an array of content blocks'),
      runId: z.string().refine(isUuid, 'must be a UUID').nullable(),
    }),
    'must be an array of messages',
  )
  .min(1, 'must hold at least one message');

const titleSchema = z.string().trim().max(200, 'must be at most 200 characters').nullable();
const summarySchema = z.string().trim().min(1, 'must not be empty');
const throughSeqSchema = z.int('must be a whole number').min(1, 'must be at least 1');

/** Parses a value; the error names the field and the place inside it (`messages.1.content.0`). */
function parse<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw refuse([field, ...(issue?.path ?? [])].join('.'), issue?.message ?? 'is invalid');
}

/** The first user text, on one line, cut to 80 characters (whole code points). */
function titleFrom(messages: readonly NewMessage[]): string | undefined {
  for (const message of messages) {
    if (message.role !== 'user') continue;
    for (const block of message.content) {
      if (block['type'] !== 'text' || typeof block['text'] !== 'string') continue;
      const text = block['text'].replace(/\s+/g, ' ').trim();
      if (text) return Array.from(text).slice(0, TITLE_LENGTH).join('').trimEnd();
    }
  }
  return undefined;
}

const CURSOR = /^((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\d{3}Z) ([0-9a-f-]{36})$/i;

function encodeCursor(record: ConversationRecord): string {
  return Buffer.from(`${record.position} ${record.id}`).toString('base64url');
}

/** The keyset position a cursor holds; a cursor this API did not return is a validation error, never a database one. */
function decodeCursor(cursor: string): { position: string; id: string } {
  const [, position, millis, id] = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8')) ?? [];
  // A date that does not survive a round trip (February 30th) would fail in the database.
  const roundTrips = millis !== undefined && new Date(`${millis}Z`).toISOString() === `${millis}Z`;
  if (position === undefined || id === undefined || !isUuid(id) || !roundTrips) throw refuse('cursor', 'not a cursor this API returned');
  return { position, id };
}

function toInfo(record: ConversationRecord): ConversationInfo {
  return {
    id: record.id,
    botId: record.botId,
    title: record.title,
    principal: record.principal,
    summary: record.summary,
    summarizedThroughSeq: record.summarizedThroughSeq,
    messageCount: record.messageCount,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

function isForeignKeyViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23503';
}

const conversationNotFound = () => notFound('conversation');

/** A filter for the repository; ids that are not UUIDs match nothing and never reach the database. */
function filterOf(options: { botId?: string | undefined; visibleTo?: ConversationVisibility }): ConversationFilter | undefined {
  if (options.botId !== undefined && !isUuid(options.botId)) return undefined;
  return { botId: options.botId, principals: options.visibleTo };
}

/** Conversations, read and written as the tenant under row-level security; messages are only ever appended. */
export function createConversationService({ db }: { db: Db }): ConversationService {
  async function lockOr404(trx: Tx, tenantId: string, id: string) {
    const locked = isUuid(id) ? await lockConversation(trx, tenantId, id) : undefined;
    if (!locked) throw conversationNotFound();
    return locked;
  }

  async function existingOr404(trx: Tx, tenantId: string, id: string) {
    const record = isUuid(id) ? await findConversation(trx, tenantId, id) : undefined;
    if (!record) throw conversationNotFound();
    return record;
  }

  return {
    async create(tenantId, input) {
      const title = parse(titleSchema, input.title ?? null, 'title') || null;
      if (!isUuid(input.botId)) throw notFound('bot');
      try {
        return await withTenant(db, tenantId, async (trx) => {
          if (!(await botExists(trx, tenantId, input.botId))) throw notFound('bot');
          return toInfo(await insertConversation(trx, tenantId, { id: input.id, botId: input.botId, principal: input.principal, title }));
        });
      } catch (error) {
        // The bot was deleted between the check and the insert.
        if (isForeignKeyViolation(error)) throw notFound('bot');
        throw error;
      }
    },

    async get(tenantId, id, options = {}) {
      const filter = filterOf(options);
      const record = filter && isUuid(id) ? await withTenant(db, tenantId, (trx) => findConversation(trx, tenantId, id, filter)) : undefined;
      if (!record) throw conversationNotFound();
      return toInfo(record);
    },

    async list(tenantId, options) {
      const limit = parse(z.int('must be a whole number').min(1).max(MAX_PAGE), options.limit, 'limit');
      const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
      const filter = filterOf(options);
      if (!filter) return { conversations: [], nextCursor: null };
      // One extra row tells whether another page exists.
      const rows = await withTenant(db, tenantId, (trx) => listConversations(trx, tenantId, { ...filter, after, limit: limit + 1 }));
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { conversations: page.map(toInfo), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
    },

    async messages(tenantId, id) {
      return withTenant(db, tenantId, async (trx) => {
        await existingOr404(trx, tenantId, id);
        return listMessages(trx, tenantId, id);
      });
    },

    async history(tenantId, id) {
      return withTenant(db, tenantId, async (trx) => {
        const record = await existingOr404(trx, tenantId, id);
        const afterSeq = record.summary === null ? undefined : (record.summarizedThroughSeq ?? undefined);
        return { summary: record.summary, messages: await listMessages(trx, tenantId, id, afterSeq) };
      });
    },

    async appendTurn(tenantId, id, messages) {
      // Everything is checked before the transaction: a bad message refuses the whole turn.
      const turn: NewMessage[] = parse(turnSchema, messages, 'messages');
      turn.forEach((message, i) => {
        const unstorable = unstorableAt(message.content, `messages.${i}.content`);
        if (unstorable) throw refuse(unstorable.path, unstorable.reason);
      });
      return withTenant(db, tenantId, async (trx) => {
        const conversation = await lockOr404(trx, tenantId, id);
        const last = await lastSeq(trx, tenantId, id);
        const stored = await insertMessages(
          trx,
          tenantId,
          id,
          turn.map((message, i) => ({ ...message, seq: last + 1 + i })),
        );
        await touchConversation(trx, tenantId, id, conversation.title === null ? titleFrom(turn) : undefined);
        return stored;
      });
    },

    async storeSummary(tenantId, id, input) {
      const summary = parse(summarySchema, input.summary, 'summary');
      const throughSeq = parse(throughSeqSchema, input.throughSeq, 'throughSeq');
      await withTenant(db, tenantId, async (trx) => {
        const conversation = await lockOr404(trx, tenantId, id);
        const last = await lastSeq(trx, tenantId, id);
        if (throughSeq > last) throw refuse('throughSeq', `must be at most ${last}, the last message of the conversation`);
        if (conversation.summarizedThroughSeq !== null && conversation.summarizedThroughSeq > throughSeq) return;
        await updateSummary(trx, tenantId, id, summary, throughSeq);
      });
    },
  };
}
