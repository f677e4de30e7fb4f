import type { ColumnType, Generated } from 'kysely';

/** A timestamp column: read as Date, written as Date or SQL default. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface TenantsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  created_at: Timestamp;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  password_hash: string | null;
  /** Whether the person chose the password (migration 0015); false when an owner or the operator set it. */
  password_chosen: Generated<boolean>;
  created_at: Timestamp;
}

export interface MembershipsTable {
  tenant_id: string;
  user_id: string;
  role: string;
  created_at: Timestamp;
}

export interface ApiKeysTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string | null;
  name: string;
  prefix: string;
  digest: string;
  scopes: string[];
  tools: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  replaced_by: string | null;
  created_at: Timestamp;
}

export interface AuditEventsTable {
  id: Generated<string>;
  /** bigint identity; read it cast to text. */
  seq: ColumnType<string, never, never>;
  tenant_id: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  created_at: Timestamp;
}

export interface ServersTable {
  id: Generated<string>;
  tenant_id: string;
  slug: string;
  kind: string;
  config: unknown;
  secrets: string | null;
  secret_names: string[];
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ToolPinsTable {
  tenant_id: string;
  server_id: string;
  tool_name: string;
  digest: string;
  definition: unknown;
  pending_digest: string | null;
  pending_definition: unknown;
  updated_at: Timestamp;
}

export interface UsageRecordsTable {
  id: Generated<string>;
  tenant_id: string;
  bot_id: string | null;
  conversation_id: string | null;
  run_id: string;
  parent_run_id: string | null;
  principal_type: string;
  principal_id: string | null;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_write_tokens: number;
  cache_read_tokens: number;
  /** numeric(20,10): read and written as a decimal string, never a float; null when unpriced. */
  cost_usd: string | null;
  priced: boolean;
  stop_reason: string | null;
  error: string | null;
  created_at: Timestamp;
}

export interface BotsTable {
  id: Generated<string>;
  tenant_id: string;
  slug: string;
  name: string;
  description: string;
  model: string;
  system_prompt: ColumnType<string, string | undefined, string>;
  /** numeric: read as a decimal string; null leaves the model's default. */
  temperature: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  max_tokens: number;
  thinking_budget: ColumnType<number | null, number | null | undefined, number | null>;
  /** JSON `[{ slug, tools? }]`; written as JSON text. */
  servers: ColumnType<unknown, string | undefined, string>;
  /** JSON `[slug]`; written as JSON text. */
  bots: ColumnType<unknown, string | undefined, string>;
  /** Sealed ciphertext of the tenant's Anthropic API key. */
  anthropic_api_key: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ConversationsTable {
  id: Generated<string>;
  tenant_id: string;
  bot_id: string;
  principal_type: string;
  principal_id: string | null;
  title: string | null;
  summary: string | null;
  summarized_through_seq: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ConversationMessagesTable {
  id: Generated<string>;
  tenant_id: string;
  conversation_id: string;
  seq: number;
  role: 'user' | 'assistant';
  /** JSON array of Anthropic content blocks; written as JSON text. */
  content: ColumnType<unknown, string, never>;
  run_id: string | null;
  created_at: Timestamp;
}

export interface SessionsTable {
  /** Hex SHA-256 of the session token. */
  id: string;
  user_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  last_extended_at: Timestamp;
  ip: string | null;
  user_agent: string | null;
}

export interface InvitationsTable {
  id: Generated<string>;
  tenant_id: string;
  email: string;
  role: string;
  /** Hex SHA-256 of the one-time token in the invitation link. */
  digest: string;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
  accepted_by: string | null;
  revoked_at: NullableTimestamp;
  created_at: Timestamp;
}

/** oidc-provider's stored models (clients, interactions, grants, codes, refresh tokens...). */
export interface OAuthModelsTable {
  kind: string;
  id: string;
  /** The model's payload as oidc-provider gave it; written as JSON text. */
  payload: ColumnType<unknown, string, string>;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: NullableTimestamp;
  consumed_at: NullableTimestamp;
  created_at: Timestamp;
}

/** A person's remembered approval of an OAuth client for one MCP resource of one tenant. */
export interface OAuthConsentsTable {
  id: Generated<string>;
  user_id: string;
  tenant_id: string;
  client_id: string;
  client_name: string | null;
  resource: string;
  scopes: string[];
  grant_id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Access-token signing keys; the private JWK sealed with the secret key. */
export interface OAuthSigningKeysTable {
  kid: string;
  alg: string;
  sealed_jwk: string;
  created_at: Timestamp;
}

/** Fixed-window rate-limit counters of the authorization server. */
export interface OAuthRateLimitsTable {
  key: string;
  window_start: Timestamp;
  count: number;
}

/** Deleted tenants, kept after their rows (and audit trail) are gone; the application may only insert. */
export interface TenantDeletionsTable {
  id: Generated<string>;
  /** No foreign key: the tenant no longer exists. */
  tenant_id: string;
  slug: string;
  name: string;
  deleted_by_type: string;
  deleted_by_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  deleted_at: Timestamp;
}

export interface HeldCallAnswersTable {
  id: Generated<string>;
  tenant_id: string;
  server_id: string;
  state_digest: string;
  tool: string;
  caller: string | null;
  /** JSON text. */
  responses: string;
  claimed_at: NullableTimestamp;
  heartbeat_at: NullableTimestamp;
  /** JSON text, once the holding node has it. */
  outcome: string | null;
  created_at: Timestamp;
}

export interface FileAreaUseTable {
  tenant_id: string;
  /** bigint: read as a string. */
  used_bytes: ColumnType<string, number, number>;
  measured_at: Timestamp;
}

/** The database as kysely sees it. */
export interface Database {
  tenants: TenantsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  servers: ServersTable;
  tool_pins: ToolPinsTable;
  usage_records: UsageRecordsTable;
  bots: BotsTable;
  conversations: ConversationsTable;
  conversation_messages: ConversationMessagesTable;
  sessions: SessionsTable;
  invitations: InvitationsTable;
  oauth_models: OAuthModelsTable;
  oauth_consents: OAuthConsentsTable;
  oauth_signing_keys: OAuthSigningKeysTable;
  oauth_rate_limits: OAuthRateLimitsTable;
  tenant_deletions: TenantDeletionsTable;
  held_call_answers: HeldCallAnswersTable;
  file_area_use: FileAreaUseTable;
}
