import { Router, type Request, type Response } from 'express';
import { AppError } from '../../shared/errors.ts';
import { passwordSchema, type AccountService, type ValidSession } from '../../tenancy/index.ts';
import { CSRF_FIELD, loginUrl, readSession } from './cookies.ts';
import { html, sendPage } from './html.ts';
import { csrfPasses, formField, parseForm, sendFormExpired, type SessionPagesDeps } from './login.routes.ts';

const PAGE = '/account/password';
const CURRENT_PASSWORD_WRONG = 'Your current password is incorrect. Nothing was changed.';

/**
 * `GET|POST /account/password`: a signed-in person changes their password, giving the current one.
 * Wrong current passwords count as failed sign-ins of the account from that address (the sign-in
 * throttle's rules), so a borrowed session cannot be used to guess it.
 */
export function createPasswordRoutes(deps: SessionPagesDeps & { accounts: AccountService }): Router {
  const router = Router();
  const secure = deps.secureCookies;

  function render(res: Response, session: ValidSession, status: number, error?: string): void {
    // Every message concerns the form as a whole: which field was wrong is in its words.
    const invalid = error ? html` aria-describedby="password-error" aria-invalid="true"` : '';
    sendPage(res, {
      status,
      title: 'Change your password',
      secure,
      body: html`<h1>Change your password</h1>
<p>Signed in as <strong>${session.user.email}</strong>. Your other sessions end when the password changes; this one stays.</p>
${error && html`<p role="alert" id="password-error">${error}</p>`}
<form method="post" action="${PAGE}">
<input type="hidden" name="${CSRF_FIELD}" value="${session.csrfToken}">
<input type="hidden" name="username" value="${session.user.email}" autocomplete="username">
<label for="current_password">Current password</label>
<input id="current_password" name="current_password" type="password" autocomplete="current-password" required maxlength="1024"${invalid}>
<label for="password">New password (at least 12 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="1024"${invalid}>
<label for="confirm">New password again</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="12" maxlength="1024"${invalid}>
<button type="submit">Change password</button>
</form>
<p><a href="/">Back to your account</a></p>`,
    });
  }

  router.get(PAGE, async (req, res) => {
    const session = await readSession(req, deps.sessions);
    if (!session) return res.redirect(303, loginUrl(PAGE));
    return render(res, session, 200);
  });

  router.post(PAGE, parseForm, async (req: Request, res: Response) => {
    const session = await readSession(req, deps.sessions);
    if (!session) return res.redirect(303, loginUrl(PAGE));
    if (!csrfPasses(req, session)) return sendFormExpired(res, secure, PAGE);

    const email = session.user.email;
    const ip = req.ip ?? 'unknown';
    const wait = await deps.throttle.check(email, ip);
    if (wait !== undefined) {
      res.set('retry-after', String(wait));
      const minutes = Math.ceil(wait / 60);
      return render(res, session, 429, `Too many wrong passwords: try again in ${minutes} minute${minutes === 1 ? '' : 's'}. Nothing was changed.`);
    }
    const next = formField(req, 'password');
    if (!passwordSchema.safeParse(next).success) return render(res, session, 400, 'The new password must be 12 to 1024 characters long.');
    if (next !== formField(req, 'confirm')) return render(res, session, 400, 'The two new passwords do not match.');

    try {
      const outcome = await deps.accounts.changePassword(
        { userId: session.user.id, sessionId: session.id },
        { current: formField(req, 'current_password'), next },
        { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null, requestId: req.id },
      );
      if (outcome === 'wrong_password') {
        await deps.throttle.recordFailure(email, ip);
        return render(res, session, 400, CURRENT_PASSWORD_WRONG);
      }
    } catch (error) {
      if (error instanceof AppError && error.code === 'validation_failed') {
        return render(res, session, 400, 'The new password must differ from your current one.');
      }
      throw error;
    }
    await deps.throttle.recordSuccess(email, ip);
    return sendPage(res, {
      status: 200,
      title: 'Password changed',
      secure,
      body: html`<h1>Your password was changed</h1>
<p>Use the new password from now on. Every other session of yours has ended; this one stays signed in.</p>
<p><a href="/">Back to your account</a></p>`,
    });
  });

  return router;
}
