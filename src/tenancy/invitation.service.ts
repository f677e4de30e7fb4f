import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import type { Db } from '../shared/db.ts';
import { isUniqueViolation, withAuthenticator, withTenant } from '../shared/db.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { recordAudit } from './audit.ts';
import { applyChosenPassword, endSessionsAgain } from './chosen-password.ts';
import {
  findInvitation,
  findInvitationByDigest,
  insertInvitation,
  listInvitations,
  markInvitation,
} from './invitation.repository.ts';
import { findMember, insertMembership } from './membership.repository.ts';
import { parseOrThrow } from './parse.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { mayInvite } from './permissions.ts';
import { digestToken, hexDigestsEqual } from './session-token.ts';
import type { InvitationInfo, IssuedInvitation, RequestContext, Role, Tenant } from './types.ts';
import { findUserByEmail, findUserCredentialsById, insertUser } from './user.repository.ts';
import { emailSchema, isUuid, passwordSchema, roleSchema } from './validation.ts';

/** Invitation links carry this, so scanners and people recognise one. */
const TOKEN_PREFIX = 'bgi_';
const TOKEN_PATTERN = /^bgi_[A-Za-z0-9_-]{43}$/;
/** How long a link stays valid. */
export const INVITATION_LIFETIME_MS = 7 * 86_400_000;

/** A link that can still be accepted. */
export interface OpenInvitation {
  invitation: InvitationInfo;
  tenant: Tenant;
  /** The invited email already belongs to a user, who accepts by signing in rather than by choosing a password. */
  existingUser: boolean;
  /**
   * That user's password was set by someone else (a tenant owner, the operator), who could sign in
   * as them in this tenant too: accepting takes a new password of their choosing.
   */
  mustChoosePassword: boolean;
}

/**
 * How a person accepts: a new user chooses a password; an existing user is signed in already and,
 * when their password was set by someone else, chooses one (their sessions but `keepSessionId` end).
 */
export type Acceptance =
  | { password: string }
  | { userId: string; choosePassword?: { password: string; keepSessionId: string } };

export interface AcceptedInvitation {
  tenant: Tenant;
  user: { id: string; email: string };
  role: Role;
  createdUser: boolean;
}

export interface InvitationService {
  /** Invites `email` as `role`; `inviterRole` limits the roles that may be given. The token is returned once. */
  create(
    tenantId: string,
    context: RequestContext,
    inviterRole: Role,
    input: { email: string; role: Role },
  ): Promise<IssuedInvitation>;
  list(tenantId: string): Promise<InvitationInfo[]>;
  /** Revokes a pending invitation; revoking again, or after acceptance, changes nothing. */
  revoke(tenantId: string, context: RequestContext, id: string): Promise<InvitationInfo>;
  /** What a link offers; undefined when it is unknown, used, revoked or expired, alike. */
  open(token: string): Promise<OpenInvitation | undefined>;
  /**
   * Accepts in one transaction: creates the user if needed, adds the membership, marks the
   * invitation used. Undefined when the link is no longer valid (nothing changes then).
   */
  accept(token: string, acceptance: Acceptance, context: Omit<RequestContext, 'actor'>): Promise<AcceptedInvitation | undefined>;
}

function generateInvitationToken(): string {
  return TOKEN_PREFIX + encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
}

export function createInvitationService({ db, now = () => new Date() }: { db: Db; now?: () => Date }): InvitationService {
  /** The pending invitation behind a token, across tenants. */
  async function resolve(token: string) {
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const digest = digestToken(token);
    const found = await withAuthenticator(db, (trx) => findInvitationByDigest(trx, digest, now()));
    if (!found || !hexDigestsEqual(found.digest, digest) || found.invitation.status !== 'pending') return undefined;
    return found;
  }

  /**
   * The user's stored password hash, refusing `chosen` when it is that same password: whoever set it
   * would know it still.
   */
  async function currentHashOtherThan(userId: string, chosen: string): Promise<string | null | undefined> {
    if (!isUuid(userId)) return undefined;
    const stored = (await withAuthenticator(db, (trx) => findUserCredentialsById(trx, userId)))?.passwordHash ?? null;
    if (stored !== null && (await verifyPassword(stored, chosen).catch(() => false))) {
      throw new AppError('validation_failed', 'password: choose a password other than your current one', { details: { field: 'password' } });
    }
    return stored;
  }

  return {
    async create(tenantId, context, inviterRole, input) {
      const email = parseOrThrow(emailSchema, input.email, 'email');
      const role = parseOrThrow(roleSchema, input.role, 'role');
      if (!mayInvite(inviterRole, role)) {
        throw new AppError('forbidden', `the role "${inviterRole}" may not invite someone as ${role}`);
      }
      const token = generateInvitationToken();
      const at = now();
      return withTenant(db, tenantId, async (trx) => {
        const user = await findUserByEmail(trx, email);
        if (user && (await findMember(trx, tenantId, user.id))) {
          throw new AppError('conflict', `${email} is already a member of this tenant`);
        }
        const invitation = await insertInvitation(
          trx,
          { tenantId, email, role, digest: digestToken(token), expiresAt: new Date(at.getTime() + INVITATION_LIFETIME_MS) },
          at,
        );
        await recordAudit(trx, tenantId, context, {
          action: 'invitation.create',
          resourceType: 'invitation',
          resourceId: invitation.id,
          after: { email, role, expiresAt: invitation.expiresAt },
        });
        return { ...invitation, token };
      });
    },

    list: (tenantId) => withTenant(db, tenantId, (trx) => listInvitations(trx, tenantId, now())),

    revoke(tenantId, context, id) {
      return withTenant(db, tenantId, async (trx) => {
        const before = isUuid(id) ? await findInvitation(trx, tenantId, id, now(), true) : undefined;
        if (!before) throw notFound('invitation');
        if (before.status !== 'pending') return before;
        const after = await markInvitation(trx, tenantId, id, { revokedAt: now() }, now());
        await recordAudit(trx, tenantId, context, {
          action: 'invitation.revoke',
          resourceType: 'invitation',
          resourceId: id,
          before: { email: before.email, role: before.role, status: before.status },
          after: { email: after.email, role: after.role, status: after.status },
        });
        return after;
      });
    },

    async open(token) {
      const found = await resolve(token);
      if (!found) return undefined;
      const user = await withAuthenticator(db, (trx) => findUserByEmail(trx, found.invitation.email));
      return {
        invitation: found.invitation,
        tenant: found.tenant,
        existingUser: user !== undefined,
        mustChoosePassword: user !== undefined && !user.passwordChosen,
      };
    },

    async accept(token, acceptance, context) {
      const password = 'password' in acceptance ? parseOrThrow(passwordSchema, acceptance.password, 'password') : undefined;
      const choice = 'userId' in acceptance ? acceptance.choosePassword : undefined;
      const chosen = choice === undefined ? undefined : parseOrThrow(passwordSchema, choice.password, 'password');
      const found = await resolve(token);
      if (!found) return undefined;
      const { tenant } = found;
      // Hash outside the transaction: it is slow on purpose.
      const passwordHash = password === undefined ? undefined : await hashPassword(password);
      const replaced = chosen !== undefined && 'userId' in acceptance ? await currentHashOtherThan(acceptance.userId, chosen) : undefined;
      const chosenHash = chosen === undefined ? undefined : await hashPassword(chosen);
      try {
        const accepted = await withTenant(db, tenant.id, async (trx) => {
          // Locked and checked again: of two acceptances racing, the second finds it used.
          const invitation = await findInvitation(trx, tenant.id, found.invitation.id, now(), true);
          if (invitation?.status !== 'pending') return undefined;
          const existing = await findUserByEmail(trx, invitation.email);
          if (existing && !('userId' in acceptance && acceptance.userId === existing.id)) {
            throw new AppError('forbidden', `sign in as ${invitation.email} to accept this invitation`);
          }
          if (!existing && passwordHash === undefined) {
            throw new AppError('validation_failed', 'password: choose a password to create the account');
          }
          const user = existing ?? (await insertUser(trx, { email: invitation.email, passwordHash: passwordHash ?? null, passwordChosen: true }));
          if (existing && (await findMember(trx, tenant.id, existing.id))) {
            throw new AppError('conflict', `${invitation.email} is already a member of ${tenant.slug}`);
          }
          if (existing && !existing.passwordChosen && chosenHash === undefined) {
            throw new AppError(
              'validation_failed',
              `password: choose a new password to accept; your current one was set by someone else (a tenant owner or the operator), who could otherwise sign in as you in ${tenant.slug}`,
              { details: { field: 'password' } },
            );
          }
          await insertMembership(trx, tenant.id, user.id, invitation.role);
          const at = now();
          await markInvitation(trx, tenant.id, invitation.id, { acceptedAt: at, acceptedBy: user.id }, at);
          const audited = { ...context, actor: { type: 'user' as const, id: user.id } };
          await recordAudit(trx, tenant.id, audited, {
            action: 'invitation.accept',
            resourceType: 'invitation',
            resourceId: invitation.id,
            after: { email: invitation.email, role: invitation.role, createdUser: !existing },
          });
          await recordAudit(trx, tenant.id, audited, {
            action: 'member.add',
            resourceType: 'member',
            resourceId: user.id,
            after: { email: invitation.email, role: invitation.role, createdUser: !existing, invitation: invitation.id },
          });
          // Last: it ends other sessions and records the change in each of the person's tenants, this one included.
          if (existing && chosenHash !== undefined && choice !== undefined) {
            const stored = await applyChosenPassword(trx, {
              userId: existing.id,
              email: existing.email,
              passwordHash: chosenHash,
              replacing: replaced ?? null,
              keepSessionId: choice.keepSessionId,
              source: 'invitation',
              context,
            });
            if (!stored) throw new AppError('conflict', 'your password changed while accepting; open the invitation again');
          }
          return { tenant, user: { id: user.id, email: user.email }, role: invitation.role, createdUser: !existing };
        });
        if (accepted && choice !== undefined && chosenHash !== undefined) await endSessionsAgain(db, accepted.user.id, choice.keepSessionId);
        return accepted;
      } catch (error) {
        // Someone took the email or the membership in the meantime.
        if (isUniqueViolation(error)) throw new AppError('conflict', `${found.invitation.email} already has an account or membership; sign in to accept`);
        throw error;
      }
    },
  };
}
