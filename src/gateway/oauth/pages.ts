/**
 * The authorization server's pages: plain server-rendered HTML, no script,
 * labelled controls. Every value from a client or a request is escaped.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** The pages' one stylesheet, inline; allowed by its hash. */
export const PAGE_STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
h1{font-size:1.5rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
fieldset{border:1px solid #999;padding:.5rem 1rem;margin:1rem 0}button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.75rem}
.warning{border-left:4px solid #b35900;padding-left:.75rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #ccc;vertical-align:top}
code{overflow-wrap:anywhere}`;

/** A complete page around `body` (already HTML). */
export function renderPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · Botgate</title><style>${PAGE_STYLE}</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
${body}
</main></body>
</html>`;
}

/** A page that says what went wrong, and nothing a client could use. */
export function renderMessagePage(title: string, message: string, extra = ''): string {
  return renderPage(title, `<p>${escapeHtml(message)}</p>${extra}`);
}

const SCOPE_TEXT: Record<string, string> = {
  mcp: 'Use the tools and bots you may use at this endpoint, as you.',
  'mcp:read': 'Use only the tools marked read-only at this endpoint, as you.',
  offline_access: 'Stay connected without asking you again (refresh tokens).',
};

/** How the consent page describes the client and what it asks for. */
export interface ConsentView {
  clientName: string;
  clientId: string;
  /** How the client is identified: registered by the operator, a metadata document, or self-registered. */
  clientKind: 'pre-registered' | 'metadata-document' | 'self-registered';
  /** Where the code goes: a host name, or "this computer" for loopback redirects. */
  redirectHost: string;
  loopback: boolean;
  scopes: string[];
  resource: string;
  /** What the resource is, e.g. "the bot helper of tenant acme". */
  resourceLabel: string;
  userEmail: string;
  /** Tenants the token may be for: the person's membership of the resource's tenant (one at most). */
  tenants: Array<{ id: string; slug: string; name: string }>;
  formAction: string;
  csrfToken: string;
  /** The person approved this client for this resource before (native clients are asked every time). */
  approvedBefore: boolean;
}

function clientIdentity(view: ConsentView): string {
  switch (view.clientKind) {
    case 'pre-registered':
      return 'This client was registered by your Botgate operator.';
    case 'metadata-document':
      return `This client is identified by its metadata document at ${view.clientId}.`;
    default:
      return 'This client registered itself with Botgate: its name is what it says it is, not something Botgate has checked.';
  }
}

/** The consent page: who asks, where the answer goes, what for, in which tenant; approve or deny. */
export function renderConsentPage(view: ConsentView): string {
  const destination = view.loopback ? `an app on this computer (${view.redirectHost})` : view.redirectHost;
  const scopes = view.scopes.length > 0 ? view.scopes : ['mcp'];
  const tenantChoices = view.tenants
    .map(
      (t, i) =>
        `<div><input type="radio" id="tenant-${i}" name="tenant" value="${escapeHtml(t.id)}" required${i === 0 ? ' checked' : ''}>` +
        ` <label for="tenant-${i}">${escapeHtml(t.name)} (<code>${escapeHtml(t.slug)}</code>)</label></div>`,
    )
    .join('\n');
  const body = `<p>Signed in as <strong>${escapeHtml(view.userEmail)}</strong>.</p>
<p><strong>${escapeHtml(view.clientName)}</strong> asks to connect to Botgate as you.</p>
<dl>
<dt>Client</dt><dd>${escapeHtml(view.clientName)} <small>(<code>${escapeHtml(view.clientId)}</code>)</small></dd>
<dt>Sends you back to</dt><dd>${escapeHtml(destination)}</dd>
<dt>Endpoint</dt><dd>${escapeHtml(view.resourceLabel)}<br><code>${escapeHtml(view.resource)}</code></dd>
</dl>
<p class="warning">${escapeHtml(clientIdentity(view))}</p>
${view.approvedBefore ? '<p>You approved this client for this endpoint before; apps on your computer are asked every time.</p>' : ''}
<form method="post" action="${escapeHtml(view.formAction)}">
<input type="hidden" name="csrf_token" value="${escapeHtml(view.csrfToken)}">
<fieldset><legend>It asks to</legend><ul>
${scopes.map((s) => `<li><code>${escapeHtml(s)}</code>: ${escapeHtml(SCOPE_TEXT[s] ?? 'an access the gateway does not describe')}</li>`).join('\n')}
</ul></fieldset>
<fieldset><legend>Tenant</legend>
${tenantChoices}
</fieldset>
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p><small>You can withdraw an approval at any time on <a href="/oauth/consents">your connected clients</a>.</small></p>`;
  return renderPage(`Allow ${view.clientName} to use Botgate?`, body);
}

/** The refusal when the person is not a member of the resource's tenant; they may still tell the client no. */
export function renderNotMemberPage(options: { userEmail: string; tenantSlug: string; formAction: string; csrfToken: string }): string {
  const body = `<p>You are signed in as <strong>${escapeHtml(options.userEmail)}</strong>, who is not a member of the tenant <code>${escapeHtml(options.tenantSlug)}</code> (or it does not exist).</p>
<p>A client can only be connected to a tenant you belong to. Ask an admin of that tenant for an invitation, or sign in as another person.</p>
<form method="post" action="${escapeHtml(options.formAction)}">
<input type="hidden" name="csrf_token" value="${escapeHtml(options.csrfToken)}">
<button type="submit" name="decision" value="deny">Return to the app</button>
</form>`;
  return renderPage('You cannot connect this client', body);
}

/** One remembered approval, as the person's list shows it. */
export interface ConsentRow {
  id: string;
  clientName: string;
  clientId: string;
  resource: string;
  tenant: string;
  scopes: string[];
  updatedAt: Date;
}

/** The person's connected clients, each with a button that withdraws the approval and its tokens. */
export function renderConsentsPage(options: { userEmail: string; consents: ConsentRow[]; csrfToken: string }): string {
  const rows = options.consents
    .map(
      (c) => `<tr><td>${escapeHtml(c.clientName)}<br><small><code>${escapeHtml(c.clientId)}</code></small></td>
<td><code>${escapeHtml(c.resource)}</code><br><small>tenant ${escapeHtml(c.tenant)}</small></td>
<td>${c.scopes.map((s) => `<code>${escapeHtml(s)}</code>`).join(' ')}</td>
<td>${escapeHtml(c.updatedAt.toISOString().slice(0, 10))}</td>
<td><form method="post" action="/oauth/consents/${escapeHtml(c.id)}/revoke"><input type="hidden" name="csrf_token" value="${escapeHtml(options.csrfToken)}">
<button type="submit" aria-label="Withdraw the approval of ${escapeHtml(c.clientName)} for ${escapeHtml(c.resource)}">Withdraw</button></form></td></tr>`,
    )
    .join('\n');
  const table =
    options.consents.length === 0
      ? '<p>No client is connected.</p>'
      : `<table><thead><tr><th scope="col">Client</th><th scope="col">Endpoint</th><th scope="col">Access</th><th scope="col">Approved</th><th scope="col">Action</th></tr></thead><tbody>
${rows}
</tbody></table>`;
  return renderPage('Connected clients', `<p>Signed in as <strong>${escapeHtml(options.userEmail)}</strong>. Withdrawing an approval ends the client's access at once.</p>\n${table}`);
}
