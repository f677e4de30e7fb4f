import type { Db, Tx } from '../shared/db.ts';
import type { InvitationInfo, Role, Tenant } from './types.ts';

interface InvitationRow {
  id: string;
  email: string;
  role: string;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  revoked_at: Date | null;
  created_at: Date;
}

const COLUMNS = ['id', 'email', 'role', 'expires_at', 'accepted_at', 'accepted_by', 'revoked_at', 'created_at'] as const;

function toInfo(row: InvitationRow, now: Date): InvitationInfo {
  const status: InvitationInfo['status'] =
    row.accepted_at !== null ? 'accepted' : row.revoked_at !== null ? 'revoked' : row.expires_at <= now ? 'expired' : 'pending';
  return {
    id: row.id,
    email: row.email,
    role: row.role as Role,
    status,
    expiresAt: row.expires_at,
    acceptedAt: row.accepted_at,
    acceptedBy: row.accepted_by,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
  };
}

export async function insertInvitation(
  trx: Tx,
  invitation: { tenantId: string; email: string; role: Role; digest: string; expiresAt: Date },
  now: Date,
): Promise<InvitationInfo> {
  const row = await trx
    .insertInto('invitations')
    .values({
      tenant_id: invitation.tenantId,
      email: invitation.email,
      role: invitation.role,
      digest: invitation.digest,
      expires_at: invitation.expiresAt,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toInfo(row, now);
}

export async function listInvitations(trx: Tx, tenantId: string, now: Date): Promise<InvitationInfo[]> {
  const rows = await trx
    .selectFrom('invitations')
    .select(COLUMNS)
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
  return rows.map((row) => toInfo(row, now));
}

/** One invitation of the tenant; `forUpdate` locks it, so that two acceptances cannot both succeed. */
export async function findInvitation(
  trx: Tx,
  tenantId: string,
  id: string,
  now: Date,
  forUpdate = false,
): Promise<InvitationInfo | undefined> {
  let query = trx.selectFrom('invitations').select(COLUMNS).where('tenant_id', '=', tenantId).where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? toInfo(row, now) : undefined;
}

export async function markInvitation(
  trx: Tx,
  tenantId: string,
  id: string,
  change: { revokedAt: Date } | { acceptedAt: Date; acceptedBy: string },
  now: Date,
): Promise<InvitationInfo> {
  const row = await trx
    .updateTable('invitations')
    .set('revokedAt' in change ? { revoked_at: change.revokedAt } : { accepted_at: change.acceptedAt, accepted_by: change.acceptedBy })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toInfo(row, now);
}

/** Resolves a link's digest across tenants in one indexed lookup; needs the authenticator role. */
export async function findInvitationByDigest(
  trx: Tx | Db,
  digest: string,
  now: Date,
): Promise<{ invitation: InvitationInfo; digest: string; tenant: Tenant } | undefined> {
  const row = await trx
    .selectFrom('invitations as i')
    .innerJoin('tenants as t', 't.id', 'i.tenant_id')
    .select([
      'i.id',
      'i.email',
      'i.role',
      'i.expires_at',
      'i.accepted_at',
      'i.accepted_by',
      'i.revoked_at',
      'i.created_at',
      'i.digest',
      't.id as tenant_id',
      't.slug as tenant_slug',
      't.name as tenant_name',
      't.created_at as tenant_created_at',
    ])
    .where('i.digest', '=', digest)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    invitation: toInfo(row, now),
    digest: row.digest,
    tenant: { id: row.tenant_id, slug: row.tenant_slug, name: row.tenant_name, createdAt: row.tenant_created_at },
  };
}
