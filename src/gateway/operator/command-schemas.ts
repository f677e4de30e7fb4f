import * as z from 'zod';
import {
  durationSchema,
  emailSchema,
  nameSchema,
  passwordSchema,
  roleSchema,
  scopesSchema,
  slugSchema,
  toolRestrictionsSchema,
} from '../../tenancy/index.ts';

const tenant = slugSchema;
// Read from stdin by the CLI: nothing there, or only a newline, is no key.
const anthropicApiKey = z.string().trim().min(1, 'must not be empty');

/** Input of every operator command; the CLI and the operator endpoint validate with these. */
export const operatorCommandSchemas = {
  'tenant.create': z.strictObject({ slug: slugSchema, name: nameSchema.optional() }),
  'tenant.list': z.strictObject({}),
  'user.create': z.strictObject({
    tenant,
    email: emailSchema,
    role: roleSchema,
    password: passwordSchema.optional(),
  }),
  'user.list': z.strictObject({ tenant }),
  'user.password': z.strictObject({ tenant, email: emailSchema, password: passwordSchema.optional() }),
  'key.create': z.strictObject({
    tenant,
    name: nameSchema,
    scopes: scopesSchema,
    tools: toolRestrictionsSchema.optional(),
    expires: durationSchema.optional(),
    user: emailSchema.optional(),
  }),
  'key.list': z.strictObject({ tenant }),
  'key.revoke': z.strictObject({ tenant, id: z.string().min(1) }),
  // As `POST /api/v1/keys/{id}/rotate`: the old key keeps working for `grace` (default 24 h).
  'key.rotate': z.strictObject({ tenant, id: z.string().min(1), grace: durationSchema.optional() }),
  'server.create': z.strictObject({
    tenant,
    slug: z.string(),
    kind: z.string(),
    config: z.record(z.string(), z.unknown()).optional(),
    secrets: z.record(z.string(), z.string()).optional(),
  }),
  'server.list': z.strictObject({ tenant }),
  'server.status': z.strictObject({ tenant, slug: z.string() }),
  // As `PATCH /api/v1/servers/{slug}`: config replaces the stored one; secrets merge, null removing one.
  'server.update': z
    .strictObject({
      tenant,
      slug: z.string(),
      config: z.record(z.string(), z.unknown()).optional(),
      secrets: z.record(z.string(), z.string().nullable()).optional(),
    })
    .refine((args) => args.config !== undefined || args.secrets !== undefined, 'give config, secrets or both'),
  'server.delete': z.strictObject({ tenant, slug: z.string() }),
  // Values are validated by the bot service, which names the field it refuses.
  'bot.create': z.strictObject({
    tenant,
    slug: z.string(),
    name: z.string().optional(),
    description: z.string().optional(),
    model: z.string(),
    system: z.string(),
    servers: z.array(z.string()).optional(),
    bots: z.array(z.string()).optional(),
    temperature: z.number().nullable().optional(),
    max_tokens: z.number().optional(),
    thinking_budget: z.number().optional(),
    anthropic_api_key: anthropicApiKey.optional(),
  }),
  'bot.list': z.strictObject({ tenant }),
  // As `PATCH /api/v1/bots/{slug}`, with servers named by slug; lists replace; null resets temperature, turns thinking off, removes the key.
  'bot.update': z
    .strictObject({
      tenant,
      slug: z.string(),
      name: z.string().optional(),
      description: z.string().optional(),
      model: z.string().optional(),
      system: z.string().optional(),
      temperature: z.number().nullable().optional(),
      max_tokens: z.number().optional(),
      thinking_budget: z.number().nullable().optional(),
      servers: z.array(z.string()).optional(),
      bots: z.array(z.string()).optional(),
      anthropic_api_key: anthropicApiKey.nullable().optional(),
    })
    .refine(
      (args) => Object.entries(args).some(([field, value]) => field !== 'tenant' && field !== 'slug' && value !== undefined),
      'give at least one field to change',
    ),
  'bot.delete': z.strictObject({ tenant, slug: z.string() }),
} as const;

export type OperatorCommandName = keyof typeof operatorCommandSchemas;
export const OPERATOR_COMMANDS = Object.keys(operatorCommandSchemas) as OperatorCommandName[];
