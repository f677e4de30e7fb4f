import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db, Tx } from '../shared/db.ts';
import { MAX_STORED_DEPTH, storable } from '../shared/storable-json.ts';
import type { Actor, AuditEvent, RequestContext } from './types.ts';

const SECRET_FIELD = /pass(word|phrase)?|secret|token|digest|key$|authorization|cookie|credential|bearer|connection_?string|private_?key|api_?keys$/i;
/** Short words that say "secret" only as words of their own: `auth`, `X-Auth`, `authHeader`, not `author` or `oauth`. */
const SECRET_WORDS = new Set(['auth', 'dsn', 'pwd', 'otp']);
/** Counts of tokens, not tokens: `maxTokens`, `input_tokens`, `thinking_budget_tokens`, `tokenCount`. */
const TOKEN_COUNT = /(max|min|input|output|total|prompt|completion|budget|used|remaining)_?tokens$|token_?(count|budget|limit)s?$/i;
/** The password of a URL's user information: `postgres://app:hunter2@db/prod`. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#:@]*:)[^\s/?#@]+@/gi;

/** A field name's words, lower case: `apiKey`, `api_key` and `X-Api-Key` are all `api`, `key`. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/** Whether a field's name says it holds a secret: its value is never stored. */
export function isSecretField(name: string): boolean {
  if (TOKEN_COUNT.test(name)) return false;
  return SECRET_FIELD.test(name) || wordsOf(name).some((word) => SECRET_WORDS.has(word));
}

/** `text` with the password of every URL in it replaced: a connection string in an ordinary field. */
export function maskUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, '$1[redacted]@');
}

/**
 * Replaces the value of every secret-looking field, at any depth, before it
 * is stored (null, "not set", and booleans are kept: they tell nothing), and the passwords
 * of URLs in text; deeper than
 * `MAX_STORED_DEPTH` is cut.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return maskUrlPasswords(value);
  if (!value || typeof value !== 'object') return value;
  if (depth >= MAX_STORED_DEPTH) return '[nested]';
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSecretField(k) && v !== null && typeof v !== 'boolean' ? '[redacted]' : redactSecrets(v, depth + 1)]));
}

export interface AuditChange {
  action: string;
  resourceType: string;
  resourceId: string | null;
  before?: unknown;
  after?: unknown;
  /**
   * Whether `before` and `after` describe rather than hold values (a tool's definition, whose input
   * schema may name a `token` property): stored without redacting fields by name, so an admin sees
   * what they are asked to approve.
   */
  verbatim?: boolean;
}

/** One event of a batch: who did it, and what changed. */
export interface AuditRecord {
  context: RequestContext;
  change: AuditChange;
}

/**
 * A change as stored: secret-looking fields redacted, text made storable. A
 * NUL in a client's tool arguments would otherwise make jsonb refuse the
 * event, and with it every event of its batch, at every retry.
 */
function toJsonb(value: unknown, verbatim = false): string {
  return JSON.stringify(storable(verbatim ? value : redactSecrets(value)));
}

function toRow(tenantId: string, { context, change }: AuditRecord) {
  return {
    tenant_id: tenantId,
    actor_type: context.actor.type,
    actor_id: context.actor.id,
    action: change.action,
    resource_type: change.resourceType,
    resource_id: change.resourceId,
    before: change.before === undefined ? null : toJsonb(change.before, change.verbatim),
    after: change.after === undefined ? null : toJsonb(change.after, change.verbatim),
    ip: context.ip,
    user_agent: context.userAgent?.slice(0, 512) ?? null,
    request_id: context.requestId,
  };
}

/** Appends one audit event; call it with the transaction that makes the change. */
export async function recordAudit(trx: Tx, tenantId: string, context: RequestContext, change: AuditChange): Promise<void> {
  await recordAudits(trx, tenantId, [{ context, change }]);
}

/** Appends a tenant's events in order, in one statement. */
export async function recordAudits(trx: Tx, tenantId: string, records: readonly AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  await trx
    .insertInto('audit_events')
    .values(records.map((record) => toRow(tenantId, record)))
    .execute();
}

export interface AuditFilter {
  action?: string | undefined;
  actorId?: string | undefined;
  /** Only events of one of these actors; every actor's when undefined. */
  actors?: readonly Actor[] | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Continue after this position: the `seq` of the last event of the previous page. */
  afterSeq?: string | undefined;
  limit: number;
}

/** Lists a tenant's audit events, newest first, with keyset pagination. */
export async function listAuditEvents(trx: Tx | Db, tenantId: string, filter: AuditFilter): Promise<AuditEvent[]> {
  let query = trx.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId);
  if (filter.action) query = query.where('action', '=', filter.action);
  if (filter.actorId) query = query.where('actor_id', '=', filter.actorId);
  const actors = filter.actors;
  if (actors) {
    query = query.where((eb) =>
      eb.or(
        actors.map(
          (a): Expression<SqlBool> =>
            eb.and([eb('actor_type', '=', a.type), a.id === null ? eb('actor_id', 'is', null) : eb('actor_id', '=', a.id)]),
        ),
      ),
    );
  }
  if (filter.resourceType) query = query.where('resource_type', '=', filter.resourceType);
  if (filter.resourceId) query = query.where('resource_id', '=', filter.resourceId);
  if (filter.since) query = query.where('created_at', '>=', filter.since);
  if (filter.until) query = query.where('created_at', '<', filter.until);
  if (filter.afterSeq) query = query.where(sql<boolean>`seq < ${filter.afterSeq}::bigint`);
  const rows = await query
    .select(sql<string>`seq::text`.as('position'))
    .orderBy('seq', 'desc')
    .limit(filter.limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    position: row.position,
    actor: { type: row.actor_type as AuditEvent['actor']['type'], id: row.actor_id },
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    before: row.before,
    after: row.after,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    createdAt: row.created_at,
  }));
}
