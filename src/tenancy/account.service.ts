import { withAuthenticator, type Db } from '../shared/db.ts';
import { AppError } from '../shared/errors.ts';
import { applyChosenPassword, endSessionsAgain } from './chosen-password.ts';
import { parseOrThrow } from './parse.ts';
import { hashPassword, verifyPassword } from './password.ts';
import type { RequestContext } from './types.ts';
import { findUserCredentialsById } from './user.repository.ts';
import { isUuid, passwordSchema } from './validation.ts';

/** Longer than any password the schema lets anyone choose: not checked at all. */
const MAX_PASSWORD = 1024;

export type PasswordChange = 'changed' | 'wrong_password';

/** What a signed-in person does to their own account, across their tenants. */
export interface AccountService {
  /**
   * Replaces the person's password after checking their current one: the new one is marked as
   * chosen, their sessions but `sessionId` end, and each of their tenants records
   * `account.password_change`. A new password the schema refuses, or the current one again, is a
   * `validation_failed` naming `password`; a wrong current password changes nothing.
   */
  changePassword(
    person: { userId: string; sessionId: string },
    input: { current: string; next: string },
    context: Omit<RequestContext, 'actor'>,
  ): Promise<PasswordChange>;
}

export function createAccountService({
  db,
  verify = verifyPassword,
}: {
  db: Db;
  /** Checks a password against an argon2 hash. */
  verify?: (hashed: string, password: string) => Promise<boolean>;
}): AccountService {
  return {
    async changePassword(person, input, context) {
      const next = parseOrThrow(passwordSchema, input.next, 'password');
      if (!isUuid(person.userId) || input.current.length > MAX_PASSWORD) return 'wrong_password';
      const user = await withAuthenticator(db, (trx) => findUserCredentialsById(trx, person.userId));
      if (!user?.passwordHash) return 'wrong_password';
      let matches: boolean;
      try {
        matches = await verify(user.passwordHash, input.current);
      } catch {
        // A stored hash argon2 cannot parse matches nothing.
        matches = false;
      }
      if (!matches) return 'wrong_password';
      if (next === input.current) {
        throw new AppError('validation_failed', 'password: choose a password other than your current one', { details: { field: 'password' } });
      }
      // Hash outside the transaction: it is slow on purpose.
      const passwordHash = await hashPassword(next);
      const stored = await db.transaction().execute((trx) =>
        applyChosenPassword(trx, {
          userId: user.id,
          email: user.email,
          passwordHash,
          replacing: user.passwordHash,
          keepSessionId: person.sessionId,
          source: 'account',
          context,
        }),
      );
      // Changed meanwhile (another of their sessions, say): the password given is no longer current.
      if (!stored) return 'wrong_password';
      await endSessionsAgain(db, user.id, person.sessionId);
      return 'changed';
    },
  };
}
