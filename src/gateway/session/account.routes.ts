import { Router } from 'express';
import type { SessionService } from '../../tenancy/index.ts';
import { CSRF_FIELD, loginUrl, readSession } from './cookies.ts';
import { html, sendPage } from './html.ts';

/**
 * `/`: where signing in and accepting an invitation land. It says who is
 * signed in, the tenants they belong to with each one's MCP address, and
 * offers the connected clients, changing the password and signing out. (The admin console comes later.)
 */
export function createAccountRoutes(deps: { sessions: SessionService; secureCookies: boolean; publicUrl: string | undefined }): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const session = await readSession(req, deps.sessions);
    if (!session) return res.redirect(303, loginUrl('/'));
    const base = deps.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    const memberships = await deps.sessions.memberships(session.user.id);
    const tenants = memberships.map(
      (m) => html`<li><strong>${m.tenant.name}</strong> (<code>${m.tenant.slug}</code>), ${m.role}<br>MCP: <code>${base}/t/${m.tenant.slug}/mcp</code></li>`,
    );
    const signOut = (action: string, label: string, style: string) =>
      html`<form method="post" action="${action}"><input type="hidden" name="${CSRF_FIELD}" value="${session.csrfToken}"><button type="submit" class="${style}">${label}</button></form>`;
    return sendPage(res, {
      status: 200,
      title: 'Your account',
      secure: deps.secureCookies,
      body: html`<h1>Your account</h1>
<p>Signed in as <strong>${session.user.email}</strong>.</p>
${memberships.length > 0 ? html`<h2>Your tenants</h2><ul>${tenants}</ul>` : html`<p>You are not a member of any tenant.</p>`}
<p><a href="/oauth/consents">Connected clients</a>: the MCP clients you approved, and withdrawing them.</p>
<p><a href="/account/password">Change your password</a>. A password someone else set for you (a tenant owner or the operator) is temporary: choose your own.</p>
${signOut('/logout', 'Sign out', '')}
${signOut('/logout/everywhere', 'Sign out everywhere', 'secondary')}`,
    });
  });
  return router;
}
