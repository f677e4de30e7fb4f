import type { Actor, Principal } from '../tenancy/index.ts';

/**
 * Whose records (usage, conversations) a principal may see: a member sees
 * what its own key and user did; other roles see the whole tenant (undefined).
 */
export function visibleActors(principal: Principal): Actor[] | undefined {
  if (principal.role !== 'member') return undefined;
  const own: Actor[] = [principal.actor];
  if (principal.userId && principal.actor.type !== 'user') own.push({ type: 'user', id: principal.userId });
  return own;
}
