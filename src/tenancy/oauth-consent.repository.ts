import { sql } from 'kysely';
import type { Tx } from '../shared/db.ts';

/** A person's remembered approval of a client for one MCP resource of one tenant. */
export interface OAuthConsent {
  id: string;
  userId: string;
  tenantId: string;
  clientId: string;
  clientName: string | null;
  resource: string;
  scopes: string[];
  grantId: string;
  createdAt: Date;
  updatedAt: Date;
}

export type NewOAuthConsent = Omit<OAuthConsent, 'id' | 'createdAt' | 'updatedAt'>;

interface ConsentRow {
  id: string;
  user_id: string;
  tenant_id: string;
  client_id: string;
  client_name: string | null;
  resource: string;
  scopes: string[];
  grant_id: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = ['id', 'user_id', 'tenant_id', 'client_id', 'client_name', 'resource', 'scopes', 'grant_id', 'created_at', 'updated_at'] as const;

function toConsent(row: ConsentRow): OAuthConsent {
  return {
    id: row.id,
    userId: row.user_id,
    tenantId: row.tenant_id,
    clientId: row.client_id,
    clientName: row.client_name,
    resource: row.resource,
    scopes: row.scopes,
    grantId: row.grant_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Records (or replaces) the approval of a client for a resource; returns the grant it replaced, if another. */
export async function upsertConsent(trx: Tx, consent: NewOAuthConsent): Promise<{ consent: OAuthConsent; replacedGrantId: string | null }> {
  const previous = await findConsent(trx, consent.userId, consent.clientId, consent.resource);
  const values = {
    tenant_id: consent.tenantId,
    client_name: consent.clientName,
    scopes: consent.scopes,
    grant_id: consent.grantId,
    updated_at: sql<Date>`now()`,
  };
  const row = await trx
    .insertInto('oauth_consents')
    .values({ user_id: consent.userId, client_id: consent.clientId, resource: consent.resource, ...values })
    .onConflict((oc) => oc.columns(['user_id', 'client_id', 'resource']).doUpdateSet(values))
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  const replacedGrantId = previous && previous.grantId !== consent.grantId ? previous.grantId : null;
  return { consent: toConsent(row), replacedGrantId };
}

export async function findConsent(trx: Tx, userId: string, clientId: string, resource: string): Promise<OAuthConsent | undefined> {
  const row = await trx
    .selectFrom('oauth_consents')
    .select(COLUMNS)
    .where('user_id', '=', userId)
    .where('client_id', '=', clientId)
    .where('resource', '=', resource)
    .executeTakeFirst();
  return row ? toConsent(row) : undefined;
}

export async function findConsentByGrant(trx: Tx, grantId: string): Promise<OAuthConsent | undefined> {
  const row = await trx.selectFrom('oauth_consents').select(COLUMNS).where('grant_id', '=', grantId).executeTakeFirst();
  return row ? toConsent(row) : undefined;
}

/** The grants of every approval given for a tenant, by anyone. */
export async function listTenantGrantIds(trx: Tx, tenantId: string): Promise<string[]> {
  const rows = await trx.selectFrom('oauth_consents').select('grant_id').where('tenant_id', '=', tenantId).execute();
  return rows.map((row) => row.grant_id);
}

/**
 * Deletes every approval given for one of a tenant's MCP endpoints, by anyone: those whose resource
 * ends in `endpointPath` (`/t/{tenant}/mcp/servers/{slug}`), under whatever base URL it was given.
 */
export async function deleteEndpointConsents(trx: Tx, tenantId: string, endpointPath: string): Promise<OAuthConsent[]> {
  const rows = await trx
    .deleteFrom('oauth_consents')
    .where('tenant_id', '=', tenantId)
    .where(sql<string>`right(resource, ${endpointPath.length})`, '=', endpointPath)
    .returning(COLUMNS)
    .execute();
  return rows.map(toConsent);
}

/** A person's approvals, most recent first. */
export async function listConsents(trx: Tx, userId: string): Promise<OAuthConsent[]> {
  const rows = await trx.selectFrom('oauth_consents').select(COLUMNS).where('user_id', '=', userId).orderBy('updated_at', 'desc').execute();
  return rows.map(toConsent);
}

/** Deletes one of a person's approvals; undefined when the person has no such approval. */
export async function deleteConsent(trx: Tx, userId: string, id: string): Promise<OAuthConsent | undefined> {
  const row = await trx.deleteFrom('oauth_consents').where('user_id', '=', userId).where('id', '=', id).returning(COLUMNS).executeTakeFirst();
  return row ? toConsent(row) : undefined;
}
