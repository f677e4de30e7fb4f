import { Router } from 'express';
import * as z from 'zod';
import { AppError } from '../../shared/errors.ts';
import type { BotsModule } from '../../bots/index.ts';
import type { ServersModule } from '../../servers/index.ts';
import {
  DEFAULT_ROTATION_GRACE_MS,
  durationSchema,
  nameSchema,
  scopesSchema,
  toolRestrictionsSchema,
  toolsBeyond,
  type Principal,
  type Scope,
  type TenancyModule,
} from '../../tenancy/index.ts';
import { actingKeyExpiry, requirePermission } from '../auth.ts';
import { contextOf, param, parseInput, principalOf } from '../http.ts';
import { toolSourcesCheck } from '../key-tools.ts';
import { issuedKeyJson, keyJson } from '../serialize.ts';

const createKeyBody = z.strictObject({
  name: nameSchema,
  scopes: scopesSchema,
  tools: toolRestrictionsSchema.optional(),
  expires_in: durationSchema.optional(),
  user_id: z.uuid().optional(),
});

const rotateKeyBody = z.strictObject({ grace_period: durationSchema.optional() }).optional();

/** A key may grant its own scopes, and `read` when it holds `admin`, which already reads everything. */
function canGrant(held: readonly Scope[], wanted: Scope): boolean {
  return held.includes(wanted) || (wanted === 'read' && held.includes('admin'));
}

/**
 * Refuses to hand the caller a secret stronger than its own key: scopes it lacks, or
 * (for a member's key) another identity; `userId` undefined means "the caller's own".
 */
function assertMayIssue(
  principal: Principal,
  scopes: readonly Scope[],
  tools: readonly string[] | null,
  userId: string | null | undefined,
): void {
  const beyond = scopes.filter((scope) => !canGrant(principal.scopes, scope));
  if (beyond.length > 0) {
    throw new AppError('forbidden', `a key cannot grant scopes it does not have: ${beyond.join(', ')}`);
  }
  const toolsOutside = toolsBeyond(principal.tools, tools);
  if (toolsOutside.length > 0) {
    throw new AppError('forbidden', `a key cannot grant tools it may not use: ${toolsOutside.join(', ')}`);
  }
  if (principal.userId !== null && userId !== undefined && userId !== principal.userId) {
    throw new AppError('forbidden', "a member's key can only issue keys for that member");
  }
}

/** Refuses a key (`expiresAt`, null: never) that would outlast the expiring key making it (`actingExpiry`). */
function assertOutlastsNot(actingExpiry: Date | null, expiresAt: Date | null): void {
  if (actingExpiry === null || (expiresAt !== null && expiresAt <= actingExpiry)) return;
  throw new AppError(
    'forbidden',
    `this key expires at ${actingExpiry.toISOString()}, and the keys it makes may not outlast it: give an expires_in ending no later`,
  );
}

/** API keys of the caller's tenant; a restriction to tools must name the tenant's servers and bots. */
export function createKeyRoutes({ tenancy, servers, bots }: { tenancy: TenancyModule; servers: ServersModule; bots: BotsModule }): Router {
  const router = Router();

  router.get('/keys', requirePermission('keys:read'), async (_req, res) => {
    const keys = await tenancy.apiKeys.list(principalOf(res).tenant.id);
    res.json({ keys: keys.map(keyJson) });
  });

  router.get('/keys/:id', requirePermission('keys:read'), async (req, res) => {
    const key = await tenancy.apiKeys.get(principalOf(res).tenant.id, param(req, 'id'));
    res.json({ key: keyJson(key) });
  });

  router.post('/keys', requirePermission('keys:write'), async (req, res) => {
    const principal = principalOf(res);
    const body = parseInput(createKeyBody, req.body, 'body');
    assertMayIssue(principal, body.scopes, body.tools ?? null, body.user_id);
    assertOutlastsNot(await actingKeyExpiry(tenancy, principal), body.expires_in === undefined ? null : new Date(Date.now() + body.expires_in));
    const key = await tenancy.apiKeys.create(
      principal.tenant.id,
      contextOf(req, res),
      {
        name: body.name,
        scopes: body.scopes,
        tools: body.tools ?? null,
        expiresInMs: body.expires_in,
        userId: principal.userId ?? body.user_id ?? null,
      },
      toolSourcesCheck(principal.tenant, { servers, bots }),
    );
    res.status(201).json({ key: issuedKeyJson(key) });
  });

  router.post('/keys/:id/rotate', requirePermission('keys:write'), async (req, res) => {
    const principal = principalOf(res);
    const body = parseInput(rotateKeyBody, req.body, 'body');
    // The successor's secret goes to the caller, so it must not outrank the caller's own key.
    const current = await tenancy.apiKeys.get(principal.tenant.id, param(req, 'id'));
    assertMayIssue(principal, current.scopes, current.tools, current.userId);
    assertOutlastsNot(await actingKeyExpiry(tenancy, principal), current.expiresAt);
    const { key, previous } = await tenancy.apiKeys.rotate(
      principal.tenant.id,
      contextOf(req, res),
      param(req, 'id'),
      body?.grace_period ?? DEFAULT_ROTATION_GRACE_MS,
    );
    res.status(201).json({ key: issuedKeyJson(key), previous: keyJson(previous) });
  });

  router.delete('/keys/:id', requirePermission('keys:write'), async (req, res) => {
    const key = await tenancy.apiKeys.revoke(principalOf(res).tenant.id, contextOf(req, res), param(req, 'id'));
    res.json({ key: keyJson(key) });
  });

  return router;
}
