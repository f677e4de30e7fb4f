import type { Db } from '../shared/db.ts';
import { createAccountService, type AccountService } from './account.service.ts';
import type { KeyCredential } from './api-key.repository.ts';
import { createCredentialCache, type CredentialCache } from './credential-cache.ts';
import { createApiKeyService, type ApiKeyService } from './api-key.service.ts';
import { createAuditService, type AuditService } from './audit.service.ts';
import { createInvitationService, type InvitationService } from './invitation.service.ts';
import { createMemberService, type MemberService } from './member.service.ts';
import { createOAuthStorage, type OAuthStorage } from './oauth.service.ts';
import { createSessionService, type SessionService } from './session.service.ts';
import { createTenantService, type TenantService } from './tenant.service.ts';
import { createUsageService, type UsageService } from './usage.service.ts';

export interface TenancyModule {
  tenants: TenantService;
  members: MemberService;
  apiKeys: ApiKeyService;
  audit: AuditService;
  usage: UsageService;
  /** Browser sign-in: per person, across the person's tenants. */
  sessions: SessionService;
  /** What a signed-in person does to their own account: changing their password. */
  accounts: AccountService;
  invitations: InvitationService;
  /** The OAuth authorization server's state: clients, grants, consents, signing keys. */
  oauth: OAuthStorage;
  /** Drops what this process keeps of a deleted tenant (its cached credentials), whichever node deleted it. */
  forgetTenant(tenantId: string): void;
}

/**
 * Tenants, people, credentials, the audit trail and metering. `onTenantDeleted` is told of each
 * deletion once committed (the gateway tells every node).
 */
export function createTenancyModule({
  db,
  cacheCredentials = false,
  onTenantDeleted,
  onCredentialsChanged,
}: {
  db: Db;
  cacheCredentials?: boolean;
  onTenantDeleted?: (tenantId: string) => void;
  /** Told, once committed, of each change that may end or narrow some of a tenant's credentials (the gateway tells every node). */
  onCredentialsChanged?: (tenantId: string) => void;
}): TenancyModule {
  // See createCredentialCache: exact only when this process makes every change (the embedded database).
  const cache = createCredentialCache<KeyCredential>({ enabled: cacheCredentials });
  const forgetTenant = (tenantId: string) => cache.changed(tenantId);
  // What changes keys or memberships drops the tenant's cached keys and tells whoever listens.
  const keys: CredentialCache<KeyCredential> = {
    get: (digest) => cache.get(digest),
    set: (digest, tenantId, value) => cache.set(digest, tenantId, value),
    changed(tenantId) {
      cache.changed(tenantId);
      onCredentialsChanged?.(tenantId);
    },
  };
  return {
    tenants: createTenantService({
      db,
      onTenantDeleted: (tenantId) => {
        // At once here, whoever else is told: a deleted tenant's keys must not outlive it in this cache.
        forgetTenant(tenantId);
        onTenantDeleted?.(tenantId);
      },
    }),
    members: createMemberService({ db, onMembershipChanged: (tenantId) => keys.changed(tenantId) }),
    apiKeys: createApiKeyService({ db, cache: keys }),
    audit: createAuditService({ db }),
    usage: createUsageService({ db }),
    sessions: createSessionService({ db }),
    accounts: createAccountService({ db }),
    invitations: createInvitationService({ db }),
    oauth: createOAuthStorage({ db, onCredentialsChanged }),
    forgetTenant,
  };
}

export { API_KEY_PREFIX, looksLikeApiKey } from './api-key.ts';
export { denialReason, mayInvite, type Permission } from './permissions.ts';
export { isSecretField, maskUrlPasswords, redactSecrets } from './audit.ts';
export {
  durationSchema,
  emailSchema,
  nameSchema,
  parseDuration,
  passwordSchema,
  roleSchema,
  scopesSchema,
  slugSchema,
} from './validation.ts';
export { ROLES, SCOPES } from './types.ts';
export type {
  Actor,
  ApiKeyInfo,
  AuditEvent,
  InvitationInfo,
  IssuedApiKey,
  IssuedInvitation,
  Member,
  Principal,
  RequestContext,
  Role,
  Scope,
  Tenant,
} from './types.ts';
export { DEFAULT_ROTATION_GRACE_MS } from './api-key.service.ts';
export type { ApiKeyService, CreateKeyInput, KeyToolsCheck } from './api-key.service.ts';
export type { AuditService, AuditQuery, AuditPage } from './audit.service.ts';
export type { MemberService, AddMemberInput, AddedMember } from './member.service.ts';
export type { AccountService, PasswordChange } from './account.service.ts';
export { createSessionService, SESSION_LIFETIME_MS, SESSION_RENEW_WITHIN_MS } from './session.service.ts';
export type { SessionService, SessionUser, ValidSession } from './session.service.ts';
export { createInvitationService, INVITATION_LIFETIME_MS } from './invitation.service.ts';
export type { Acceptance, AcceptedInvitation, InvitationService, OpenInvitation } from './invitation.service.ts';
export type { OAuthStorage, StoredSigningKey } from './oauth.service.ts';
export type { NewOAuthConsent, OAuthConsent } from './oauth-consent.repository.ts';
export type { ModelIndexes, StoredPayload } from './oauth-model.repository.ts';
export type { TenantService } from './tenant.service.ts';
export { publishCredentialsChanged, publishTenantDeleted, readCredentialsChanged, readTenantDeleted } from './tenant-events.ts';
export type { UsageService, UsageSummary } from './usage.service.ts';
export type {
  UsageFilter,
  UsageGroup,
  UsageGroupBy,
  UsageRecordInput,
  UsageTotals,
} from './usage.repository.ts';
export { recordAudit, type AuditChange } from './audit.ts';
export { parseOrThrow } from './parse.ts';
export { isUuid } from './validation.ts';
export { createAuditWriter, type AuditWriter } from './audit-writer.ts';
export { intersectTools, mayUseServer, mayUseTool, namedToolSources, toolsBeyond, unknownToolSources, withoutToolSource } from './tool-restrictions.ts';
export { lockTenantRemovals } from './tenant.repository.ts';
export { toolRestrictionsSchema } from './validation.ts';
