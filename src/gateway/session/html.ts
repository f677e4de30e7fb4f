import { createHash } from 'node:crypto';
import type { Response } from 'express';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A fragment of HTML that is already safe: built by `html` from escaped values. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Interpolated = string | number | SafeHtml | readonly SafeHtml[] | undefined | null | false;

/** Tagged template: every interpolated string is escaped; SafeHtml (and arrays of it) are kept. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    if (value instanceof SafeHtml) out += value.text;
    else if (Array.isArray(value)) out += value.map((v: SafeHtml) => v.text).join('');
    else if (value !== undefined && value !== null && value !== false) out += escapeHtml(String(value));
    out += strings[i + 1] ?? '';
  });
  return new SafeHtml(out);
}

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1b1f24; }
main { max-width: 26rem; margin: 4rem auto; padding: 2rem; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; }
h1 { font-size: 1.4rem; margin-top: 0; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input[type=email], input[type=password] { box-sizing: border-box; width: 100%; padding: .5rem; margin-top: .25rem; font: inherit; border: 1px solid #8c959f; border-radius: 4px; }
button { margin-top: 1.5rem; padding: .55rem 1.2rem; font: inherit; border: 0; border-radius: 4px; background: #1f6feb; color: #fff; cursor: pointer; }
button.secondary { background: #57606a; }
[role=alert] { padding: .75rem; border-radius: 4px; background: #ffebe9; border: 1px solid #cf222e; }
:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/**
 * Pages get their own policy, stricter than the API's: nothing loads but the one inline
 * style (by hash), no scripts at all, forms post only here, no framing.
 */
function contentSecurityPolicy(secure: boolean): string {
  const directives = [
    "default-src 'none'",
    `style-src 'sha256-${STYLE_HASH}'`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ];
  // On plain http (a laptop) upgrading would send the sign-in form to an https port nobody listens on.
  if (secure) directives.push('upgrade-insecure-requests');
  return directives.join('; ');
}

/** Sends a complete page; never cached (forms carry CSRF tokens). */
export function sendPage(res: Response, options: { status: number; title: string; body: SafeHtml; secure: boolean }): void {
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Botgate</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<main>
${options.body}
</main>
</body>
</html>
`;
  res
    .status(options.status)
    .set({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': contentSecurityPolicy(options.secure),
    })
    .send(page.text);
}
