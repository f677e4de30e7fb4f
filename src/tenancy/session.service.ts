import type { Db } from '../shared/db.ts';
import { withAuthenticator, withSessionStore } from '../shared/db.ts';
import { unstorableAt } from '../shared/storable-json.ts';
import { listUserMemberships } from './membership.repository.ts';
import { generatePassword, hashPassword, verifyPassword } from './password.ts';
import { deleteSession, deleteUserSessions, extendSession, findSession, insertSession } from './session.repository.ts';
import { csrfTokenFor, digestToken, generateSessionToken, hexDigestsEqual, looksLikeSessionToken } from './session-token.ts';
import type { Role, Tenant } from './types.ts';
import { findUserCredentials } from './user.repository.ts';
import { isUuid } from './validation.ts';

const DAY_MS = 86_400_000;
/** A session lives 30 days from its last extension... */
export const SESSION_LIFETIME_MS = 30 * DAY_MS;
/** ...and is extended on use once less than 15 days remain, so an active person stays signed in. */
export const SESSION_RENEW_WITHIN_MS = 15 * DAY_MS;
/** Longer inputs are refused before any work: no email is longer, and the password schema stops at 1024. */
const MAX_EMAIL = 254;
const MAX_PASSWORD = 1024;

export interface SessionUser {
  id: string;
  email: string;
}

export interface ValidSession {
  id: string;
  user: SessionUser;
  expiresAt: Date;
  /** per-session CSRF token for forms and cookie-authenticated API calls */
  csrfToken: string;
}

/** Browser sign-in: people, not tenants, hold sessions; a session serves all of the person's tenants. */
export interface SessionService {
  /** Email + password; undefined when wrong (no enumeration: same answer and similar timing for unknown emails — verify against a dummy hash). */
  login(
    email: string,
    password: string,
    meta: { ip: string | null; userAgent: string | null },
  ): Promise<{ token: string; session: ValidSession } | undefined>;
  /** The session of a token, or undefined when unknown or expired; extends the expiry when due. */
  validate(token: string): Promise<ValidSession | undefined>;
  logout(token: string): Promise<void>;
  logoutEverywhere(userId: string): Promise<void>;
  /** The user's tenants and roles, for tenant pickers. */
  memberships(userId: string): Promise<Array<{ tenant: Tenant; role: Role }>>;
}

export function createSessionService({
  db,
  now = () => new Date(),
  verify = verifyPassword,
}: {
  db: Db;
  now?: () => Date;
  /** Checks a password against an argon2 hash; tests watch the checks made. */
  verify?: (hashed: string, password: string) => Promise<boolean>;
}): SessionService {
  // Unknown emails are checked against this, so they cost what a known one costs.
  let dummyHash: Promise<string> | undefined;

  async function passwordMatches(hash: string | null, password: string): Promise<boolean> {
    dummyHash ??= hashPassword(generatePassword());
    try {
      const matches = await verify(hash ?? (await dummyHash), password);
      return hash !== null && matches;
    } catch {
      // A stored hash argon2 cannot parse matches nothing.
      return false;
    }
  }

  return {
    async login(email, password, meta) {
      const normalized = email.trim().toLowerCase();
      // An address the database cannot hold (a NUL character, say) names nobody; it is not looked up.
      const plausible = normalized !== '' && normalized.length <= MAX_EMAIL && password.length <= MAX_PASSWORD && !unstorableAt(normalized, 'email');
      const user = plausible ? await withAuthenticator(db, (trx) => findUserCredentials(trx, normalized)) : undefined;
      const matches = await passwordMatches(user?.passwordHash ?? null, plausible ? password : '');
      if (!user || !matches) return undefined;

      const token = generateSessionToken();
      const id = digestToken(token);
      const createdAt = now();
      const expiresAt = new Date(createdAt.getTime() + SESSION_LIFETIME_MS);
      await withSessionStore(db, async (trx) => {
        // Sign-in is a good moment to forget the person's expired sessions.
        await deleteUserSessions(trx, user.id, createdAt);
        await insertSession(trx, { id, userId: user.id, createdAt, expiresAt, ip: meta.ip, userAgent: meta.userAgent });
      });
      // The password may have been changed while this one was checked; the change ended every other session,
      // but not one added after it. Checked again once the session is in: a change committed later ends it
      // itself (see `endSessionsAgain`).
      const current = await withAuthenticator(db, (trx) => findUserCredentials(trx, normalized));
      if (current?.passwordHash !== user.passwordHash) {
        await withSessionStore(db, (trx) => deleteSession(trx, id));
        return undefined;
      }
      return { token, session: { id, user: { id: user.id, email: user.email }, expiresAt, csrfToken: csrfTokenFor(token) } };
    },

    async validate(token) {
      if (!looksLikeSessionToken(token)) return undefined;
      const id = digestToken(token);
      return withSessionStore(db, async (trx) => {
        const found = await findSession(trx, id);
        if (!found || !hexDigestsEqual(found.id, id)) return undefined;
        const at = now();
        if (found.expiresAt.getTime() <= at.getTime()) {
          await deleteSession(trx, id);
          return undefined;
        }
        let expiresAt = found.expiresAt;
        if (expiresAt.getTime() - at.getTime() < SESSION_RENEW_WITHIN_MS) {
          expiresAt = new Date(at.getTime() + SESSION_LIFETIME_MS);
          await extendSession(trx, id, expiresAt, at);
        }
        return { id, user: { id: found.userId, email: found.email }, expiresAt, csrfToken: csrfTokenFor(token) };
      });
    },

    async logout(token) {
      if (!looksLikeSessionToken(token)) return;
      const id = digestToken(token);
      await withSessionStore(db, (trx) => deleteSession(trx, id));
    },

    async logoutEverywhere(userId) {
      if (!isUuid(userId)) return;
      await withSessionStore(db, (trx) => deleteUserSessions(trx, userId));
    },

    async memberships(userId) {
      if (!isUuid(userId)) return [];
      return withAuthenticator(db, (trx) => listUserMemberships(trx, userId));
    },
  };
}
