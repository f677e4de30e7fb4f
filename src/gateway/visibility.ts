import type { Actor, Principal } from '../tenancy/index.ts';

/**
 * Whose records (usage, conversations, the audit trail) a principal may see: a member sees
 * what its own key and user did, and so does a key restricted to some tools
 * or without a scope that reads (a conversation holds what other tools
 * returned); others see the whole tenant (undefined).
 */
export function visibleActors(principal: Principal): Actor[] | undefined {
  const narrowKey = principal.keyId !== null && (principal.tools !== null || !principal.scopes.some((scope) => scope === 'read' || scope === 'admin'));
  if (principal.role !== 'member' && !narrowKey) return undefined;
  const own: Actor[] = [principal.actor];
  if (principal.userId && principal.actor.type !== 'user') own.push({ type: 'user', id: principal.userId });
  return own;
}
