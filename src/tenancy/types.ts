/** Membership roles, from most to least privileged. */
export const ROLES = ['owner', 'admin', 'member', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** API key scopes: `mcp` calls tools and bots, `admin` the whole REST API, `read` its read-only part. */
export const SCOPES = ['mcp', 'admin', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  createdAt: Date;
}

export interface Member {
  userId: string;
  email: string;
  role: Role;
  createdAt: Date;
}

/** An API key as shown after creation: never the secret or its digest. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  /** The tools the key may use (`{server}` or `{server}__{tool}`); null for all, empty for none (all it named was deleted). */
  tools: string[] | null;
  userId: string | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  replacedBy: string | null;
  createdAt: Date;
}

/** A new key: the secret appears here and nowhere else, ever. */
export interface IssuedApiKey extends ApiKeyInfo {
  secret: string;
}

/** Who acts: a person, an API key, or the operator on the command line. */
export interface Actor {
  type: 'user' | 'api_key' | 'operator';
  id: string | null;
}

/** Where an action came from; recorded with every audit event. */
export interface RequestContext {
  actor: Actor;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** An authenticated caller inside one tenant. */
export interface Principal {
  tenant: Tenant;
  /** Who acts: the API key, or the person signed in (browser session or OAuth token). */
  actor: Actor;
  /** The API key used; null when a person acts through a session or an OAuth token. */
  keyId: string | null;
  /** The user the key acts for; null for tenant-level keys made by the operator. */
  userId: string | null;
  /** The user's role in the tenant; tenant-level keys act as owner within their scopes. */
  role: Role;
  scopes: Scope[];
  /** The tools the key may use (`{server}` or `{server}__{tool}`); null for all, empty for none (all it named was deleted). */
  tools: string[] | null;
}

export interface AuditEvent {
  id: string;
  /** Opaque position for pagination. */
  position: string;
  actor: Actor;
  action: string;
  resourceType: string;
  resourceId: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  createdAt: Date;
}

/** An invitation to join a tenant, as listed: never its token or digest. */
export interface InvitationInfo {
  id: string;
  email: string;
  role: Role;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  expiresAt: Date;
  acceptedAt: Date | null;
  acceptedBy: string | null;
  revokedAt: Date | null;
  createdAt: Date;
}

/** A new invitation: the token (the secret part of the link) appears here and nowhere else. */
export interface IssuedInvitation extends InvitationInfo {
  token: string;
}
