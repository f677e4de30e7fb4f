import * as z from 'zod';
import { AppError } from '../../shared/errors.ts';
import { unstorableAt } from '../../shared/storable-json.ts';
import {
  durationSchema,
  emailSchema,
  nameSchema,
  passwordSchema,
  roleSchema,
  scopesSchema,
  slugSchema,
  toolRestrictionsSchema,
  type RequestContext,
  type TenancyModule,
} from '../../tenancy/index.ts';
import type { BotsModule } from '../../bots/index.ts';
import type { ServersModule } from '../../servers/index.ts';
import { botJson, issuedKeyJson, keyJson, serverCheckJson, serverJson, tenantJson } from '../serialize.ts';

const tenant = slugSchema;

/** Input of every operator command; the CLI and the operator endpoint validate with these. */
export const operatorCommandSchemas = {
  'tenant.create': z.strictObject({ slug: slugSchema, name: nameSchema.optional() }),
  'user.create': z.strictObject({
    tenant,
    email: emailSchema,
    role: roleSchema,
    password: passwordSchema.optional(),
  }),
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
  'server.create': z.strictObject({
    tenant,
    slug: z.string(),
    kind: z.string(),
    config: z.record(z.string(), z.unknown()).optional(),
    secrets: z.record(z.string(), z.string()).optional(),
  }),
  'server.list': z.strictObject({ tenant }),
  'server.status': z.strictObject({ tenant, slug: z.string() }),
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
    max_tokens: z.number().optional(),
    thinking_budget: z.number().optional(),
  }),
  'bot.list': z.strictObject({ tenant }),
} as const;

export type OperatorCommandName = keyof typeof operatorCommandSchemas;
export const OPERATOR_COMMANDS = Object.keys(operatorCommandSchemas) as OperatorCommandName[];

/** Runs operator commands on the modules: what `botgate tenant|user|key|server|bot ...` does. */
export interface OperatorCommands {
  run(name: OperatorCommandName, args: unknown, context: RequestContext): Promise<unknown>;
}

function parseArgs<N extends OperatorCommandName>(name: N, args: unknown): z.output<(typeof operatorCommandSchemas)[N]> {
  const result = operatorCommandSchemas[name].safeParse(args);
  if (result.success) {
    // Text the database cannot store (NUL, a lone surrogate) is refused here, not in the database.
    const unstorable = unstorableAt(result.data, 'arguments');
    if (unstorable) throw new AppError('validation_failed', `${unstorable.path.slice('arguments.'.length) || 'arguments'}: ${unstorable.reason}`);
    return result.data as z.output<(typeof operatorCommandSchemas)[N]>;
  }
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || 'arguments';
  const message = issue?.code === 'unrecognized_keys' ? `unknown option(s): ${issue.keys.join(', ')}` : issue?.message;
  throw new AppError('validation_failed', `${field}: ${message ?? 'is invalid'}`);
}

export function createOperatorCommands({
  tenancy,
  servers,
  bots,
}: {
  tenancy: TenancyModule;
  servers: ServersModule;
  bots: BotsModule;
}): OperatorCommands {
  const handlers: { [N in OperatorCommandName]: (args: unknown, context: RequestContext) => Promise<unknown> } = {
    async 'tenant.create'(raw, context) {
      const args = parseArgs('tenant.create', raw);
      return { tenant: tenantJson(await tenancy.tenants.create(context, args)) };
    },
    async 'user.create'(raw, context) {
      const args = parseArgs('user.create', raw);
      const target = await tenancy.tenants.getBySlug(args.tenant);
      const added = await tenancy.members.add(target.id, context, {
        email: args.email,
        role: args.role,
        password: args.password,
        generatePassword: true,
      });
      return {
        user: { id: added.member.userId, email: added.member.email },
        tenant: target.slug,
        role: added.member.role,
        created_user: added.createdUser,
        ...(added.generatedPassword !== undefined && { password: added.generatedPassword }),
      };
    },
    async 'key.create'(raw, context) {
      const args = parseArgs('key.create', raw);
      const target = await tenancy.tenants.getBySlug(args.tenant);
      let userId: string | null = null;
      if (args.user !== undefined) {
        const member = (await tenancy.members.list(target.id)).find((m) => m.email === args.user);
        if (!member) throw new AppError('validation_failed', `user: ${args.user} is not a member of ${target.slug}`);
        userId = member.userId;
      }
      const key = await tenancy.apiKeys.create(target.id, context, {
        name: args.name,
        scopes: args.scopes,
        tools: args.tools ?? null,
        expiresInMs: args.expires,
        userId,
      });
      return { key: issuedKeyJson(key), tenant: target.slug };
    },
    async 'key.list'(raw) {
      const args = parseArgs('key.list', raw);
      const target = await tenancy.tenants.getBySlug(args.tenant);
      return { keys: (await tenancy.apiKeys.list(target.id)).map(keyJson), tenant: target.slug };
    },
    async 'key.revoke'(raw, context) {
      const args = parseArgs('key.revoke', raw);
      const target = await tenancy.tenants.getBySlug(args.tenant);
      return { key: keyJson(await tenancy.apiKeys.revoke(target.id, context, args.id)), tenant: target.slug };
    },
    async 'server.create'(raw, context) {
      const args = parseArgs('server.create', raw);
      const target = await tenancy.tenants.getBySlug(args.tenant);
      const server = await servers.servers.create(target, context, args);
      return { server: serverJson(server), tenant: target.slug };
    },
    async 'server.list'(raw) {
      const args = parseArgs('server.list', raw);
      const target = await tenancy.tenants.getBySlug(args.tenant);
      return { servers: (await servers.servers.list(target)).map(serverJson), tenant: target.slug };
    },
    async 'server.status'(raw) {
      const args = parseArgs('server.status', raw);
      const target = await tenancy.tenants.getBySlug(args.tenant);
      return { status: serverCheckJson(await servers.check(target, args.slug)), server: args.slug, tenant: target.slug };
    },
    async 'bot.create'(raw, context) {
      const args = parseArgs('bot.create', raw);
      const target = await tenancy.tenants.getBySlug(args.tenant);
      const bot = await bots.bots.create(target, context, {
        slug: args.slug,
        name: args.name,
        description: args.description,
        model: args.model,
        systemPrompt: args.system,
        servers: args.servers?.map((slug) => ({ slug })),
        bots: args.bots,
        maxTokens: args.max_tokens,
        thinkingBudget: args.thinking_budget,
      });
      return { bot: botJson(bot), tenant: target.slug };
    },
    async 'bot.list'(raw) {
      const args = parseArgs('bot.list', raw);
      const target = await tenancy.tenants.getBySlug(args.tenant);
      return { bots: (await bots.bots.list(target)).map(botJson), tenant: target.slug };
    },
  };
  return {
    run: (name, args, context) => {
      const handler = handlers[name];
      if (!handler) return Promise.reject(new AppError('not_found', `unknown command ${name}`));
      return handler(args, context);
    },
  };
}
