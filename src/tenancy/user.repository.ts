import type { Db, Tx } from '../shared/db.ts';

export interface UserRecord {
  id: string;
  email: string;
  hasPassword: boolean;
}

/** Finds a user by email, case-insensitively. */
export async function findUserByEmail(trx: Tx | Db, email: string): Promise<UserRecord | undefined> {
  const row = await trx
    .selectFrom('users')
    .select(['id', 'email', 'password_hash'])
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();
  return row ? { id: row.id, email: row.email, hasPassword: row.password_hash !== null } : undefined;
}

/** Inserts a user; the password is already hashed (argon2id) or absent. */
export async function insertUser(trx: Tx, user: { email: string; passwordHash: string | null }): Promise<UserRecord> {
  const row = await trx
    .insertInto('users')
    .values({ email: user.email, password_hash: user.passwordHash })
    .returning(['id', 'email', 'password_hash'])
    .executeTakeFirstOrThrow();
  return { id: row.id, email: row.email, hasPassword: row.password_hash !== null };
}

/** A user's password hash, for sign-in only; needs a role that may read it (the authenticator). */
export async function findUserCredentials(
  trx: Tx | Db,
  email: string,
): Promise<{ id: string; email: string; passwordHash: string | null } | undefined> {
  const row = await trx
    .selectFrom('users')
    .select(['id', 'email', 'password_hash'])
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();
  return row ? { id: row.id, email: row.email, passwordHash: row.password_hash } : undefined;
}
