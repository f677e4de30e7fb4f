import { describe, expect, it } from 'vitest';
import { escapeHtml, renderConsentPage, renderConsentsPage, renderNotMemberPage } from '../../src/gateway/oauth/pages.ts';

const view = {
  clientName: '<script>alert(1)</script>',
  clientId: 'https://evil.example/"client.json',
  clientKind: 'metadata-document' as const,
  redirectHost: '127.0.0.1:5000',
  loopback: true,
  scopes: ['mcp', 'offline_access'],
  resource: 'https://gw.example/t/acme/mcp/bots/helper',
  resourceLabel: 'the bot helper of tenant acme',
  userEmail: 'a&b@example.com',
  tenants: [{ id: 't-1', slug: 'acme', name: 'Acme "Inc"' }],
  formAction: '/oauth/interaction/abc',
  csrfToken: 'tok"en',
  approvedBefore: false,
};

describe('authorization server pages', () => {
  it('escapes everything a client or request supplies', () => {
    const page = renderConsentPage(view);
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('value="tok&quot;en"');
    expect(page).toContain('https://evil.example/&quot;client.json');
    expect(page).toContain('a&amp;b@example.com');
    expect(escapeHtml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  });

  it('says who asks, where the answer goes, what for and in which tenant, with labelled controls', () => {
    const page = renderConsentPage(view);
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('an app on this computer (127.0.0.1:5000)');
    expect(page).toContain('the bot helper of tenant acme');
    expect(page).toContain('<code>mcp</code>');
    expect(page).toContain('<code>offline_access</code>');
    expect(page).toContain('<legend>Tenant</legend>');
    expect(page).toMatch(/<input type="radio" id="tenant-0" name="tenant" value="t-1" required checked> <label for="tenant-0">/);
    expect(page).toContain('name="decision" value="approve"');
    expect(page).toContain('name="decision" value="deny"');
    expect(page).toContain('identified by its metadata document');
  });

  it('offers a refused person only the way back, and lists connected clients with withdraw buttons', () => {
    const refused = renderNotMemberPage({ userEmail: 'x@example.com', tenantSlug: 'other', formAction: '/oauth/interaction/abc', csrfToken: 't' });
    expect(refused).toContain('not a member of the tenant <code>other</code>');
    expect(refused).not.toContain('value="approve"');
    const list = renderConsentsPage({
      userEmail: 'x@example.com',
      csrfToken: 't',
      consents: [{ id: 'c-1', clientName: 'Claude', clientId: 'cid', resource: 'https://gw/t/a/mcp', tenant: 'a', scopes: ['mcp'], updatedAt: new Date('2026-01-02T00:00:00Z') }],
    });
    expect(list).toContain('action="/oauth/consents/c-1/revoke"');
    expect(list).toContain('aria-label="Withdraw the approval of Claude for https://gw/t/a/mcp"');
    expect(renderConsentsPage({ userEmail: 'x', csrfToken: 't', consents: [] })).toContain('No client is connected.');
  });
});
