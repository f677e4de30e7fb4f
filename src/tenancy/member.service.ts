import { sql } from 'kysely';
import type { Db, Tx } from '../shared/db.ts';
import { APP_ROLE, isUniqueViolation, SESSION_ROLE, withTenant } from '../shared/db.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { recordAudit } from './audit.ts';
import {
  countOwners,
  deleteMembership,
  findMember,
  insertMembership,
  listMembers,
  updateMembershipRole,
} from './membership.repository.ts';
import { parseOrThrow } from './parse.ts';
import { generatePassword, hashPassword } from './password.ts';
import type { Member, RequestContext, Role } from './types.ts';
import { endSessionsAgain } from './chosen-password.ts';
import { deleteUserSessions } from './session.repository.ts';
import { findUserByEmail, insertUser, storeSetPassword } from './user.repository.ts';
import { emailSchema, isUuid, passwordSchema, roleSchema } from './validation.ts';

export interface AddMemberInput {
  email: string;
  role: Role;
  /**
   * A password for a new user; see `generatePassword`. Ignored for an existing user. Whoever adds the
   * person knows it, so it counts as not chosen by them: they must choose their own before joining
   * another tenant (see the invitation service).
   */
  password?: string | undefined;
  /** Generate a password when creating a user and none is given. */
  generatePassword?: boolean;
  /**
   * Whether an account that exists already (made for another tenant) may be made a member without
   * its holder accepting, as only the operator may. Otherwise such an email is refused: whoever made
   * that account chose its password, so attaching it would let them in; an invitation, accepted while
   * signed in as the account, is the way.
   */
  attachExisting?: boolean;
}

export interface AddedMember {
  member: Member;
  /** Set only when this call created the user with a generated password: shown once. */
  generatedPassword?: string;
  createdUser: boolean;
}

export interface MemberService {
  list(tenantId: string): Promise<Member[]>;
  add(tenantId: string, context: RequestContext, input: AddMemberInput): Promise<AddedMember>;
  /**
   * Sets a member's password for them, as only the operator may (a person who forgot theirs):
   * `password`, or a generated one returned once. It counts as not chosen (see `AddMemberInput`),
   * every session of the person ends, and `member.password_reset` is recorded in the tenant.
   */
  resetPassword(tenantId: string, context: RequestContext, email: string, password?: string): Promise<{ member: Member; generatedPassword?: string }>;
  changeRole(tenantId: string, context: RequestContext, userId: string, role: Role): Promise<Member>;
  remove(tenantId: string, context: RequestContext, userId: string): Promise<void>;
}

export function createMemberService({
  db,
  onMembershipChanged,
}: {
  db: Db;
  /** Told after a role changed or a member left: credentials acting for members must be looked at again. */
  onMembershipChanged?: (tenantId: string) => void;
}): MemberService {
  const changingMembership = async <T>(tenantId: string, change: (trx: Tx) => Promise<T>): Promise<T> => {
    const result = await withTenant(db, tenantId, change);
    onMembershipChanged?.(tenantId);
    return result;
  };

  return {
    list: (tenantId) => withTenant(db, tenantId, (trx) => listMembers(trx, tenantId)),

    async add(tenantId, context, input) {
      const email = parseOrThrow(emailSchema, input.email, 'email');
      const role = parseOrThrow(roleSchema, input.role, 'role');
      const given = input.password === undefined ? undefined : parseOrThrow(passwordSchema, input.password, 'password');
      const generated = given === undefined && input.generatePassword ? generatePassword() : undefined;
      const password = given ?? generated;
      // Hash outside the transaction: it is slow on purpose.
      const passwordHash = password === undefined ? null : await hashPassword(password);
      try {
        return await withTenant(db, tenantId, async (trx) => {
          const existing = await findUserByEmail(trx, email);
          const user = existing ?? (await insertUser(trx, { email, passwordHash, passwordChosen: false }));
          if (existing && (await findMember(trx, tenantId, existing.id))) {
            throw new AppError('conflict', `${email} is already a member of this tenant`);
          }
          if (existing && !input.attachExisting) {
            throw new AppError(
              'conflict',
              `${email} already has an account on this gateway; invite them instead (POST /api/v1/invitations), so that they accept signed in as themselves`,
              { details: { field: 'email' } },
            );
          }
          await insertMembership(trx, tenantId, user.id, role);
          const member = await findMember(trx, tenantId, user.id);
          if (!member) throw new AppError('internal', 'membership vanished after insert');
          await recordAudit(trx, tenantId, context, {
            action: 'member.add',
            resourceType: 'member',
            resourceId: user.id,
            after: { email, role, createdUser: !existing },
          });
          return {
            member,
            createdUser: !existing,
            ...(!existing && generated !== undefined && { generatedPassword: generated }),
          };
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('conflict', `${email} is already a member of this tenant`);
        throw error;
      }
    },

    async resetPassword(tenantId, context, email, given) {
      const address = parseOrThrow(emailSchema, email, 'email');
      const chosen = given === undefined ? undefined : parseOrThrow(passwordSchema, given, 'password');
      const password = chosen ?? generatePassword();
      // Hash outside the transaction: it is slow on purpose.
      const passwordHash = await hashPassword(password);
      const member = await withTenant(db, tenantId, async (trx) => {
        const user = await findUserByEmail(trx, address);
        const found = user && (await findMember(trx, tenantId, user.id));
        if (!found) throw notFound('member');
        await storeSetPassword(trx, found.userId, passwordHash);
        // Whoever is signed in as the person now, with the old password, is not any more.
        await sql`select set_config('role', ${SESSION_ROLE}, true)`.execute(trx);
        await deleteUserSessions(trx, found.userId);
        await sql`select set_config('role', ${APP_ROLE}, true)`.execute(trx);
        await recordAudit(trx, tenantId, context, {
          action: 'member.password_reset',
          resourceType: 'member',
          resourceId: found.userId,
          after: { email: found.email, generated: chosen === undefined },
        });
        return found;
      });
      await endSessionsAgain(db, member.userId);
      return { member, ...(chosen === undefined && { generatedPassword: password }) };
    },

    changeRole(tenantId, context, userId, role) {
      const next = parseOrThrow(roleSchema, role, 'role');
      return changingMembership(tenantId, async (trx) => {
        const before = isUuid(userId) ? await findMember(trx, tenantId, userId) : undefined;
        if (!before) throw notFound('member');
        if (before.role === 'owner' && next !== 'owner' && (await countOwners(trx, tenantId)) <= 1) {
          throw new AppError('conflict', 'the last owner cannot be demoted; make another member owner first');
        }
        await updateMembershipRole(trx, tenantId, userId, next);
        const after = { ...before, role: next };
        await recordAudit(trx, tenantId, context, {
          action: 'member.update',
          resourceType: 'member',
          resourceId: userId,
          before: { email: before.email, role: before.role },
          after: { email: after.email, role: after.role },
        });
        return after;
      });
    },

    remove(tenantId, context, userId) {
      return changingMembership(tenantId, async (trx) => {
        const before = isUuid(userId) ? await findMember(trx, tenantId, userId) : undefined;
        if (!before) throw notFound('member');
        if (before.role === 'owner' && (await countOwners(trx, tenantId)) <= 1) {
          throw new AppError('conflict', 'the last owner cannot be removed; make another member owner first');
        }
        await deleteMembership(trx, tenantId, userId);
        await recordAudit(trx, tenantId, context, {
          action: 'member.remove',
          resourceType: 'member',
          resourceId: userId,
          before: { email: before.email, role: before.role },
        });
      });
    },
  };
}
