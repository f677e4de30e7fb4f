import { X509Certificate } from 'node:crypto';
import * as z from 'zod';

/** Every kind of tool source a tenant can configure. */
export const SERVER_KINDS = ['filesystem', 'github', 'database', 'remote', 'stdio'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name');
const headerValue = z.string().max(4096).refine((v) => !/[\r\n]/.test(v), 'must not contain line breaks');
const headers = z.record(headerName, headerValue).refine((h) => Object.keys(h).length <= 32, 'at most 32 headers');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' });

/** Connection parameters a database URL may carry: others could redirect pg (host) or make it read local files (sslrootcert). */
const POSTGRES_URL_PARAMS = new Set(['sslmode', 'ssl', 'application_name', 'connect_timeout']);

/**
 * Whether pg will connect to the host that the outbound check sees. The check
 * reads the URL as http (`policy.ts`), pg as postgres; a URL the two read
 * differently (`postgres://public\@private/db`) is refused.
 */
function hasOnePlainHost(text: string): boolean {
  try {
    const asPostgres = new URL(text);
    const asHttp = new URL(text.replace(/^postgres(ql)?:/, 'http:'));
    return (
      asHttp.hostname !== '' &&
      asHttp.hostname === asPostgres.hostname.toLowerCase() &&
      [...asPostgres.searchParams.keys()].every((name) => POSTGRES_URL_PARAMS.has(name))
    );
  } catch {
    return false;
  }
}

/** Whether the URL names the user to connect as: pg would otherwise take the gateway's own (PGUSER, the system user). */
function namesUser(text: string): boolean {
  try {
    return new URL(text).username !== '';
  } catch {
    return false;
  }
}

const postgresUrl = z
  .string()
  .max(4096, 'must be at most 4096 characters')
  .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// URL')
  .refine(hasOnePlainHost, 'must name one host, with no parameters besides sslmode, ssl, application_name and connect_timeout')
  .refine(namesUser, 'must name the user to connect as: postgres://user:password@host/database');

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Whether `text` holds one or more PEM certificates, each of which parses. */
function arePemCertificates(text: string): boolean {
  const blocks = text.match(CERTIFICATE_BLOCK);
  if (!blocks) return false;
  try {
    return blocks.every((block) => new X509Certificate(block).raw.length > 0);
  } catch {
    return false;
  }
}

/** Certificates a server's own must chain to; a whole provider bundle (Amazon RDS's, for one) fits. */
const pemCertificates = z
  .string()
  .max(512 * 1024, 'must be at most 512 KiB')
  .refine(arePemCertificates, 'must be one or more PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)');

/**
 * How long a remote or stdio server's request may go without an answer
 * (a progress notification restarts the clock): 30 s unless configured.
 */
const upstreamTimeoutMs = z.number().int().min(1_000, 'must be at least 1000 (1 s)').max(600_000, 'must be at most 600000 (10 min)');

/** Non-secret configuration and secrets of each kind; unknown keys are refused. */
export const KIND_SCHEMAS = {
  filesystem: {
    config: z.strictObject({
      roots: z.array(z.string().min(1).max(1024)).max(16).optional(),
      readOnly: z.boolean().default(false),
    }),
    secrets: z.strictObject({}),
    requiredSecrets: [],
  },
  github: {
    config: z.strictObject({
      owner: z.string().regex(/^[A-Za-z0-9-]{1,39}$/, 'must be a GitHub user or organisation name').optional(),
      repo: z.string().regex(/^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/, 'must be a repository name').optional(),
      baseUrl: httpUrl.optional(),
    }),
    secrets: z.strictObject({ token: z.string().min(1).max(512) }),
    requiredSecrets: ['token'],
  },
  database: {
    config: z.strictObject({
      rowLimit: z.number().int().min(1).max(10_000).optional(),
      statementTimeoutMs: z.number().int().min(100).max(120_000).optional(),
      ca: pemCertificates.optional(),
    }),
    secrets: z.strictObject({ url: postgresUrl }),
    requiredSecrets: ['url'],
  },
  remote: {
    config: z.strictObject({ url: httpUrl, headers: headers.optional(), timeoutMs: upstreamTimeoutMs.optional() }),
    secrets: z.strictObject({ token: z.string().min(1).max(4096).optional(), headers: headers.optional() }),
    requiredSecrets: [],
  },
  stdio: {
    config: z.strictObject({
      command: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a command name'),
      timeoutMs: upstreamTimeoutMs.optional(),
    }),
    secrets: z.strictObject({}),
    requiredSecrets: [],
  },
} as const;

export type KindConfig<K extends ServerKind> = z.output<(typeof KIND_SCHEMAS)[K]['config']>;
export type KindSecrets<K extends ServerKind> = z.output<(typeof KIND_SCHEMAS)[K]['secrets']>;
