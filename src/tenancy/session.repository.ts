import type { Db, Tx } from '../shared/db.ts';

export interface SessionRecord {
  id: string;
  userId: string;
  email: string;
  createdAt: Date;
  expiresAt: Date;
  lastExtendedAt: Date;
}

export interface NewSession {
  id: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/** Inserts a session; needs the session role. */
export async function insertSession(trx: Tx, session: NewSession): Promise<void> {
  await trx
    .insertInto('sessions')
    .values({
      id: session.id,
      user_id: session.userId,
      created_at: session.createdAt,
      expires_at: session.expiresAt,
      last_extended_at: session.createdAt,
      ip: session.ip,
      user_agent: session.userAgent?.slice(0, 512) ?? null,
    })
    .execute();
}

/** One indexed lookup by digest, with the user's email; needs the session role. */
export async function findSession(trx: Tx | Db, id: string): Promise<SessionRecord | undefined> {
  const row = await trx
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.id', 's.user_id', 'u.email', 's.created_at', 's.expires_at', 's.last_extended_at'])
    .where('s.id', '=', id)
    .executeTakeFirst();
  return row
    ? {
        id: row.id,
        userId: row.user_id,
        email: row.email,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        lastExtendedAt: row.last_extended_at,
      }
    : undefined;
}

export async function extendSession(trx: Tx, id: string, expiresAt: Date, at: Date): Promise<void> {
  await trx.updateTable('sessions').set({ expires_at: expiresAt, last_extended_at: at }).where('id', '=', id).execute();
}

export async function deleteSession(trx: Tx, id: string): Promise<void> {
  await trx.deleteFrom('sessions').where('id', '=', id).execute();
}

/** Ends every session of the user, or only those expired by `before` when given. */
export async function deleteUserSessions(trx: Tx, userId: string, before?: Date): Promise<void> {
  let query = trx.deleteFrom('sessions').where('user_id', '=', userId);
  if (before) query = query.where('expires_at', '<=', before);
  await query.execute();
}

/** Ends every session of the user but `keepId` (the one they act through); returns how many ended. */
export async function deleteOtherUserSessions(trx: Tx, userId: string, keepId: string): Promise<number> {
  const result = await trx.deleteFrom('sessions').where('user_id', '=', userId).where('id', '<>', keepId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
