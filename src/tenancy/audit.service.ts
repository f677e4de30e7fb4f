import type { Db } from '../shared/db.ts';
import { withTenant } from '../shared/db.ts';
import { AppError } from '../shared/errors.ts';
import { listAuditEvents } from './audit.ts';
import type { Actor, AuditEvent } from './types.ts';

export interface AuditQuery {
  action?: string | undefined;
  actorId?: string | undefined;
  /** Only events of one of these actors; every actor's when undefined. */
  actors?: readonly Actor[] | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface AuditService {
  list(tenantId: string, query: AuditQuery): Promise<AuditPage>;
}

/** The largest PostgreSQL bigint: a position past it would fail as a database error, not a bad cursor. */
const MAX_SEQ = 9_223_372_036_854_775_807n;

function decodeCursor(cursor: string): string {
  const seq = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{1,19}$/.test(seq) || BigInt(seq) > MAX_SEQ) {
    throw new AppError('validation_failed', 'cursor: not a cursor this API returned');
  }
  return seq;
}

export function createAuditService({ db }: { db: Db }): AuditService {
  return {
    async list(tenantId, query) {
      const afterSeq = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      // One extra row tells whether another page exists.
      const rows = await withTenant(db, tenantId, (trx) =>
        listAuditEvents(trx, tenantId, { ...query, afterSeq, limit: query.limit + 1 }),
      );
      const events = rows.slice(0, query.limit);
      const last = events.at(-1);
      return {
        events,
        nextCursor: rows.length > query.limit && last ? Buffer.from(last.position).toString('base64url') : null,
      };
    },
  };
}
