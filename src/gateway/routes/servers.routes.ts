import { Router, type Request, type Response } from 'express';
import * as z from 'zod';
import type { BotsModule } from '../../bots/index.ts';
import type { ServersModule, ToolPinInfo } from '../../servers/index.ts';
import { mayUseServer, type TenancyModule } from '../../tenancy/index.ts';
import { notFound } from '../../shared/errors.ts';
import { requirePermission } from '../auth.ts';
import { contextOf, param, parseInput, principalOf } from '../http.ts';
import { removeServer } from '../removals.ts';
import { serverCheckJson, serverJson } from '../serialize.ts';

const createServerBody = z.strictObject({
  slug: z.string(),
  kind: z.string(),
  config: z.record(z.string(), z.unknown()).optional(),
  secrets: z.record(z.string(), z.unknown()).optional(),
});

const updateServerBody = z
  .strictObject({
    config: z.record(z.string(), z.unknown()).optional(),
    secrets: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((body) => body.config !== undefined || body.secrets !== undefined, 'give config, secrets or both');

const approveToolsBody = z
  .strictObject({ tools: z.array(z.string().min(1).max(256)).min(1).max(1000).optional() })
  .optional();

/** JSON of a pinned upstream tool, with the change awaiting approval when there is one. */
function toolPinJson(pin: ToolPinInfo) {
  return {
    name: pin.name,
    status: pin.status,
    sha256: pin.sha256,
    definition: pin.definition,
    pending: pin.pending,
    updated_at: pin.updatedAt.toISOString(),
  };
}

/**
 * The slug of the request's server; a server a key restricted to some tools may not use is not
 * found, as on MCP (a restricted key cannot write servers at all).
 */
function visibleSlug(req: Request, res: Response): string {
  const slug = param(req, 'slug');
  if (!mayUseServer(principalOf(res).tools, slug)) throw notFound('server');
  return slug;
}

/** The tenant's tool sources: built-in kinds and upstreams; a deleted one is taken out of bots and keys naming it. */
export function createServerRoutes({ tenancy, servers, bots }: { tenancy: TenancyModule; servers: ServersModule; bots: BotsModule }): Router {
  const router = Router();

  router.get('/servers', requirePermission('servers:read'), async (_req, res) => {
    const { tenant, tools } = principalOf(res);
    const list = await servers.servers.list(tenant);
    res.json({ servers: list.filter((server) => mayUseServer(tools, server.slug)).map(serverJson) });
  });

  router.get('/servers/:slug', requirePermission('servers:read'), async (req, res) => {
    res.json({ server: serverJson(await servers.servers.get(principalOf(res).tenant, visibleSlug(req, res))) });
  });

  router.post('/servers', requirePermission('servers:write'), async (req, res) => {
    const body = parseInput(createServerBody, req.body, 'body');
    const server = await servers.servers.create(principalOf(res).tenant, contextOf(req, res), body);
    res.status(201).json({ server: serverJson(server) });
  });

  router.patch('/servers/:slug', requirePermission('servers:write'), async (req, res) => {
    const body = parseInput(updateServerBody, req.body, 'body');
    const server = await servers.servers.update(principalOf(res).tenant, contextOf(req, res), param(req, 'slug'), body);
    res.json({ server: serverJson(server) });
  });

  router.delete('/servers/:slug', requirePermission('servers:write'), async (req, res) => {
    await removeServer({ tenancy, servers, bots }, principalOf(res).tenant, contextOf(req, res), param(req, 'slug'));
    res.status(204).end();
  });

  router.get('/servers/:slug/tools', requirePermission('servers:read'), async (req, res) => {
    const pins = await servers.pins.list(principalOf(res).tenant, visibleSlug(req, res));
    res.json({ tools: pins.map(toolPinJson) });
  });

  router.get('/servers/:slug/status', requirePermission('servers:read'), async (req, res) => {
    res.json({ status: serverCheckJson(await servers.check(principalOf(res).tenant, visibleSlug(req, res))) });
  });

  router.post('/servers/:slug/approve-tools', requirePermission('servers:write'), async (req, res) => {
    const body = parseInput(approveToolsBody, req.body, 'body');
    const approved = await servers.pins.approve(principalOf(res).tenant, contextOf(req, res), param(req, 'slug'), body?.tools);
    res.json({ approved });
  });

  return router;
}
