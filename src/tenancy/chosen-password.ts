import { sql } from 'kysely';
import { AUTH_ROLE, APP_ROLE, SESSION_ROLE, withSessionStore, type Db, type Tx } from '../shared/db.ts';
import { recordAudit } from './audit.ts';
import { listUserMemberships } from './membership.repository.ts';
import { deleteOtherUserSessions, deleteUserSessions } from './session.repository.ts';
import type { RequestContext } from './types.ts';
import { storeChosenPassword } from './user.repository.ts';

export interface ChosenPassword {
  userId: string;
  email: string;
  /** The argon2 hash of the password the person chose. */
  passwordHash: string;
  /** The hash the person's current password was checked against: nothing is stored if it changed meanwhile. */
  replacing?: string | null;
  /** The session the person chose it through, which stays; their others end. */
  keepSessionId: string;
  /** Where it was chosen, for the audit trail. */
  source: 'account' | 'invitation';
  context: Omit<RequestContext, 'actor'>;
}

/**
 * Stores a password the person chose (marked as chosen), ends every other session of theirs (whoever
 * knew the old password may hold one), and records `account.password_change` in the audit trail of
 * each tenant they belong to: there is no per-person trail, and each tenant's owners should see that
 * a member's sign-ins elsewhere ended. All in `trx`, switching roles as each step needs and ending
 * as the application role in the tenant the transaction was set to. False, changing nothing, when
 * the stored hash is no longer `replacing`.
 */
export async function applyChosenPassword(trx: Tx, chosen: ChosenPassword): Promise<boolean> {
  const setting = await sql<{ tenant: string | null }>`select current_setting('app.tenant_id', true) as tenant`.execute(trx);
  const tenantBefore = setting.rows[0]?.tenant ?? '';

  await sql`select set_config('role', ${APP_ROLE}, true)`.execute(trx);
  if (!(await storeChosenPassword(trx, chosen.userId, chosen.passwordHash, chosen.replacing))) return false;

  await sql`select set_config('role', ${SESSION_ROLE}, true)`.execute(trx);
  const ended = await deleteOtherUserSessions(trx, chosen.userId, chosen.keepSessionId);

  await sql`select set_config('role', ${AUTH_ROLE}, true)`.execute(trx);
  const memberships = await listUserMemberships(trx, chosen.userId);

  const context: RequestContext = { ...chosen.context, actor: { type: 'user', id: chosen.userId } };
  for (const { tenant } of memberships) {
    await sql`select set_config('role', ${APP_ROLE}, true), set_config('app.tenant_id', ${tenant.id}, true)`.execute(trx);
    await recordAudit(trx, tenant.id, context, {
      action: 'account.password_change',
      resourceType: 'member',
      resourceId: chosen.userId,
      after: { email: chosen.email, source: chosen.source, otherSessionsEnded: ended },
    });
  }
  await sql`select set_config('role', ${APP_ROLE}, true), set_config('app.tenant_id', ${tenantBefore}, true)`.execute(trx);
  return true;
}

/**
 * Ends the person's sessions (but `keepSessionId`) once more, after a change of their password
 * committed: a sign-in that checked the old password may have added its session after the change's
 * own transaction ended the others. Such a sign-in checks the password again once its session is in
 * (see `login`), so between the two no session opened with the old password outlives the change.
 */
export async function endSessionsAgain(db: Db, userId: string, keepSessionId?: string): Promise<void> {
  await withSessionStore(db, async (trx) => {
    if (keepSessionId === undefined) await deleteUserSessions(trx, userId);
    else await deleteOtherUserSessions(trx, userId, keepSessionId);
  });
}
