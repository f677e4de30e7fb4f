import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import * as z from 'zod';
import { openSecret, sealSecret } from '../shared/crypto.ts';
import { isUniqueViolation, withTenant, type Db, type Tx } from '../shared/db.ts';
import { AppError, notFound } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { lockTenantRemovals, parseOrThrow, recordAudit, slugSchema, type RequestContext, type Tenant } from '../tenancy/index.ts';
import { KIND_SCHEMAS, SERVER_KINDS, type ServerKind } from './kinds.ts';
import { ALL_LISTS, type NotifyToolsChanged } from './list-changes.ts';
import { checkOutboundUrl, DEFAULT_MAX_SERVERS_PER_TENANT, makesFilesystemRoot, resolveFilesystemRoots, type ServerPolicy } from './policy.ts';
import {
  countServersLocked,
  deleteServerRecord,
  findServerRecord,
  holdServerSlugs,
  insertServerRecord,
  listServerRecords,
  updateServerRecord,
  type ServerRecord,
} from './server.repository.ts';

/** A configured server as the API shows it: secrets only as "set". */
export interface ServerInfo {
  id: string;
  slug: string;
  kind: ServerKind;
  config: Record<string, unknown>;
  secrets: Record<string, 'set'>;
  createdAt: Date;
  updatedAt: Date;
}

/** A configured server with its secrets decrypted: for building its tool source, never for output. */
export interface ServerRuntime {
  id: string;
  slug: string;
  kind: ServerKind;
  config: Record<string, unknown>;
  secrets: Record<string, unknown>;
  /** Changes whenever the configuration does; keys caches of running sources. */
  version: string;
}

export interface CreateServerInput {
  slug: string;
  kind: string;
  config?: unknown;
  secrets?: unknown;
}

export interface UpdateServerInput {
  config?: unknown;
  /** Merged into the stored secrets; a null value removes that secret. */
  secrets?: Record<string, unknown>;
}

export interface ServerService {
  list(tenant: Tenant): Promise<ServerInfo[]>;
  get(tenant: Tenant, slug: string): Promise<ServerInfo>;
  create(tenant: Tenant, context: RequestContext, input: CreateServerInput): Promise<ServerInfo>;
  update(tenant: Tenant, context: RequestContext, slug: string, input: UpdateServerInput): Promise<ServerInfo>;
  /**
   * Deletes a server; `detach` runs in the same transaction, to take out what other modules keep
   * naming it. The tenant's deletions of servers and bots run one at a time.
   */
  remove(tenant: Tenant, context: RequestContext, slug: string, detach?: (trx: Tx, removed: ServerInfo) => Promise<void>): Promise<void>;
  /**
   * Which of `slugs` name a server of the tenant, each kept from being deleted until `trx` ends: for
   * another module to check, in the transaction writing it, what comes to name servers.
   */
  holdExisting(trx: Tx, tenant: Tenant, slugs: readonly string[]): Promise<Set<string>>;
  /** Every server of the tenant with decrypted secrets. */
  listRuntime(tenant: Tenant): Promise<ServerRuntime[]>;
}

/** The key that encrypts stored secrets, or a function giving it when first needed. */
export type SecretKeySource = Buffer | (() => Buffer);

const kindSchema = z.enum(SERVER_KINDS, { error: `must be one of ${SERVER_KINDS.join(', ')}` });

const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The value at `path` inside `value`; undefined where nothing is. */
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) at = isObject(at) || Array.isArray(at) ? (at as Record<PropertyKey, unknown>)[key] : undefined;
  return at;
}

/** Parses config or secrets; the error names the field inside them (`config.repo`), as the REST layer does for bodies. */
function parseField(schema: z.ZodType, value: unknown, field: 'config' | 'secrets'): Record<string, unknown> {
  const result = schema.safeParse(value);
  if (result.success) return result.data as Record<string, unknown>;
  // A misspelt field is named first: the field it stands for is then missing, and would be reported as invalid.
  const issue = result.error.issues.find((found) => found.code === 'unrecognized_keys') ?? result.error.issues[0];
  const name = [field, ...(issue?.path ?? [])].join('.');
  const missing = issue !== undefined && issue.path.length > 0 && valueAt(value, issue.path) === undefined;
  const message = issue?.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : missing ? 'is required' : (issue?.message ?? 'is invalid');
  throw new AppError('validation_failed', `${name}: ${message}`, { details: { field: name } });
}

function toInfo(record: ServerRecord): ServerInfo {
  return {
    id: record.id,
    slug: record.slug,
    kind: record.kind as ServerKind,
    config: record.config,
    secrets: Object.fromEntries(record.secretNames.map((name) => [name, 'set' as const])),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** The slug under which the aggregate endpoint lists bots. */
export const RESERVED_SERVER_SLUG = 'bot';

export function createServerService({
  db,
  secretKey,
  policy,
  logger,
  notifyToolsChanged,
}: {
  db: Db;
  /** The key itself, or a function giving it when first needed (it may throw when there is none). */
  secretKey: SecretKeySource;
  policy: ServerPolicy;
  logger?: Logger;
  /** Told after a server is created, updated or deleted: every list it offers changed. */
  notifyToolsChanged?: NotifyToolsChanged;
}): ServerService {
  const key = typeof secretKey === 'function' ? secretKey : () => secretKey;
  const sealContext = (tenantId: string, serverId: string) => `server:${tenantId}:${serverId}`;
  const changed = (tenantId: string, slug: string) => notifyToolsChanged?.(tenantId, slug, ALL_LISTS);

  function openSecrets(record: ServerRecord): Record<string, unknown> {
    if (record.sealedSecrets === null) return {};
    return JSON.parse(openSecret(key(), record.sealedSecrets, sealContext(record.tenantId, record.id))) as Record<
      string,
      unknown
    >;
  }

  /** Validates config and secrets of a kind, and checks them against the operator's policy. */
  async function validate(tenant: Tenant, slug: string, kind: ServerKind, config: unknown, secrets: unknown) {
    const schemas = KIND_SCHEMAS[kind];
    const refuse = (field: string, reason: string) => new AppError('validation_failed', `${field}: ${reason}`, { details: { field } });
    const parsedConfig = parseField(schemas.config, config ?? {}, 'config');
    // Checked before parsing, so that a missing secret is named as missing rather than as a type error.
    const given = secrets ?? {};
    for (const name of schemas.requiredSecrets) {
      if (isObject(given) && (given as Record<string, unknown>)[name] === undefined) {
        throw refuse(`secrets.${name}`, `required for a ${kind} server`);
      }
    }
    const parsedSecrets = parseField(schemas.secrets, given, 'secrets');
    if (kind === 'filesystem') {
      try {
        resolveFilesystemRoots(policy, tenant.slug, slug, parsedConfig['roots'] as string[] | undefined);
      } catch (error) {
        throw refuse('config.roots', (error as Error).message);
      }
    }
    if (kind === 'stdio' && !Object.hasOwn(policy.stdioCommands, parsedConfig['command'] as string)) {
      throw refuse('config.command', 'not a command the operator allows (BOTGATE_STDIO_COMMANDS)');
    }
    const outbound: Array<[string, unknown]> = [
      ['config.url', kind === 'remote' ? parsedConfig['url'] : undefined],
      ['config.baseUrl', parsedConfig['baseUrl']],
      ['secrets.url', kind === 'database' ? parsedSecrets['url'] : undefined],
    ];
    for (const [field, url] of outbound) {
      if (typeof url !== 'string') continue;
      const reason = await checkOutboundUrl(url.replace(/^postgres(ql)?:/, 'http:'), policy.allowPrivateNetworks);
      if (reason) throw refuse(field, reason);
    }
    return { config: parsedConfig, secrets: parsedSecrets };
  }

  function seal(tenantId: string, serverId: string, secrets: Record<string, unknown>) {
    const names = Object.keys(secrets).sort();
    return {
      sealedSecrets: names.length === 0 ? null : sealSecret(key(), JSON.stringify(secrets), sealContext(tenantId, serverId)),
      secretNames: names,
    };
  }

  /**
   * Makes a filesystem server's directories as soon as it is configured, so
   * that files can be put in them before its first use (which would make them
   * anyway). A failure is logged, not raised: the server is saved already, and
   * its status check names what stops it.
   */
  async function makeFilesystemRoots(tenant: Tenant, slug: string, config: Record<string, unknown>): Promise<void> {
    const roots = resolveFilesystemRoots(policy, tenant.slug, slug, config['roots'] as string[] | undefined);
    const made = roots.filter((root) => makesFilesystemRoot(policy, tenant.slug, root, config['readOnly'] === true));
    try {
      await Promise.all(made.map((root) => mkdir(root, { recursive: true })));
    } catch (error) {
      logger?.warn({ err: error, tenant: tenant.slug, server: slug }, "making a filesystem server's directories failed");
    }
  }

  async function findOr404(tenantId: string, slug: string, forUpdate: boolean, trx: Parameters<typeof findServerRecord>[0]) {
    const record = slugSchema.safeParse(slug).success ? await findServerRecord(trx, tenantId, slug, forUpdate) : undefined;
    if (!record) throw notFound('server');
    return record;
  }

  return {
    list: async (tenant) => (await withTenant(db, tenant.id, (trx) => listServerRecords(trx, tenant.id))).map(toInfo),

    get: (tenant, slug) => withTenant(db, tenant.id, async (trx) => toInfo(await findOr404(tenant.id, slug, false, trx))),

    async create(tenant, context, input) {
      const slug = parseOrThrow(slugSchema, input.slug, 'slug');
      // The aggregate endpoint publishes bots as `bot__{slug}`: a server of that name would be shadowed.
      if (slug === RESERVED_SERVER_SLUG) throw new AppError('validation_failed', `slug: "${slug}" is reserved for bots in the aggregate endpoint`, { details: { field: 'slug' } });
      const kind = parseOrThrow(kindSchema, input.kind, 'kind');
      const valid = await validate(tenant, slug, kind, input.config, input.secrets);
      const id = randomUUID();
      let created: ServerInfo;
      try {
        created = await withTenant(db, tenant.id, async (trx) => {
          const max = policy.maxServersPerTenant ?? DEFAULT_MAX_SERVERS_PER_TENANT;
          if ((await countServersLocked(trx, tenant.id)) >= max) {
            throw new AppError('conflict', `this tenant already has ${max} servers, the most the operator allows (BOTGATE_MAX_SERVERS_PER_TENANT); delete one first`);
          }
          const record = await insertServerRecord(trx, {
            id,
            tenantId: tenant.id,
            slug,
            kind,
            config: valid.config,
            ...seal(tenant.id, id, valid.secrets),
          });
          const info = toInfo(record);
          await recordAudit(trx, tenant.id, context, { action: 'server.create', resourceType: 'server', resourceId: id, after: info });
          return info;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('conflict', `a server with slug "${slug}" already exists`);
        throw error;
      }
      if (kind === 'filesystem') await makeFilesystemRoots(tenant, slug, valid.config);
      changed(tenant.id, slug);
      return created;
    },

    async update(tenant, context, slug, input) {
      const current = await withTenant(db, tenant.id, (trx) => findOr404(tenant.id, slug, false, trx));
      const kind = current.kind as ServerKind;
      const mergedSecrets: Record<string, unknown> = { ...openSecrets(current) };
      if (input.secrets !== undefined) {
        if (typeof input.secrets !== 'object' || input.secrets === null || Array.isArray(input.secrets)) {
          throw new AppError('validation_failed', 'secrets: must be an object');
        }
        for (const [name, value] of Object.entries(input.secrets)) {
          if (value === null) delete mergedSecrets[name];
          else mergedSecrets[name] = value;
        }
      }
      const valid = await validate(tenant, current.slug, kind, input.config ?? current.config, mergedSecrets);
      const updated = await withTenant(db, tenant.id, async (trx) => {
        const locked = await findOr404(tenant.id, slug, true, trx);
        const record = await updateServerRecord(trx, tenant.id, locked.id, { config: valid.config, ...seal(tenant.id, locked.id, valid.secrets) });
        const info = toInfo(record);
        await recordAudit(trx, tenant.id, context, {
          action: 'server.update',
          resourceType: 'server',
          resourceId: locked.id,
          before: toInfo(locked),
          after: info,
        });
        return info;
      });
      if (kind === 'filesystem') await makeFilesystemRoots(tenant, updated.slug, valid.config);
      changed(tenant.id, updated.slug);
      return updated;
    },

    async remove(tenant, context, slug, detach) {
      const removed = await withTenant(db, tenant.id, async (trx) => {
        // First: `detach` locks bots in slug order, a bot's deletion its own row first; at once they could deadlock.
        await lockTenantRemovals(trx, tenant.id);
        const record = await findOr404(tenant.id, slug, true, trx);
        const info = toInfo(record);
        await deleteServerRecord(trx, tenant.id, record.id);
        await recordAudit(trx, tenant.id, context, { action: 'server.delete', resourceType: 'server', resourceId: record.id, before: info });
        await detach?.(trx, info);
        return record;
      });
      changed(tenant.id, removed.slug);
    },

    holdExisting: (trx, tenant, slugs) => holdServerSlugs(trx, tenant.id, slugs),

    async listRuntime(tenant) {
      const records = await withTenant(db, tenant.id, (trx) => listServerRecords(trx, tenant.id));
      const runtimes: ServerRuntime[] = [];
      for (const record of records) {
        let secrets: Record<string, unknown>;
        try {
          secrets = openSecrets(record);
        } catch (error) {
          // Sealed under another key: leave this server out rather than break the tenant's endpoint.
          logger?.error({ err: error, serverId: record.id }, 'cannot decrypt a server’s secrets; is BOTGATE_SECRET_KEY the one they were stored with?');
          continue;
        }
        runtimes.push({
          id: record.id,
          slug: record.slug,
          kind: record.kind as ServerKind,
          config: record.config,
          secrets,
          version: `${record.id}:${record.updatedAt.toISOString()}`,
        });
      }
      return runtimes;
    },
  };
}
