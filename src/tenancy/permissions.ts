import type { Principal, Role, Scope } from './types.ts';

/** Everything the REST API guards. */
export type Permission =
  | 'keys:read'
  | 'keys:write'
  | 'members:read'
  | 'members:write'
  | 'audit:read'
  | 'servers:read'
  | 'servers:write'
  | 'bots:read'
  | 'bots:write'
  /** Invite people: an admin may invite any role but owner (see `mayInvite`). */
  | 'invitations:read'
  | 'invitations:write'
  /** Use tools and bots (MCP, chat); needs the `mcp` scope rather than `admin` or `read`. */
  | 'tools:use'
  /** A member reads only the usage of its own key and user; see the usage route. */
  | 'usage:read'
  /** A member reads only the conversations its own key or user started; see the conversations route. */
  | 'conversations:read'
  /** Delete the whole tenant and everything in it: owners only. */
  | 'tenant:delete';

const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  owner: [
    'keys:read',
    'keys:write',
    'members:read',
    'members:write',
    'audit:read',
    'servers:read',
    'servers:write',
    'bots:read',
    'bots:write',
    'invitations:read',
    'invitations:write',
    'tools:use',
    'usage:read',
    'conversations:read',
    'tenant:delete',
  ],
  admin: [
    'keys:read',
    'keys:write',
    'members:read',
    'audit:read',
    'servers:read',
    'servers:write',
    'bots:read',
    'bots:write',
    'invitations:read',
    'invitations:write',
    'tools:use',
    'usage:read',
    'conversations:read',
  ],
  member: ['servers:read', 'bots:read', 'tools:use', 'usage:read', 'conversations:read'],
  // Reads the trail and what it refers to (members, bots); uses and changes nothing.
  auditor: ['members:read', 'audit:read', 'bots:read', 'usage:read'],
};

function scopeAllows(scopes: readonly Scope[], permission: Permission): boolean {
  if (permission === 'tools:use') return scopes.includes('mcp');
  if (scopes.includes('admin')) return true;
  return scopes.includes('read') && permission.endsWith(':read');
}

/** Whether the role of the principal is enough; the scope is checked separately. */
export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/**
 * What a key restricted to some tools may not do: each could widen what it
 * reaches (a filesystem server's roots, a bot's attachments, a new person).
 */
const WIDENING: ReadonlySet<Permission> = new Set(['servers:write', 'bots:write', 'members:write', 'invitations:write']);

/** Why a key is too narrow for a permission that gives more than it has; undefined for a person, or a key broad enough. */
function narrowKeyDenial(principal: Principal, permission: Permission): string | undefined {
  if (principal.keyId === null) return undefined;
  if (principal.tools !== null && WIDENING.has(permission)) {
    return `this key is restricted to some tools, so it may not use ${permission}: that could widen what it reaches`;
  }
  // A person added or invited gets every scope of the role: only a key holding them may do it.
  if ((permission === 'members:write' || permission === 'invitations:write') && !(principal.scopes.includes('mcp') && principal.scopes.includes('admin'))) {
    return `${permission} needs a key with both the "mcp" and "admin" scopes, as the people it adds get every scope of their role`;
  }
  return undefined;
}

/** Why a principal may not do something, or undefined when it may. */
export function denialReason(principal: Principal, permission: Permission): string | undefined {
  if (!scopeAllows(principal.scopes, permission)) {
    const needed = permission === 'tools:use' ? '"mcp"' : permission.endsWith(':read') ? '"read" or "admin"' : '"admin"';
    return `this key lacks the ${needed} scope needed for ${permission}`;
  }
  if (!roleAllows(principal.role, permission)) {
    return `the role "${principal.role}" does not allow ${permission}`;
  }
  return narrowKeyDenial(principal, permission);
}

/** Whether someone of role `inviter` may invite a person as `role`: only an owner makes owners. */
export function mayInvite(inviter: Role, role: Role): boolean {
  return roleAllows(inviter, 'invitations:write') && (role !== 'owner' || inviter === 'owner');
}
