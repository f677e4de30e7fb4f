import fs from 'node:fs/promises';
import path from 'node:path';

/** JSON shapes of the REST API, as a client sees them. */
export interface ErrorBody {
  error: { code: string; message: string };
  requestId: string;
}

export interface KeyJson {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  user_id: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  replaced_by: string | null;
  created_at: string;
  secret?: string;
}

export interface MemberJson {
  user_id: string;
  email: string;
  role: string;
  created_at: string;
}

export interface AuditEventJson {
  id: string;
  actor: { type: string; id: string | null };
  action: string;
  resource_type: string;
  resource_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  created_at: string;
}

export interface TenantJson {
  id: string;
  slug: string;
  name: string;
}

export interface MeJson {
  tenant: TenantJson;
  key: { id: string; scopes: string[] };
  user_id: string | null;
  role: string;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined for an empty body. */
  body: T;
  /** The x-request-id header. */
  requestId: string | null;
}

export interface RequestOptions {
  /** An API key, sent as a bearer token. */
  key?: string;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (with `headers` choosing the content type). */
  raw?: string;
  headers?: Record<string, string>;
}

/** One HTTP request to the gateway; never throws on an error status. */
export async function request<T = ErrorBody>(
  baseUrl: string,
  method: string,
  urlPath: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers['authorization'] = `Bearer ${options.key}`;
  let body: string | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${urlPath}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === '' ? undefined : JSON.parse(text)) as T,
    requestId: response.headers.get('x-request-id'),
  };
}

/** A client bound to one gateway and, optionally, one key. */
export function apiClient(baseUrl: string, key?: string) {
  const call =
    (method: string) =>
    <T = ErrorBody>(urlPath: string, options: RequestOptions = {}) =>
      request<T>(baseUrl, method, urlPath, { ...(key !== undefined && { key }), ...options });
  return { get: call('GET'), post: call('POST'), patch: call('PATCH'), delete: call('DELETE') };
}

/**
 * Runs an operator command through the running gateway with the token it left
 * in DATA_DIR, exactly as the CLI does; quicker than a CLI process for test setup.
 */
export async function operatorCommand<T>(dataDir: string, name: string, args: Record<string, unknown>): Promise<T> {
  const credential = JSON.parse(await fs.readFile(path.join(dataDir, 'operator.json'), 'utf8')) as {
    url: string;
    token: string;
  };
  const response = await request<T>(credential.url, 'POST', `/api/v1/operator/${name}`, {
    key: credential.token,
    json: args,
  });
  if (response.status !== 200) throw new Error(`operator ${name} failed: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Test setup through the operator endpoint: a tenant, an owner, and a key. */
export async function seedTenant(
  dataDir: string,
  slug: string,
  options: { owner?: string; scopes?: string[] } = {},
): Promise<{ tenant: TenantJson; ownerId: string; key: KeyJson & { secret: string } }> {
  const { tenant } = await operatorCommand<{ tenant: TenantJson }>(dataDir, 'tenant.create', { slug });
  const owner = options.owner ?? `owner@${slug}.example`;
  const { user } = await operatorCommand<{ user: { id: string } }>(dataDir, 'user.create', {
    tenant: slug,
    email: owner,
    role: 'owner',
    password: 'correct horse battery staple',
  });
  const { key } = await operatorCommand<{ key: KeyJson & { secret: string } }>(dataDir, 'key.create', {
    tenant: slug,
    name: 'admin',
    scopes: options.scopes ?? ['mcp', 'admin'],
  });
  return { tenant, ownerId: user.id, key };
}
