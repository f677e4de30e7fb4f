import { describe, expect, it } from 'vitest';
import { denialReason, type Permission } from '../../src/tenancy/permissions.ts';
import type { Principal, Role, Scope } from '../../src/tenancy/types.ts';

const PERMISSIONS: Permission[] = ['keys:read', 'keys:write', 'members:read', 'members:write', 'audit:read', 'bots:read', 'bots:write', 'conversations:read', 'tenant:delete'];

/**
 * What each role may do with an `admin` key: the whole table, written out rather than derived.
 * An owner's `admin` key may not add members: they would get the `mcp` scope it lacks (see below).
 */
const ALLOWED_WITH_ADMIN_SCOPE: Record<Role, Permission[]> = {
  owner: ['keys:read', 'keys:write', 'members:read', 'audit:read', 'bots:read', 'bots:write', 'conversations:read', 'tenant:delete'],
  admin: ['keys:read', 'keys:write', 'members:read', 'audit:read', 'bots:read', 'bots:write', 'conversations:read'],
  member: ['bots:read', 'conversations:read'],
  auditor: ['members:read', 'audit:read', 'bots:read'],
};

/** With a `read` key, only the read half of the above. */
const ALLOWED_WITH_READ_SCOPE: Record<Role, Permission[]> = {
  owner: ['keys:read', 'members:read', 'audit:read', 'bots:read', 'conversations:read'],
  admin: ['keys:read', 'members:read', 'audit:read', 'bots:read', 'conversations:read'],
  member: ['bots:read', 'conversations:read'],
  auditor: ['members:read', 'audit:read', 'bots:read'],
};

function principal(role: Role, scopes: Scope[]): Principal {
  return {
    tenant: { id: '00000000-0000-4000-8000-000000000001', slug: 'acme', name: 'Acme', createdAt: new Date(0) },
    actor: { type: 'api_key', id: '00000000-0000-4000-8000-000000000002' },
    keyId: '00000000-0000-4000-8000-000000000002',
    userId: null,
    role,
    scopes,
    tools: null,
  };
}

const ROLES: Role[] = ['owner', 'admin', 'member', 'auditor'];

const cases = ROLES.flatMap((role) =>
  PERMISSIONS.flatMap((permission) => [
    { role, scope: 'admin' as const, permission, allowed: ALLOWED_WITH_ADMIN_SCOPE[role].includes(permission) },
    { role, scope: 'read' as const, permission, allowed: ALLOWED_WITH_READ_SCOPE[role].includes(permission) },
    { role, scope: 'mcp' as const, permission, allowed: false },
  ]),
);

describe('denialReason', () => {
  it.each(cases.filter((c) => c.allowed))('allows $role with scope $scope to $permission', ({ role, scope, permission }) => {
    expect(denialReason(principal(role, [scope]), permission)).toBeUndefined();
  });

  it.each(cases.filter((c) => !c.allowed))('denies $role with scope $scope $permission', ({ role, scope, permission }) => {
    expect(denialReason(principal(role, [scope]), permission)).toEqual(expect.any(String));
  });

  it('covers every role, scope and permission in the matrix', () => {
    expect(cases).toHaveLength(4 * 3 * 9);
    expect(cases.filter((c) => c.allowed)).toHaveLength(20 + 15);
  });

  it('blames the missing scope first, naming what would be needed', () => {
    expect(denialReason(principal('owner', ['mcp']), 'keys:write')).toBe(
      'this key lacks the "admin" scope needed for keys:write',
    );
    expect(denialReason(principal('owner', ['mcp']), 'audit:read')).toBe(
      'this key lacks the "read" or "admin" scope needed for audit:read',
    );
    expect(denialReason(principal('member', ['read']), 'members:write')).toMatch(/"admin" scope/);
  });

  it('keeps a key from widening what it reaches: people only with every scope, servers and bots only unrestricted', () => {
    const key = (scopes: Scope[], tools: string[] | null = null): Principal => ({ ...principal('owner', scopes), tools });
    const person: Principal = { ...principal('owner', ['admin']), keyId: null, actor: { type: 'user', id: '00000000-0000-4000-8000-000000000003' } };
    expect(denialReason(key(['mcp', 'admin']), 'members:write')).toBeUndefined();
    expect(denialReason(person, 'members:write')).toBeUndefined();
    expect(denialReason(key(['admin']), 'members:write')).toBe(
      'members:write needs a key with both the "mcp" and "admin" scopes, as the people it adds get every scope of their role',
    );
    expect(denialReason(key(['admin']), 'invitations:write')).toMatch(/needs a key with both/);
    for (const permission of ['servers:write', 'bots:write', 'members:write', 'invitations:write'] as const) {
      expect(denialReason(key(['mcp', 'admin'], ['files']), permission)).toBe(
        `this key is restricted to some tools, so it may not use ${permission}: that could widen what it reaches`,
      );
    }
    expect(denialReason(key(['mcp', 'admin'], ['files']), 'keys:write')).toBeUndefined();
    expect(denialReason(key(['mcp', 'admin'], ['files']), 'servers:read')).toBeUndefined();
  });

  it('blames the role when the scope would be enough', () => {
    expect(denialReason(principal('admin', ['admin']), 'members:write')).toBe(
      'the role "admin" does not allow members:write',
    );
    expect(denialReason(principal('member', ['admin']), 'keys:read')).toBe('the role "member" does not allow keys:read');
    expect(denialReason(principal('auditor', ['admin']), 'bots:write')).toBe('the role "auditor" does not allow bots:write');
    expect(denialReason(principal('admin', ['admin']), 'tenant:delete')).toBe('the role "admin" does not allow tenant:delete');
  });

  it('grants the union of several scopes', () => {
    expect(denialReason(principal('owner', ['mcp', 'read']), 'audit:read')).toBeUndefined();
    expect(denialReason(principal('owner', ['mcp', 'read']), 'keys:write')).toMatch(/"admin" scope/);
    expect(denialReason(principal('owner', ['read', 'admin']), 'keys:write')).toBeUndefined();
  });

  it('denies everything to a principal without scopes', () => {
    for (const permission of PERMISSIONS) {
      expect(denialReason(principal('owner', []), permission)).toEqual(expect.any(String));
    }
  });
});
