import { describe, expect, it } from 'vitest';
import { loginUrl, safeReturnTo } from '../../src/gateway/session/cookies.ts';
import { escapeHtml, html } from '../../src/gateway/session/html.ts';
import { denialReason, mayInvite } from '../../src/tenancy/permissions.ts';
import type { Principal, Role, Scope } from '../../src/tenancy/types.ts';

describe('safeReturnTo', () => {
  it.each([
    ['/', '/'],
    ['/oauth/authorize?client_id=x&state=y', '/oauth/authorize?client_id=x&state=y'],
    ['/invite/bgi_abc#top', '/invite/bgi_abc#top'],
    ['/a/../b', '/b'],
  ])('keeps the same-origin path %s', (value, expected) => {
    expect(safeReturnTo(value)).toBe(expected);
  });

  it.each(['//evil.example', '///evil.example', 'https://evil.example', 'http:/evil.example', '/\\evil.example', '\\\\evil.example',
    'javascript:alert(1)', 'evil.example', '', '/\tevil', `/${'x'.repeat(3000)}`, '/.//evil.example', '/..//evil.example', '/x/..//evil.example/p',
    undefined, ['/a'], 42])(
    'sends %s to /',
    (value) => {
      expect(safeReturnTo(value)).toBe('/');
    },
  );

  it('builds sign-in links that come back', () => {
    expect(loginUrl('/oauth/authorize?a=1&b=2')).toBe('/login?return_to=%2Foauth%2Fauthorize%3Fa%3D1%26b%3D2');
  });
});

describe('html', () => {
  it('escapes every interpolated string, attribute quotes included, and keeps nested fragments', () => {
    const evil = `"><script>alert('x')</script>&`;
    expect(escapeHtml(evil)).toBe('&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;');
    expect(html`<input value="${evil}">${html`<b>${evil}</b>`}${false}${undefined}`.text).toBe(
      `<input value="${escapeHtml(evil)}"><b>${escapeHtml(evil)}</b>`,
    );
  });
});

function principal(role: Role, scopes: Scope[]): Principal {
  return {
    tenant: { id: '00000000-0000-4000-8000-000000000001', slug: 'acme', name: 'Acme', createdAt: new Date(0) },
    actor: { type: 'user', id: '00000000-0000-4000-8000-000000000003' },
    keyId: null,
    userId: '00000000-0000-4000-8000-000000000003',
    role,
    scopes,
    tools: null,
  };
}

describe('roles for people', () => {
  const everything: Scope[] = ['admin', 'read', 'mcp'];

  it('lets owners invite anyone, admins anyone but owners, and nobody else invite at all', () => {
    const table = (['owner', 'admin', 'member', 'auditor'] as const).map((inviter) =>
      (['owner', 'admin', 'member', 'auditor'] as const).filter((role) => mayInvite(inviter, role)),
    );
    expect(table).toEqual([['owner', 'admin', 'member', 'auditor'], ['admin', 'member', 'auditor'], [], []]);
    expect(denialReason(principal('admin', everything), 'invitations:write')).toBeUndefined();
    expect(denialReason(principal('member', everything), 'invitations:read')).toBe('the role "member" does not allow invitations:read');
  });

  it('lets owners, admins and members use tools with the mcp scope, never auditors', () => {
    for (const role of ['owner', 'admin', 'member'] as const) expect(denialReason(principal(role, everything), 'tools:use')).toBeUndefined();
    expect(denialReason(principal('auditor', everything), 'tools:use')).toBe('the role "auditor" does not allow tools:use');
    expect(denialReason(principal('owner', ['admin', 'read']), 'tools:use')).toBe('this key lacks the "mcp" scope needed for tools:use');
  });

  it('keeps a signed-in member to what the member role allows, whatever the session scopes', () => {
    const member = principal('member', everything);
    expect(['servers:write', 'bots:write', 'keys:read', 'members:write', 'audit:read'].map((p) => denialReason(member, p as never))).toEqual(
      Array(5).fill(expect.stringContaining('the role "member"')),
    );
    const auditor = principal('auditor', everything);
    expect(denialReason(auditor, 'audit:read')).toBeUndefined();
    expect(denialReason(auditor, 'usage:read')).toBeUndefined();
    expect(denialReason(auditor, 'bots:write')).toBe('the role "auditor" does not allow bots:write');
  });
});
