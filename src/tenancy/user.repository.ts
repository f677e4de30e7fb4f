import type { Db, Tx } from '../shared/db.ts';

export interface UserRecord {
  id: string;
  email: string;
  hasPassword: boolean;
  /** Whether the person chose their password; false when an owner or the operator set it, who know it. */
  passwordChosen: boolean;
}

/** Finds a user by email, case-insensitively. */
export async function findUserByEmail(trx: Tx | Db, email: string): Promise<UserRecord | undefined> {
  const row = await trx
    .selectFrom('users')
    .select(['id', 'email', 'password_hash', 'password_chosen'])
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();
  return row ? { id: row.id, email: row.email, hasPassword: row.password_hash !== null, passwordChosen: row.password_chosen } : undefined;
}

/**
 * Inserts a user; the password is already hashed (argon2id) or absent. `passwordChosen` says whether
 * the person chose it (accepting an invitation) or someone else did (an owner, the operator).
 */
export async function insertUser(trx: Tx, user: { email: string; passwordHash: string | null; passwordChosen: boolean }): Promise<UserRecord> {
  const row = await trx
    .insertInto('users')
    .values({ email: user.email, password_hash: user.passwordHash, password_chosen: user.passwordChosen })
    .returning(['id', 'email', 'password_hash', 'password_chosen'])
    .executeTakeFirstOrThrow();
  return { id: row.id, email: row.email, hasPassword: row.password_hash !== null, passwordChosen: row.password_chosen };
}

/**
 * Stores a password the person chose. With `replacing`, only while the stored hash is still that one
 * (the one the person's current password was checked against): false when it changed meanwhile.
 */
export async function storeChosenPassword(trx: Tx, userId: string, passwordHash: string, replacing?: string | null): Promise<boolean> {
  let query = trx.updateTable('users').set({ password_hash: passwordHash, password_chosen: true }).where('id', '=', userId);
  if (replacing !== undefined) query = replacing === null ? query.where('password_hash', 'is', null) : query.where('password_hash', '=', replacing);
  const result = await query.executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Stores a password someone other than the person set (the operator): marked as not chosen. */
export async function storeSetPassword(trx: Tx, userId: string, passwordHash: string): Promise<void> {
  await trx.updateTable('users').set({ password_hash: passwordHash, password_chosen: false }).where('id', '=', userId).execute();
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

/** The same by id, for a signed-in person confirming their password; needs the authenticator role. */
export async function findUserCredentialsById(trx: Tx | Db, userId: string): Promise<{ id: string; email: string; passwordHash: string | null } | undefined> {
  const row = await trx.selectFrom('users').select(['id', 'email', 'password_hash']).where('id', '=', userId).executeTakeFirst();
  return row ? { id: row.id, email: row.email, passwordHash: row.password_hash } : undefined;
}
