import path from 'node:path';
import * as z from 'zod';
import { parseCidrs } from './cidr.ts';
import { MODEL_ID_PATTERN } from './model-id.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A stdio command's name, as tenants give it in a server's `config.command`. */
const STDIO_COMMAND_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const STDIO_COMMAND_NAME_RULE = 'must be a command name: 1-64 lowercase letters, digits, "-" or "_", not starting with "-" or "_"';

const stdioCommandsSchema = z.record(
  z.string().regex(STDIO_COMMAND_NAME, STDIO_COMMAND_NAME_RULE),
  z.strictObject({ command: z.string().min(1), args: z.array(z.string()).default([]) }),
);
const STDIO_COMMANDS_SHAPE = 'must be JSON like {"name": {"command": "/usr/bin/x", "args": []}}';

/** Parses BOTGATE_STDIO_COMMANDS, naming the command and field at fault. */
function parseStdioCommands(text: string, ctx: z.RefinementCtx) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: STDIO_COMMANDS_SHAPE });
    return z.NEVER;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    ctx.addIssue({ code: 'custom', message: STDIO_COMMANDS_SHAPE });
    return z.NEVER;
  }
  // Checked here too: the record drops a "__proto__" key rather than refusing it, and the operator would not know.
  const badName = Object.keys(parsed).find((name) => !STDIO_COMMAND_NAME.test(name));
  if (badName !== undefined) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(badName)}: ${STDIO_COMMAND_NAME_RULE}` });
    return z.NEVER;
  }
  const result = stdioCommandsSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    ctx.addIssue({ code: 'custom', message: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'is invalid'}` });
    return z.NEVER;
  }
  return result.data;
}

/** A pre-registered OAuth client (RFC 7591 metadata names); MCP clients that ship a client id use these. */
const oauthClientSchema = z.strictObject({
  client_id: z.string().regex(/^[\x21-\x7e]{1,255}$/, 'client_id must be 1-255 visible ASCII characters'),
  client_name: z.string().min(1).max(200).optional(),
  redirect_uris: z.array(z.url()).min(1),
  /** Absent for public clients (PKCE only), the usual kind of MCP client. */
  client_secret: z.string().min(32).optional(),
  token_endpoint_auth_method: z.enum(['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt']).optional(),
  /** The keys a `private_key_jwt` client signs its assertions with, fetched under the address policy. */
  jwks_uri: z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional(),
  grant_types: z.array(z.enum(['authorization_code', 'refresh_token'])).min(1).optional(),
  application_type: z.enum(['web', 'native']).optional(),
}).refine((client) => (client.token_endpoint_auth_method === 'private_key_jwt') === (client.jwks_uri !== undefined), {
  error: 'jwks_uri is required with token_endpoint_auth_method private_key_jwt, and only with it',
  path: ['jwks_uri'],
});

/** A pre-registered OAuth client, as the operator configured it. */
export type OAuthClientConfig = z.infer<typeof oauthClientSchema>;

/** Seconds an OAuth access token may be set to live: a day at most, since a leaked one works until it expires or is revoked. */
const ACCESS_TOKEN_TTL_BOUNDS = { min: 1, max: 86_400 } as const;

/** Bytes one message from a tenant's upstream may hold: room for a small JSON answer, and no more than a process should buffer. */
const UPSTREAM_MESSAGE_LIMIT_BOUNDS = { min: 1024, max: 1024 * 1024 * 1024 } as const;

/** What a tenant's own file area may be limited to: room for a few files, and no more than one disk holds. */
const FS_QUOTA_BOUNDS = { min: 1024 * 1024, max: 1024 ** 4 * 16 } as const;

const UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `512kb` as 524288: a size as BOTGATE_BODY_LIMIT writes it. */
function toBytes(size: string): number {
  const [, amount = '', unit = ''] = /^(\d+)(b|kb|mb|gb)$/i.exec(size) ?? [];
  return Number(amount) * (UNITS[unit.toLowerCase()] ?? Number.NaN);
}

/** Environment variables the gateway reads, parsed once in the composition root. */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url().optional(),
  BOTGATE_SECRET_KEY: z
    .string()
    .regex(/^[0-9a-f]{64}$/i, 'must be 64 hex characters (32 bytes)')
    .optional(),
  PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  BOTGATE_FS_ROOTS: z.string().optional(),
  BOTGATE_ALLOW_PRIVATE_NETWORKS: z
    .string()
    .transform((text, ctx) => {
      const cidrs = text
        .split(',')
        .map((cidr) => cidr.trim())
        .filter((cidr) => cidr !== '');
      try {
        parseCidrs(cidrs);
        return cidrs;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of CIDRs such as 127.0.0.0/8: ${(error as Error).message}` });
        return z.NEVER;
      }
    })
    .optional(),
  BOTGATE_STDIO_COMMANDS: z.string().transform(parseStdioCommands).optional(),
  BOTGATE_PRICES_FILE: z.string().min(1).optional(),
  BOTGATE_SUMMARY_MODEL: z.string().regex(MODEL_ID_PATTERN, 'must be a model id such as "claude-haiku-4-5"').optional(),
  BOTGATE_OAUTH_CLIENTS: z
    .string()
    .transform((text, ctx) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array of client metadata objects' });
        return z.NEVER;
      }
      const result = z.array(oauthClientSchema).safeParse(parsed);
      if (!result.success) {
        const issue = result.error.issues[0];
        ctx.addIssue({ code: 'custom', message: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'is invalid'}` });
        return z.NEVER;
      }
      const ids = result.data.map((client) => client.client_id);
      const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
      if (duplicate !== undefined) {
        ctx.addIssue({ code: 'custom', message: `client_id ${duplicate} appears twice` });
        return z.NEVER;
      }
      return result.data;
    })
    .optional(),
  BOTGATE_OAUTH_ACCESS_TOKEN_TTL: z
    .string()
    .regex(/^\d+$/, 'must be a whole number of seconds')
    .transform(Number)
    .refine((seconds) => seconds >= ACCESS_TOKEN_TTL_BOUNDS.min && seconds <= ACCESS_TOKEN_TTL_BOUNDS.max, {
      message: `must be from ${ACCESS_TOKEN_TTL_BOUNDS.min} to ${ACCESS_TOKEN_TTL_BOUNDS.max} seconds`,
    })
    .default(600),
  BOTGATE_OAUTH_METADATA_DOCUMENTS: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  BOTGATE_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'must look like 512kb or 1mb')
    .default('1mb'),
  BOTGATE_MAX_SERVERS_PER_TENANT: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((count) => count >= 1 && count <= 10_000, { message: 'must be between 1 and 10000' })
    .optional(),
  BOTGATE_MAX_STREAMS_PER_TENANT: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((count) => count >= 1 && count <= 100_000, { message: 'must be between 1 and 100000' })
    .optional(),
  BOTGATE_FS_QUOTA: z
    .string()
    .regex(/^\d+(b|kb|mb|gb)$/i, 'must look like 500mb or 10gb')
    .transform(toBytes)
    .refine((bytes) => bytes >= FS_QUOTA_BOUNDS.min && bytes <= FS_QUOTA_BOUNDS.max, { message: 'must be from 1mb to 16384gb' })
    .optional(),
  BOTGATE_UPSTREAM_MESSAGE_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'must look like 512kb or 16mb')
    .transform(toBytes)
    .refine((bytes) => bytes >= UPSTREAM_MESSAGE_LIMIT_BOUNDS.min && bytes <= UPSTREAM_MESSAGE_LIMIT_BOUNDS.max, {
      message: 'must be from 1kb to 1024mb',
    })
    .default(16 * 1024 * 1024),
  BOTGATE_METRICS_TOKEN: z
    .string()
    .min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)')
    .max(512, 'must be at most 512 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters, no spaces')
    .optional(),
});

/** The gateway's configuration, frozen after parsing. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  /** The operator's model prices (JSON like src/bots/pricing/prices.json), merged over the built-in table. */
  readonly pricesFile: string | undefined;
  /** The model that summarises long conversations; the bots module's default when absent. */
  readonly summaryModel: string | undefined;
  readonly anthropicApiKey: string | undefined;
  readonly anthropicBaseUrl: string | undefined;
  /** Hex secret; when absent from the environment it is generated into DATA_DIR. */
  readonly secretKey: string | undefined;
  readonly publicUrl: string | undefined;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly bodyLimit: string;
  /** Absolute directories tenants' filesystem servers may use besides their own area. */
  readonly fsRoots: readonly string[];
  /** Bytes a tenant's own file area may hold (BOTGATE_FS_QUOTA); the servers module's default when unset. */
  readonly fsQuotaBytes: number | undefined;
  /** CIDRs remote servers (and OAuth client metadata documents) may resolve to although private. */
  readonly allowPrivateNetworks: readonly string[];
  /** Bytes one message of a tenant's remote, stdio or GitHub server may hold (BOTGATE_UPSTREAM_MESSAGE_LIMIT). */
  readonly upstreamMessageLimit: number;
  /** OAuth clients the operator registered ahead of time (BOTGATE_OAUTH_CLIENTS). */
  readonly oauthClients: readonly OAuthClientConfig[];
  /** Seconds an OAuth access token lives (BOTGATE_OAUTH_ACCESS_TOKEN_TTL). */
  readonly oauthAccessTokenTtl: number;
  /**
   * Whether clients may identify themselves by a client ID metadata document (BOTGATE_OAUTH_METADATA_DOCUMENTS),
   * which the gateway fetches from the client maker's site; off, they register dynamically instead.
   */
  readonly oauthMetadataDocuments: boolean;
  /** Allow-listed stdio commands by name. */
  readonly stdioCommands: Readonly<Record<string, { command: string; args: readonly string[] }>>;
  /** The most servers one tenant may have (BOTGATE_MAX_SERVERS_PER_TENANT); the servers module's default when unset. */
  readonly maxServersPerTenant: number | undefined;
  /** The most MCP streams one tenant may hold open on one node (BOTGATE_MAX_STREAMS_PER_TENANT); the gateway's default when unset. */
  readonly maxStreamsPerTenant: number | undefined;
  /** The bearer token a Prometheus scraper sends to `/metrics` (BOTGATE_METRICS_TOKEN); the path is off without it. */
  readonly metricsToken: string | undefined;
}

/** Thrown when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses the environment once. Empty strings count as unset, so `PORT=` in a
 * shell does not become port 0. A bad value names the variable and the reason.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    pricesFile: e.BOTGATE_PRICES_FILE === undefined ? undefined : path.resolve(e.BOTGATE_PRICES_FILE),
    summaryModel: e.BOTGATE_SUMMARY_MODEL,
    anthropicApiKey: e.ANTHROPIC_API_KEY,
    anthropicBaseUrl: e.ANTHROPIC_BASE_URL,
    secretKey: e.BOTGATE_SECRET_KEY,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.BOTGATE_BODY_LIMIT,
    fsRoots: (e.BOTGATE_FS_ROOTS ?? '')
      .split(path.delimiter)
      .filter((root) => root !== '')
      .map((root) => path.resolve(root)),
    fsQuotaBytes: e.BOTGATE_FS_QUOTA,
    allowPrivateNetworks: e.BOTGATE_ALLOW_PRIVATE_NETWORKS ?? [],
    upstreamMessageLimit: e.BOTGATE_UPSTREAM_MESSAGE_LIMIT,
    stdioCommands: e.BOTGATE_STDIO_COMMANDS ?? {},
    maxServersPerTenant: e.BOTGATE_MAX_SERVERS_PER_TENANT,
    maxStreamsPerTenant: e.BOTGATE_MAX_STREAMS_PER_TENANT,
    oauthClients: e.BOTGATE_OAUTH_CLIENTS ?? [],
    oauthAccessTokenTtl: e.BOTGATE_OAUTH_ACCESS_TOKEN_TTL,
    oauthMetadataDocuments: e.BOTGATE_OAUTH_METADATA_DOCUMENTS === 'on',
    metricsToken: e.BOTGATE_METRICS_TOKEN,
  });
}
