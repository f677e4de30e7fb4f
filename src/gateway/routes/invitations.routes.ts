import { Router, type Request } from 'express';
import * as z from 'zod';
import { emailSchema, roleSchema, type InvitationInfo, type TenancyModule } from '../../tenancy/index.ts';
import { requireLastingKey, requirePermission } from '../auth.ts';
import { contextOf, param, parseInput, principalOf } from '../http.ts';

const inviteBody = z.strictObject({ email: emailSchema, role: roleSchema });

function invitationJson(invitation: InvitationInfo) {
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    status: invitation.status,
    expires_at: invitation.expiresAt.toISOString(),
    accepted_at: invitation.acceptedAt?.toISOString() ?? null,
    accepted_by: invitation.acceptedBy,
    revoked_at: invitation.revokedAt?.toISOString() ?? null,
    created_at: invitation.createdAt.toISOString(),
  };
}

/** Invitations of the caller's tenant: `POST` returns the one-time link, which nothing shows again. */
export function createInvitationRoutes({ tenancy, publicUrl }: { tenancy: TenancyModule; publicUrl: string | undefined }): Router {
  const router = Router();
  /** PUBLIC_URL when configured; else the origin the caller reached this gateway at. */
  const baseUrl = (req: Request) => publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;

  router.get('/invitations', requirePermission('invitations:read'), async (_req, res) => {
    const invitations = await tenancy.invitations.list(principalOf(res).tenant.id);
    res.json({ invitations: invitations.map(invitationJson) });
  });

  router.post('/invitations', requirePermission('invitations:write'), requireLastingKey(tenancy, 'invite people'), async (req, res) => {
    const principal = principalOf(res);
    const body = parseInput(inviteBody, req.body, 'body');
    const invitation = await tenancy.invitations.create(principal.tenant.id, contextOf(req, res), principal.role, body);
    res.status(201).json({
      invitation: invitationJson(invitation),
      invite_url: `${baseUrl(req)}/invite/${invitation.token}`,
    });
  });

  router.delete('/invitations/:id', requirePermission('invitations:write'), async (req, res) => {
    const invitation = await tenancy.invitations.revoke(principalOf(res).tenant.id, contextOf(req, res), param(req, 'id'));
    res.json({ invitation: invitationJson(invitation) });
  });

  return router;
}
