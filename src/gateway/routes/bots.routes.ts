import { Router, type Response } from 'express';
import * as z from 'zod';
import type { BotsModule, UpdateBotInput } from '../../bots/index.ts';
import { mayUseTool, type TenancyModule } from '../../tenancy/index.ts';
import { RESERVED_SERVER_SLUG } from '../../servers/index.ts';
import { notFound } from '../../shared/errors.ts';
import { requirePermission } from '../auth.ts';
import { contextOf, param, parseInput, principalOf } from '../http.ts';
import { removeBot } from '../removals.ts';
import { botJson } from '../serialize.ts';

// Shapes only; the service validates each value and names the field it refuses.
const fields = {
  name: z.unknown().optional(),
  description: z.unknown().optional(),
  model: z.unknown().optional(),
  system_prompt: z.unknown().optional(),
  temperature: z.unknown().optional(),
  max_tokens: z.unknown().optional(),
  thinking_budget: z.unknown().optional(),
  servers: z.unknown().optional(),
  bots: z.unknown().optional(),
  anthropic_api_key: z.unknown().optional(),
};

const createBotBody = z.strictObject({ slug: z.unknown().optional(), ...fields });

const updateBotBody = z
  .strictObject(fields)
  .refine((body) => Object.values(body).some((value) => value !== undefined), 'give at least one field to change');

/** The service's input from a snake_case body. */
function toInput(body: z.output<typeof updateBotBody>): UpdateBotInput {
  return {
    name: body.name,
    description: body.description,
    model: body.model,
    systemPrompt: body.system_prompt,
    temperature: body.temperature,
    maxTokens: body.max_tokens,
    thinkingBudget: body.thinking_budget,
    servers: body.servers,
    bots: body.bots,
    anthropicApiKey: body.anthropic_api_key,
  };
}

/** The tenant's bots, as configuration; a deleted one is taken out of bots and keys naming it. */
export function createBotRoutes({ tenancy, bots }: { tenancy: TenancyModule; bots: BotsModule }): Router {
  const router = Router();

  // A bot a key restricted to some tools may not use (`bot__{slug}`) is not found, as on MCP.
  const mayUse = (res: Response, slug: string) => mayUseTool(principalOf(res).tools, RESERVED_SERVER_SLUG, slug);

  router.get('/bots', requirePermission('bots:read'), async (_req, res) => {
    const list = await bots.bots.list(principalOf(res).tenant);
    res.json({ bots: list.filter((bot) => mayUse(res, bot.slug)).map(botJson) });
  });

  router.get('/bots/:slug', requirePermission('bots:read'), async (req, res) => {
    const slug = param(req, 'slug');
    if (!mayUse(res, slug)) throw notFound('bot');
    res.json({ bot: botJson(await bots.bots.get(principalOf(res).tenant, slug)) });
  });

  router.post('/bots', requirePermission('bots:write'), async (req, res) => {
    const body = parseInput(createBotBody, req.body, 'body');
    const bot = await bots.bots.create(principalOf(res).tenant, contextOf(req, res), { slug: body.slug, ...toInput(body) });
    res.status(201).json({ bot: botJson(bot) });
  });

  router.patch('/bots/:slug', requirePermission('bots:write'), async (req, res) => {
    const body = parseInput(updateBotBody, req.body, 'body');
    const bot = await bots.bots.update(principalOf(res).tenant, contextOf(req, res), param(req, 'slug'), toInput(body));
    res.json({ bot: botJson(bot) });
  });

  router.delete('/bots/:slug', requirePermission('bots:write'), async (req, res) => {
    await removeBot({ tenancy, bots }, principalOf(res).tenant, contextOf(req, res), param(req, 'slug'));
    res.status(204).end();
  });

  return router;
}
