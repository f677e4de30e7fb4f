import { Router } from 'express';
import * as z from 'zod';
import { emailSchema, passwordSchema, roleSchema, type TenancyModule } from '../../tenancy/index.ts';
import { requireLastingKey, requirePermission } from '../auth.ts';
import { contextOf, param, parseInput, principalOf } from '../http.ts';
import { memberJson } from '../serialize.ts';

const addMemberBody = z.strictObject({ email: emailSchema, role: roleSchema, password: passwordSchema.optional() });
const changeRoleBody = z.strictObject({ role: roleSchema });

/** Members of the caller's tenant. */
export function createMemberRoutes({ tenancy }: { tenancy: TenancyModule }): Router {
  const router = Router();

  router.get('/members', requirePermission('members:read'), async (_req, res) => {
    const members = await tenancy.members.list(principalOf(res).tenant.id);
    res.json({ members: members.map(memberJson) });
  });

  const lasting = requireLastingKey(tenancy, 'add members or change their roles');

  router.post('/members', requirePermission('members:write'), lasting, async (req, res) => {
    const body = parseInput(addMemberBody, req.body, 'body');
    const added = await tenancy.members.add(principalOf(res).tenant.id, contextOf(req, res), body);
    res.status(201).json({ member: memberJson(added.member), created_user: added.createdUser });
  });

  router.patch('/members/:userId', requirePermission('members:write'), lasting, async (req, res) => {
    const body = parseInput(changeRoleBody, req.body, 'body');
    const member = await tenancy.members.changeRole(
      principalOf(res).tenant.id,
      contextOf(req, res),
      param(req, 'userId'),
      body.role,
    );
    res.json({ member: memberJson(member) });
  });

  router.delete('/members/:userId', requirePermission('members:write'), async (req, res) => {
    await tenancy.members.remove(principalOf(res).tenant.id, contextOf(req, res), param(req, 'userId'));
    res.status(204).end();
  });

  return router;
}
