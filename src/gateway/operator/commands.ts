import type * as z from 'zod';
import { AppError } from '../../shared/errors.ts';
import { unstorableAt } from '../../shared/storable-json.ts';
import { DEFAULT_ROTATION_GRACE_MS, type RequestContext, type TenancyModule, type Tenant } from '../../tenancy/index.ts';
import type { BotInfo, BotsModule } from '../../bots/index.ts';
import type { ServersModule } from '../../servers/index.ts';
import { toolSourcesCheck } from '../key-tools.ts';
import { removeBot, removeServer, type Detached } from '../removals.ts';
import { botJson, issuedKeyJson, keyJson, memberJson, serverCheckJson, serverJson, tenantJson } from '../serialize.ts';
import { operatorCommandSchemas, type OperatorCommandName } from './command-schemas.ts';

export { OPERATOR_COMMANDS, operatorCommandSchemas, type OperatorCommandName } from './command-schemas.ts';

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

/**
 * The operator sees every tenant, so its not-found errors say which name was
 * not found (`server "files" not found in tenant acme`); the API's must not.
 */
async function naming<T>(action: Promise<T>, what: string, tenant?: Tenant): Promise<T> {
  try {
    return await action;
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'not_found')) throw error;
    throw new AppError('not_found', `${what} not found${tenant ? ` in tenant ${tenant.slug}` : ''}`, { cause: error });
  }
}

/** What a deletion took its server or bot out of: bots by slug, keys by id and name. */
const detachedJson = ({ bots, keys }: Detached) => ({
  bots: bots.map((bot) => bot.slug),
  keys: keys.map((key) => ({ id: key.id, name: key.name })),
});

export function createOperatorCommands({
  tenancy,
  servers,
  bots,
}: {
  tenancy: TenancyModule;
  servers: ServersModule;
  bots: BotsModule;
}): OperatorCommands {
  const tenantOf = (slug: string) => naming(tenancy.tenants.getBySlug(slug), `tenant "${slug}"`);
  // As the bot runner decides: the bot's own key, else the operator's; with neither it cannot answer.
  const canAnswer = (bot: BotInfo) => bot.anthropicApiKey !== null || bots.hasOperatorApiKey;

  const handlers: { [N in OperatorCommandName]: (args: unknown, context: RequestContext) => Promise<unknown> } = {
    async 'tenant.create'(raw, context) {
      const args = parseArgs('tenant.create', raw);
      return { tenant: tenantJson(await tenancy.tenants.create(context, args)) };
    },
    async 'tenant.list'(raw) {
      parseArgs('tenant.list', raw);
      return { tenants: (await tenancy.tenants.list()).map(tenantJson) };
    },
    async 'user.create'(raw, context) {
      const args = parseArgs('user.create', raw);
      const target = await tenantOf(args.tenant);
      const added = await tenancy.members.add(target.id, context, {
        email: args.email,
        role: args.role,
        password: args.password,
        generatePassword: true,
        // The operator vouches for the person: an existing account is made a member as it is.
        attachExisting: true,
      });
      return {
        user: { id: added.member.userId, email: added.member.email },
        tenant: target.slug,
        role: added.member.role,
        created_user: added.createdUser,
        ...(added.generatedPassword !== undefined && { password: added.generatedPassword }),
      };
    },
    async 'user.password'(raw, context) {
      const args = parseArgs('user.password', raw);
      const target = await tenantOf(args.tenant);
      const reset = await naming(tenancy.members.resetPassword(target.id, context, args.email, args.password), `member "${args.email}"`, target);
      return {
        user: { id: reset.member.userId, email: reset.member.email },
        tenant: target.slug,
        ...(reset.generatedPassword !== undefined && { password: reset.generatedPassword }),
      };
    },
    async 'user.list'(raw) {
      const args = parseArgs('user.list', raw);
      const target = await tenantOf(args.tenant);
      return { members: (await tenancy.members.list(target.id)).map(memberJson), tenant: target.slug };
    },
    async 'key.create'(raw, context) {
      const args = parseArgs('key.create', raw);
      const target = await tenantOf(args.tenant);
      let userId: string | null = null;
      if (args.user !== undefined) {
        const member = (await tenancy.members.list(target.id)).find((m) => m.email === args.user);
        if (!member) throw new AppError('validation_failed', `user: ${args.user} is not a member of ${target.slug}`);
        userId = member.userId;
      }
      const key = await tenancy.apiKeys.create(
        target.id,
        context,
        { name: args.name, scopes: args.scopes, tools: args.tools ?? null, expiresInMs: args.expires, userId },
        toolSourcesCheck(target, { servers, bots }),
      );
      return { key: issuedKeyJson(key), tenant: target.slug };
    },
    async 'key.list'(raw) {
      const args = parseArgs('key.list', raw);
      const target = await tenantOf(args.tenant);
      return { keys: (await tenancy.apiKeys.list(target.id)).map(keyJson), tenant: target.slug };
    },
    async 'key.revoke'(raw, context) {
      const args = parseArgs('key.revoke', raw);
      const target = await tenantOf(args.tenant);
      const key = await naming(tenancy.apiKeys.revoke(target.id, context, args.id), `API key "${args.id}"`, target);
      return { key: keyJson(key), tenant: target.slug };
    },
    async 'key.rotate'(raw, context) {
      const args = parseArgs('key.rotate', raw);
      const target = await tenantOf(args.tenant);
      const { key, previous } = await naming(
        tenancy.apiKeys.rotate(target.id, context, args.id, args.grace ?? DEFAULT_ROTATION_GRACE_MS),
        `API key "${args.id}"`,
        target,
      );
      return { key: issuedKeyJson(key), previous: keyJson(previous), tenant: target.slug };
    },
    async 'server.create'(raw, context) {
      const args = parseArgs('server.create', raw);
      const target = await tenantOf(args.tenant);
      const server = await servers.servers.create(target, context, args);
      return { server: serverJson(server), tenant: target.slug };
    },
    async 'server.list'(raw) {
      const args = parseArgs('server.list', raw);
      const target = await tenantOf(args.tenant);
      return { servers: (await servers.servers.list(target)).map(serverJson), tenant: target.slug };
    },
    async 'server.status'(raw) {
      const args = parseArgs('server.status', raw);
      const target = await tenantOf(args.tenant);
      const check = await naming(servers.check(target, args.slug), `server "${args.slug}"`, target);
      return { status: serverCheckJson(check), server: args.slug, tenant: target.slug };
    },
    async 'server.update'(raw, context) {
      const args = parseArgs('server.update', raw);
      const target = await tenantOf(args.tenant);
      const server = await naming(
        servers.servers.update(target, context, args.slug, { config: args.config, secrets: args.secrets }),
        `server "${args.slug}"`,
        target,
      );
      return { server: serverJson(server), tenant: target.slug };
    },
    async 'server.delete'(raw, context) {
      const args = parseArgs('server.delete', raw);
      const target = await tenantOf(args.tenant);
      const what = `server "${args.slug}"`;
      const server = await naming(servers.servers.get(target, args.slug), what, target);
      const detached = await naming(removeServer({ tenancy, servers, bots }, target, context, args.slug), what, target);
      return { server: serverJson(server), tenant: target.slug, deleted: true, detached: detachedJson(detached) };
    },
    async 'bot.create'(raw, context) {
      const args = parseArgs('bot.create', raw);
      const target = await tenantOf(args.tenant);
      const bot = await bots.bots.create(target, context, {
        slug: args.slug,
        name: args.name,
        description: args.description,
        model: args.model,
        systemPrompt: args.system,
        servers: args.servers?.map((slug) => ({ slug })),
        bots: args.bots,
        temperature: args.temperature,
        maxTokens: args.max_tokens,
        thinkingBudget: args.thinking_budget,
        anthropicApiKey: args.anthropic_api_key,
      });
      return { bot: botJson(bot), tenant: target.slug, can_answer: canAnswer(bot) };
    },
    async 'bot.update'(raw, context) {
      const args = parseArgs('bot.update', raw);
      const target = await tenantOf(args.tenant);
      const what = `bot "${args.slug}"`;
      const bot = await naming(
        bots.bots.update(target, context, args.slug, {
          name: args.name,
          description: args.description,
          model: args.model,
          systemPrompt: args.system,
          temperature: args.temperature,
          maxTokens: args.max_tokens,
          thinkingBudget: args.thinking_budget,
          // The CLI names servers only: one that stays attached keeps the tool allow-list the REST API may have given it.
          serverSlugs: args.servers,
          bots: args.bots,
          anthropicApiKey: args.anthropic_api_key,
        }),
        what,
        target,
      );
      return { bot: botJson(bot), tenant: target.slug, can_answer: canAnswer(bot) };
    },
    async 'bot.list'(raw) {
      const args = parseArgs('bot.list', raw);
      const target = await tenantOf(args.tenant);
      return { bots: (await bots.bots.list(target)).map(botJson), tenant: target.slug };
    },
    async 'bot.delete'(raw, context) {
      const args = parseArgs('bot.delete', raw);
      const target = await tenantOf(args.tenant);
      const what = `bot "${args.slug}"`;
      const bot = await naming(bots.bots.get(target, args.slug), what, target);
      const detached = await naming(removeBot({ tenancy, bots }, target, context, args.slug), what, target);
      return { bot: botJson(bot), tenant: target.slug, deleted: true, detached: detachedJson(detached) };
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
