import { describe, expect, it } from 'vitest';
import { visibleActors } from '../../src/gateway/visibility.ts';
import type { Principal } from '../../src/tenancy/index.ts';

const tenant: Principal['tenant'] = { id: 't1', slug: 'acme', name: 'Acme', createdAt: new Date() };
const key = (overrides: Partial<Principal>): Principal => ({
  tenant,
  actor: { type: 'api_key', id: 'k1' },
  keyId: 'k1',
  userId: null,
  role: 'owner',
  scopes: ['mcp', 'admin'],
  tools: null,
  ...overrides,
});

describe('visibleActors: whose conversations and usage a principal sees', () => {
  it('gives an unrestricted key that reads the whole tenant', () => {
    expect(visibleActors(key({}))).toBeUndefined();
    expect(visibleActors(key({ scopes: ['mcp', 'read'] }))).toBeUndefined();
  });

  it('keeps a key restricted to some tools, or one that cannot read, to what it did itself', () => {
    // A conversation holds what other tools returned: a narrower key must not read other principals' ones.
    expect(visibleActors(key({ tools: ['bot__notes'] }))).toEqual([{ type: 'api_key', id: 'k1' }]);
    expect(visibleActors(key({ scopes: ['mcp'] }))).toEqual([{ type: 'api_key', id: 'k1' }]);
    expect(visibleActors(key({ scopes: ['mcp'], userId: 'u1' }))).toEqual([{ type: 'api_key', id: 'k1' }, { type: 'user', id: 'u1' }]);
  });

  it('keeps a member to its own, key or person', () => {
    expect(visibleActors(key({ role: 'member', userId: 'u1' }))).toEqual([{ type: 'api_key', id: 'k1' }, { type: 'user', id: 'u1' }]);
    expect(visibleActors({ ...key({ role: 'member', userId: 'u1' }), keyId: null, actor: { type: 'user', id: 'u1' } })).toEqual([{ type: 'user', id: 'u1' }]);
  });
});
