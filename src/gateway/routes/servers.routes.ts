import { Router } from 'express';
import * as z from 'zod';
import type { ServersModule } from '../../servers/index.ts';
import { requirePermission } from '../auth.ts';
import { contextOf, param, parseInput, principalOf } from '../http.ts';
import { serverJson } from '../serialize.ts';

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

/** The tenant's tool sources: built-in kinds and upstreams. */
export function createServerRoutes({ servers }: { servers: ServersModule }): Router {
  const router = Router();

  router.get('/servers', requirePermission('servers:read'), async (_req, res) => {
    const list = await servers.servers.list(principalOf(res).tenant);
    res.json({ servers: list.map(serverJson) });
  });

  router.get('/servers/:slug', requirePermission('servers:read'), async (req, res) => {
    res.json({ server: serverJson(await servers.servers.get(principalOf(res).tenant, param(req, 'slug'))) });
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
    await servers.servers.remove(principalOf(res).tenant, contextOf(req, res), param(req, 'slug'));
    res.status(204).end();
  });

  return router;
}
