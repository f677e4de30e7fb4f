import express, { Router, type Request, type Response } from 'express';
import { AppError } from '../../shared/errors.ts';
import type { SessionService, ValidSession } from '../../tenancy/index.ts';
import { checkCsrf, clearSessionCookie, CSRF_FIELD, readSession, safeReturnTo, sessionToken, setSessionCookie } from './cookies.ts';
import { formTokenValid, issueFormToken } from './form-csrf.ts';
import { html, sendPage, type SafeHtml } from './html.ts';
import type { LoginThrottle } from './login-throttle.ts';

/** The one answer to every failed sign-in: it does not say which half was wrong. */
export const LOGIN_FAILED = 'Email or password is incorrect.';

export interface SessionPagesDeps {
  sessions: SessionService;
  throttle: LoginThrottle;
  /** Signs pre-session form tokens; see `deriveFormKey`. */
  formKey: Buffer;
  secureCookies: boolean;
}

/** Parses the small urlencoded forms of these pages; anything else leaves `req.body` empty. */
export const parseForm = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

/** A text field of a parsed form, or '' when absent or not text. */
export function formField(req: Request, name: string): string {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body && typeof body === 'object' ? body[name] : undefined;
  return typeof value === 'string' ? value : '';
}

/** The sign-out buttons of a signed-in page. */
export function signOutForms(session: ValidSession): SafeHtml {
  return html`<form method="post" action="/logout">
<input type="hidden" name="${CSRF_FIELD}" value="${session.csrfToken}">
<button type="submit" class="secondary">Sign out</button>
</form>
<form method="post" action="/logout/everywhere">
<input type="hidden" name="${CSRF_FIELD}" value="${session.csrfToken}">
<button type="submit" class="secondary">Sign out on every device</button>
</form>`;
}

/** The 403 page for a form whose CSRF token does not check out. */
export function sendFormExpired(res: Response, secure: boolean, retry: string): void {
  sendPage(res, {
    status: 403,
    title: 'Form expired',
    secure,
    body: html`<h1>This form has expired</h1>
<p role="alert">The request could not be verified as coming from this page. Nothing was changed.</p>
<p><a href="${retry}">Try again</a></p>`,
  });
}

/** `GET|POST /login`, `POST /logout`, `POST /logout/everywhere`: browser sign-in for the Botgate account area. */
export function createLoginRoutes(deps: SessionPagesDeps): Router {
  const router = Router();
  const secure = deps.secureCookies;

  function renderLogin(
    req: Request,
    res: Response,
    options: { status: number; returnTo: string; email?: string; error?: string; signedIn?: ValidSession | undefined },
  ): void {
    const token = issueFormToken(req, res, deps.formKey, secure);
    // The message never says which half was wrong, so both fields point at it.
    const invalid = options.error ? html` aria-describedby="login-error" aria-invalid="true"` : '';
    sendPage(res, {
      status: options.status,
      title: 'Sign in',
      secure,
      body: html`<h1>Sign in to Botgate</h1>
<p>Use the email address and password of your Botgate account.</p>
${options.signedIn && html`<p>You are signed in as <strong>${options.signedIn.user.email}</strong>. <a href="${options.returnTo}">Continue</a>, or sign in as someone else below.</p>`}
${options.error && html`<p role="alert" id="login-error">${options.error}</p>`}
<form method="post" action="/login">
<input type="hidden" name="${CSRF_FIELD}" value="${token}">
<input type="hidden" name="return_to" value="${options.returnTo}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${options.email ?? ''}"${invalid}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${invalid}>
<button type="submit">Sign in</button>
</form>`,
    });
  }

  router.get('/login', async (req, res) => {
    const returnTo = safeReturnTo(req.query['return_to']);
    renderLogin(req, res, { status: 200, returnTo, signedIn: await readSession(req, deps.sessions) });
  });

  router.post('/login', parseForm, async (req, res) => {
    const returnTo = safeReturnTo(formField(req, 'return_to'));
    const email = formField(req, 'email').trim();
    if (!formTokenValid(req, deps.formKey, formField(req, CSRF_FIELD))) {
      renderLogin(req, res, { status: 403, returnTo, email, error: 'The sign-in form expired. Please sign in again.' });
      return;
    }
    const ip = req.ip ?? 'unknown';
    const wait = await deps.throttle.check(email, ip);
    if (wait !== undefined) {
      res.set('retry-after', String(wait));
      const minutes = Math.ceil(wait / 60);
      const error = `${LOGIN_FAILED} Too many attempts: try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
      renderLogin(req, res, { status: 429, returnTo, email, error });
      return;
    }
    const result = await deps.sessions.login(email, formField(req, 'password'), { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null });
    if (!result) {
      await deps.throttle.recordFailure(email, ip);
      renderLogin(req, res, { status: 401, returnTo, email, error: LOGIN_FAILED });
      return;
    }
    await deps.throttle.recordSuccess(email, ip);
    // A session this browser held before ends here: signing in never continues an old token.
    const previous = sessionToken(req);
    if (previous !== undefined) await deps.sessions.logout(previous);
    setSessionCookie(res, result.token, result.session.expiresAt, secure);
    res.redirect(303, returnTo);
  });

  router.post('/logout', parseForm, async (req, res) => {
    const token = sessionToken(req);
    const session = await readSession(req, deps.sessions);
    if (session && token !== undefined) {
      if (!csrfPasses(req, session)) return sendFormExpired(res, secure, '/login');
      await deps.sessions.logout(token);
    }
    clearSessionCookie(res, secure);
    res.redirect(303, '/login');
  });

  router.post('/logout/everywhere', parseForm, async (req, res) => {
    const session = await readSession(req, deps.sessions);
    if (session) {
      if (!csrfPasses(req, session)) return sendFormExpired(res, secure, '/login');
      await deps.sessions.logoutEverywhere(session.user.id);
    }
    clearSessionCookie(res, secure);
    res.redirect(303, '/login');
  });

  return router;
}

/** `checkCsrf` as a boolean, for pages that answer in HTML rather than JSON. */
export function csrfPasses(req: Request, session: ValidSession): boolean {
  try {
    checkCsrf(req, session);
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === 'forbidden') return false;
    throw error;
  }
}
