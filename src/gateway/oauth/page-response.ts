import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { PAGE_STYLE, escapeHtml, renderPage } from './pages.ts';

const STYLE_HASH = createHash('sha256').update(PAGE_STYLE).digest('base64');

/**
 * The policy of the authorization server's pages: no script, the one inline
 * style, no framing. Forms post here, and a form's redirects may end at the
 * client's redirect URI (browsers apply form-action to them), so that origin
 * is allowed where a page sends the person back to a client.
 */
function contentSecurityPolicy(formTargets: readonly string[]): string {
  return [
    "default-src 'none'",
    `style-src 'sha256-${STYLE_HASH}'`,
    `form-action 'self'${formTargets.map((origin) => ` ${origin}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** Sends one of the authorization server's pages; never cached (forms carry CSRF tokens). */
export function sendOAuthPage(res: Response, status: number, html: string, formTargets: readonly string[] = []): void {
  res
    .status(status)
    .set({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': contentSecurityPolicy(formTargets) })
    .send(html);
}

/**
 * Continues a flow with a fresh navigation rather than a redirect: after the
 * sign-in form (whose policy allows posting only to this gateway) a redirect
 * chain ending at the client would be blocked by the browser.
 */
export function sendContinuePage(res: Response, to: string): void {
  const body = `<p>Signed in. <a href="${escapeHtml(to)}">Continue</a></p>`;
  const page = renderPage('Continuing', body).replace('<head>', `<head><meta http-equiv="refresh" content="0;url=${escapeHtml(to)}">`);
  sendOAuthPage(res, 200, page);
}
