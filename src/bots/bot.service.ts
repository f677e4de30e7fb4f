import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { openSecret, sealSecret } from '../shared/crypto.ts';
import { isUniqueViolation, withTenant, type Db, type Tx } from '../shared/db.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { MODEL_ID_PATTERN } from '../shared/model-id.ts';
import { lockTenantRemovals, parseOrThrow, recordAudit, slugSchema, type RequestContext, type Tenant } from '../tenancy/index.ts';
import type { PriceTable } from './pricing/index.ts';
import {
  deleteBotRecord,
  existingBotSlugs,
  existingServerSlugs,
  findBotRecord,
  insertBotRecord,
  listBotRecords,
  listBotsAttaching,
  updateBotRecord,
  type BotFields,
  type BotRecord,
  type BotRowLock,
  type BotServerAttachment,
} from './bot.repository.ts';

export type { BotServerAttachment } from './bot.repository.ts';

/** A configured bot as the API shows it: the tenant's Anthropic key only as "set". */
export interface BotInfo {
  id: string;
  slug: string;
  name: string;
  description: string;
  model: string;
  /** False when the price table does not know the model: its usage would be recorded unpriced. */
  priced: boolean;
  /** For an unpriced model, the priced one it most likely misspells; else null. */
  suggestedModel: string | null;
  systemPrompt: string;
  temperature: number | null;
  maxTokens: number;
  /** Extended thinking budget in tokens; null when off. */
  thinkingBudget: number | null;
  servers: BotServerAttachment[];
  bots: string[];
  /** "set" when the tenant gave its own key; null when the operator's is used. */
  anthropicApiKey: 'set' | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Fields of a bot as given; the service validates every one. */
export interface UpdateBotInput {
  name?: unknown;
  description?: unknown;
  model?: unknown;
  systemPrompt?: unknown;
  /** null leaves the model's default. */
  temperature?: unknown;
  maxTokens?: unknown;
  /** null turns extended thinking off. */
  thinkingBudget?: unknown;
  servers?: unknown;
  /**
   * Instead of `servers`: the servers by slug, each one attached already keeping its tool
   * allow-list, as the bot has it when the change is made (the CLI's `--servers`).
   */
  serverSlugs?: unknown;
  bots?: unknown;
  /** A string replaces the tenant's key; null removes it. */
  anthropicApiKey?: unknown;
}

export interface CreateBotInput extends UpdateBotInput {
  slug: unknown;
}

export interface BotService {
  list(tenant: Tenant): Promise<BotInfo[]>;
  get(tenant: Tenant, slug: string): Promise<BotInfo>;
  create(tenant: Tenant, context: RequestContext, input: CreateBotInput): Promise<BotInfo>;
  /** Changes the given fields; lists given replace the stored ones. */
  update(tenant: Tenant, context: RequestContext, slug: string, input: UpdateBotInput): Promise<BotInfo>;
  /**
   * Deletes a bot and takes it out of the bots attaching it (each audited as `bot.update`), in one
   * transaction; `detach` runs in it too, to take out what other modules keep naming the bot.
   * Returns the bots it was taken out of. The tenant's deletions of servers and bots run one at a time.
   */
  remove(tenant: Tenant, context: RequestContext, slug: string, detach?: (trx: Tx, removed: BotInfo) => Promise<void>): Promise<BotInfo[]>;
  /**
   * Which of `slugs` name a bot of the tenant, each kept from being deleted until `trx` ends: for
   * another module to check, in the transaction writing it, what comes to name bots.
   */
  holdExisting(trx: Tx, tenant: Tenant, slugs: readonly string[]): Promise<Set<string>>;
  /**
   * In the transaction deleting the server `server`, takes it out of every bot attaching it, each
   * audited as `bot.update`; returns the bots changed. Once that transaction commits, call `attachmentsChanged`.
   */
  detachServer(trx: Tx, tenant: Tenant, context: RequestContext, server: string): Promise<BotInfo[]>;
  /** Announces that the tenant's bots were changed in a transaction of another module, now committed. */
  attachmentsChanged(tenant: Tenant): void;
  /** A bot with its tenant-supplied Anthropic key in plaintext (null when the operator's is used): for running it. */
  forRun(tenant: Tenant, slug: string): Promise<{ info: BotInfo; apiKey: string | null }>;
}

export const DEFAULT_MAX_TOKENS = 4096;

// MCP tool names: 1-128 letters, digits, `_`, `-` and `.`.
const toolNameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a tool name: 1-128 letters, digits, "_", "-" or "."');

const FIELDS = {
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z
    .string({ error: 'required: say, for the model that will call this bot, what it does and when to use it' })
    .trim()
    .min(1, 'must not be empty: say, for the model that will call this bot, what it does and when to use it')
    .max(2000, 'must be at most 2000 characters'),
  model: z
    .string({ error: 'required: a model id such as "claude-sonnet-4-5"' })
    .regex(MODEL_ID_PATTERN, 'must be a model id such as "claude-sonnet-4-5"'),
  system_prompt: z.string().max(100_000, 'must be at most 100000 characters'),
  temperature: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').nullable(),
  max_tokens: z.int('must be a whole number').min(1, 'must be between 1 and 64000').max(64_000, 'must be between 1 and 64000'),
  thinking_budget: z.int('must be a whole number').min(1024, 'must be at least 1024 tokens, or null to turn thinking off').nullable(),
  servers: z
    .array(z.strictObject({ slug: slugSchema, tools: z.array(toolNameSchema).min(1).max(1000).optional() }))
    .max(100)
    .refine((list) => new Set(list.map((s) => s.slug)).size === list.length, 'must not attach a server twice'),
  bots: z.array(slugSchema).max(100).transform((list) => [...new Set(list)]),
  anthropic_api_key: z.string().trim().min(1, 'must not be empty; give null to remove it').max(1000).nullable(),
} as const;

type FieldName = keyof typeof FIELDS;

/** Parses one field; the error names the field and the place inside it (`servers.0.tools.1`). */
function parseField<F extends FieldName>(field: F, value: unknown): z.output<(typeof FIELDS)[F]> {
  const result = FIELDS[field].safeParse(value);
  if (result.success) return result.data as z.output<(typeof FIELDS)[F]>;
  const issue = result.error.issues[0];
  const name = [field, ...(issue?.path ?? [])].join('.');
  const message = issue?.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : (issue?.message ?? 'is invalid');
  throw new AppError('validation_failed', `${name}: ${message}`, { details: { field: name } });
}

const refuse = (field: string, reason: string) => new AppError('validation_failed', `${field}: ${reason}`, { details: { field } });

/** The key that encrypts stored secrets, or a function giving it when first needed. */
export type BotSecretKeySource = Buffer | (() => Buffer);

export function createBotService({
  db,
  secretKey,
  prices,
  onBotsChanged,
}: {
  db: Db;
  secretKey: BotSecretKeySource;
  /** The price table that decides whether a bot's model is priced; loaded when first needed. */
  prices: () => Promise<PriceTable>;
  /** Told after a bot is created, changed or deleted (the tenant's bot tools changed); must not throw. */
  onBotsChanged?: (tenantId: string) => void;
}): BotService {
  const key = typeof secretKey === 'function' ? secretKey : () => secretKey;
  const sealContext = (tenantId: string, botId: string) => `bot:${tenantId}:${botId}`;
  let table: Promise<PriceTable> | undefined;
  const priceTable = () => {
    table ??= prices().catch((error: unknown) => {
      table = undefined;
      throw error;
    });
    return table;
  };

  function toInfo(record: BotRecord, known: PriceTable): BotInfo {
    const priced = known.find(record.model) !== undefined;
    return {
      id: record.id,
      slug: record.slug,
      name: record.name,
      description: record.description,
      model: record.model,
      priced,
      suggestedModel: priced ? null : (known.similar(record.model) ?? null),
      systemPrompt: record.systemPrompt,
      temperature: record.temperature,
      maxTokens: record.maxTokens,
      thinkingBudget: record.thinkingBudget,
      servers: record.servers,
      bots: record.bots,
      anthropicApiKey: record.sealedApiKey === null ? null : 'set',
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  /** Servers named by slug as attachments, those in `attached` with their allow-lists; anything else is left for parsing to refuse. */
  function keepingAllowLists(slugs: unknown, attached: readonly BotServerAttachment[]): unknown {
    if (!Array.isArray(slugs)) return slugs;
    return slugs.map((slug: unknown) => attached.find((server) => server.slug === slug) ?? { slug });
  }

  /** The given fields parsed over `base`; the API key comes back as plaintext, undefined to keep the stored one. */
  function parseFields(input: UpdateBotInput, base: Omit<BotFields, 'sealedApiKey'>) {
    const given = <T>(value: unknown, parse: (v: unknown) => T, fallback: T): T => (value === undefined ? fallback : parse(value));
    return {
      fields: {
        name: given(input.name, (v) => parseField('name', v), base.name),
        description: given(input.description, (v) => parseField('description', v), base.description),
        model: given(input.model, (v) => parseField('model', v), base.model),
        systemPrompt: given(input.systemPrompt, (v) => parseField('system_prompt', v), base.systemPrompt),
        temperature: given(input.temperature, (v) => parseField('temperature', v), base.temperature),
        maxTokens: given(input.maxTokens, (v) => parseField('max_tokens', v), base.maxTokens),
        thinkingBudget: given(input.thinkingBudget, (v) => parseField('thinking_budget', v), base.thinkingBudget),
        servers: given(
          input.serverSlugs === undefined ? input.servers : keepingAllowLists(input.serverSlugs, base.servers),
          (v) => parseField('servers', v),
          base.servers,
        ),
        bots: given(input.bots, (v) => parseField('bots', v), base.bots),
      },
      apiKey: input.anthropicApiKey === undefined ? undefined : parseField('anthropic_api_key', input.anthropicApiKey),
    };
  }

  /** Extended thinking must fit in max_tokens, and the API takes no temperature with it. */
  function checkThinking(fields: Pick<BotFields, 'thinkingBudget' | 'maxTokens' | 'temperature'>) {
    if (fields.thinkingBudget === null) return;
    if (fields.thinkingBudget >= fields.maxTokens) throw refuse('thinking_budget', `must be less than max_tokens (${fields.maxTokens})`);
    if (fields.temperature !== null) throw refuse('temperature', 'must be null while thinking_budget is set: the model thinks at its own temperature');
  }

  /**
   * Checks attachments against the tenant's servers and bots, in the transaction that writes them;
   * `stored` is what the bot, locked, attaches now (none for a new bot).
   *
   * What is newly attached is held (FOR KEY SHARE) until the transaction ends. Without that, a
   * deletion running meanwhile lists the bots attaching what it deletes in a snapshot without this
   * uncommitted write, and the bot would go on naming a deleted server or bot, which one created
   * later under that slug would inherit. With it, whichever comes second waits for the other:
   * - attach first: the deletion's FOR UPDATE of that row waits until this commits; its list of the
   *   bots attaching, a later statement, then sees this bot and detaches it;
   * - delete first: the hold waits until the deletion commits, finds no row, and the attachment is
   *   refused as naming no such server or bot.
   * What the bot already attached is not held: the deletion finds this bot in its list anyway,
   * waits for the lock on it, and detaches from what this commits. Holding it too would deadlock:
   * this holding the bot and waiting for the deleted row, the deletion the other way round.
   */
  async function checkAttachments(
    trx: Tx,
    tenantId: string,
    slug: string,
    fields: Pick<BotFields, 'servers' | 'bots'>,
    stored?: Pick<BotFields, 'servers' | 'bots'>,
  ) {
    const selfAt = fields.bots.indexOf(slug);
    if (selfAt >= 0) throw refuse(`bots.${selfAt}`, 'a bot cannot attach itself');
    const servers = await existing(
      fields.servers.map((s) => s.slug),
      stored?.servers.map((s) => s.slug),
      (slugs, hold) => existingServerSlugs(trx, tenantId, slugs, hold),
    );
    fields.servers.forEach((server, i) => {
      if (!servers.has(server.slug)) throw refuse(`servers.${i}.slug`, `no server "${server.slug}" in this tenant`);
    });
    const bots = await existing(fields.bots, stored?.bots, (slugs, hold) => existingBotSlugs(trx, tenantId, slugs, hold));
    fields.bots.forEach((bot, i) => {
      if (!bots.has(bot)) throw refuse(`bots.${i}`, `no bot "${bot}" in this tenant`);
    });
  }

  /** Which of `wanted` exist: those not in `kept` found and held, those in it only found. */
  async function existing(wanted: string[], kept: string[] | undefined, find: (slugs: string[], hold: boolean) => Promise<Set<string>>) {
    const added = wanted.filter((slug) => !kept?.includes(slug));
    const stillThere = wanted.filter((slug) => kept?.includes(slug));
    return new Set([...(await find(added, true)), ...(await find(stillThere, false))]);
  }

  /** Rewrites the attachments of bots that named something deleted, auditing each as `bot.update`. */
  async function detachFrom(
    trx: Tx,
    tenantId: string,
    context: RequestContext,
    records: BotRecord[],
    without: (record: BotRecord) => Pick<BotFields, 'servers' | 'bots'>,
  ): Promise<BotInfo[]> {
    const known = await priceTable();
    const changed: BotInfo[] = [];
    for (const current of records) {
      const info = toInfo(await updateBotRecord(trx, tenantId, current.id, { ...current, ...without(current) }), known);
      await recordAudit(trx, tenantId, context, { action: 'bot.update', resourceType: 'bot', resourceId: current.id, before: toInfo(current, known), after: info });
      changed.push(info);
    }
    return changed;
  }

  async function findOr404(trx: Tx, tenantId: string, slug: string, lock?: BotRowLock) {
    const record = slugSchema.safeParse(slug).success ? await findBotRecord(trx, tenantId, slug, lock) : undefined;
    if (!record) throw notFound('bot');
    return record;
  }

  return {
    async list(tenant) {
      const known = await priceTable();
      return (await withTenant(db, tenant.id, (trx) => listBotRecords(trx, tenant.id))).map((r) => toInfo(r, known));
    },

    async get(tenant, slug) {
      const known = await priceTable();
      return toInfo(await withTenant(db, tenant.id, (trx) => findOr404(trx, tenant.id, slug)), known);
    },

    async create(tenant, context, input) {
      const slug = parseOrThrow(slugSchema, input.slug, 'slug');
      if (input.description === undefined) parseField('description', undefined);
      if (input.model === undefined) parseField('model', undefined);
      const { fields, apiKey } = parseFields(input, {
        name: slug,
        description: '',
        model: '',
        systemPrompt: '',
        temperature: null,
        maxTokens: DEFAULT_MAX_TOKENS,
        thinkingBudget: null,
        servers: [],
        bots: [],
      });
      const known = await priceTable();
      const id = randomUUID();
      try {
        return await withTenant(db, tenant.id, async (trx) => {
          checkThinking(fields);
          await checkAttachments(trx, tenant.id, slug, fields);
          const sealedApiKey = apiKey === undefined || apiKey === null ? null : sealSecret(key(), apiKey, sealContext(tenant.id, id));
          const info = toInfo(await insertBotRecord(trx, { id, tenantId: tenant.id, slug, ...fields, sealedApiKey }), known);
          await recordAudit(trx, tenant.id, context, { action: 'bot.create', resourceType: 'bot', resourceId: id, after: info });
          return info;
        }).then((info) => {
          onBotsChanged?.(tenant.id);
          return info;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('conflict', `a bot with slug "${slug}" already exists`);
        throw error;
      }
    },

    async update(tenant, context, slug, input) {
      const known = await priceTable();
      const updated = await withTenant(db, tenant.id, async (trx) => {
        // FOR NO KEY UPDATE: two bots coming to attach each other at once hold each other FOR KEY SHARE, which it lets be.
        const current = await findOr404(trx, tenant.id, slug, 'change');
        const { fields, apiKey } = parseFields(input, current);
        checkThinking(fields);
        await checkAttachments(trx, tenant.id, current.slug, fields, current);
        let sealedApiKey = current.sealedApiKey;
        if (apiKey !== undefined) sealedApiKey = apiKey === null ? null : sealSecret(key(), apiKey, sealContext(tenant.id, current.id));
        const info = toInfo(await updateBotRecord(trx, tenant.id, current.id, { ...fields, sealedApiKey }), known);
        await recordAudit(trx, tenant.id, context, {
          action: 'bot.update',
          resourceType: 'bot',
          resourceId: current.id,
          before: toInfo(current, known),
          after: info,
        });
        return info;
      });
      onBotsChanged?.(tenant.id);
      return updated;
    },

    async forRun(tenant, slug) {
      const known = await priceTable();
      const record = await withTenant(db, tenant.id, (trx) => findOr404(trx, tenant.id, slug));
      const apiKey = record.sealedApiKey === null ? null : openSecret(key(), record.sealedApiKey, sealContext(tenant.id, record.id));
      return { info: toInfo(record, known), apiKey };
    },

    async remove(tenant, context, slug, detach) {
      const known = await priceTable();
      const detachedFrom = await withTenant(db, tenant.id, async (trx) => {
        // First, so that two deletions of bots attaching each other do not each hold one the other waits for.
        await lockTenantRemovals(trx, tenant.id);
        const record = await findOr404(trx, tenant.id, slug, 'delete');
        const removed = toInfo(record, known);
        await deleteBotRecord(trx, tenant.id, record.id);
        await recordAudit(trx, tenant.id, context, { action: 'bot.delete', resourceType: 'bot', resourceId: record.id, before: removed });
        // A bot created later with this slug must not be reached through attachments made for this one.
        const attaching = await listBotsAttaching(trx, tenant.id, { bot: record.slug });
        const changed = await detachFrom(trx, tenant.id, context, attaching, (bot) => ({
          servers: bot.servers,
          bots: bot.bots.filter((other) => other !== record.slug),
        }));
        await detach?.(trx, removed);
        return changed;
      });
      onBotsChanged?.(tenant.id);
      return detachedFrom;
    },

    holdExisting: (trx, tenant, slugs) => existingBotSlugs(trx, tenant.id, slugs, true),

    async detachServer(trx, tenant, context, server) {
      const attaching = await listBotsAttaching(trx, tenant.id, { server });
      return detachFrom(trx, tenant.id, context, attaching, (bot) => ({ servers: bot.servers.filter((s) => s.slug !== server), bots: bot.bots }));
    },

    attachmentsChanged: (tenant) => onBotsChanged?.(tenant.id),
  };
}
