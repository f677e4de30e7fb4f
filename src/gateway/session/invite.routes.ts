import { Router, type Request, type Response } from 'express';
import { AppError } from '../../shared/errors.ts';
import { passwordSchema, type InvitationService, type OpenInvitation, type ValidSession } from '../../tenancy/index.ts';
import { param } from '../http.ts';
import { clearSessionCookie, CSRF_FIELD, loginUrl, readSession, sessionToken, setSessionCookie } from './cookies.ts';
import { formTokenValid, issueFormToken } from './form-csrf.ts';
import { html, sendPage, type SafeHtml } from './html.ts';
import { csrfPasses, formField, parseForm, sendFormExpired, signOutForms, type SessionPagesDeps } from './login.routes.ts';

const ROLE_WORDS = { owner: 'an owner', admin: 'an admin', member: 'a member', auditor: 'an auditor' } as const;

function describe(open: OpenInvitation): SafeHtml {
  return html`<p>You are invited to join <strong>${open.tenant.name}</strong> (${open.tenant.slug}) on Botgate as
${ROLE_WORDS[open.invitation.role]}, with the account <strong>${open.invitation.email}</strong>.</p>`;
}

/**
 * `GET|POST /invite/{token}`: accepting an invitation, as a new person (choosing a password) or a
 * signed-in one (choosing a new password when someone else set theirs).
 */
export function createInviteRoutes(deps: SessionPagesDeps & { invitations: InvitationService }): Router {
  const router = Router();
  const secure = deps.secureCookies;

  function sendGone(res: Response): void {
    sendPage(res, {
      status: 410,
      title: 'Invitation not valid',
      secure,
      body: html`<h1>This invitation is no longer valid</h1>
<p>The link has expired, has already been used, or was revoked. Ask whoever invited you for a new one.</p>
<p><a href="/login">Sign in to Botgate</a></p>`,
    });
  }

  function sendProblem(res: Response, status: number, message: string, token: string): void {
    sendPage(res, {
      status,
      title: 'Invitation',
      secure,
      body: html`<h1>The invitation was not accepted</h1>
<p role="alert">${message}</p>
<p><a href="/invite/${token}">Back to the invitation</a></p>`,
    });
  }

  function renderNewUser(req: Request, res: Response, token: string, open: OpenInvitation, status: number, error?: string): void {
    const formToken = issueFormToken(req, res, deps.formKey, secure);
    // Both errors (too short, not the same) concern both fields.
    const invalid = error ? html` aria-describedby="invite-error" aria-invalid="true"` : '';
    sendPage(res, {
      status,
      title: 'Accept invitation',
      secure,
      body: html`<h1>Join ${open.tenant.name} on Botgate</h1>
${describe(open)}
<p>Choose a password for your new account (at least 12 characters).</p>
${error && html`<p role="alert" id="invite-error">${error}</p>`}
<form method="post" action="/invite/${token}">
<input type="hidden" name="${CSRF_FIELD}" value="${formToken}">
<input type="hidden" name="username" value="${open.invitation.email}" autocomplete="username">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="1024"${invalid}>
<label for="confirm">Password again</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="12" maxlength="1024"${invalid}>
<button type="submit">Create account and join</button>
</form>`,
    });
  }

  function renderExistingUser(
    res: Response,
    token: string,
    open: OpenInvitation,
    session: ValidSession | undefined,
    status = 200,
    error?: string,
  ): void {
    const invited = open.invitation.email;
    let action: SafeHtml;
    if (session && session.user.email.toLowerCase() === invited && open.mustChoosePassword) {
      // Whoever set the password (an owner of another tenant, the operator) must not follow the person here.
      const invalid = error ? html` aria-describedby="invite-error" aria-invalid="true"` : '';
      action = html`<p>Your password was set by someone else (a tenant owner or the operator), so it is temporary: choose
your own to join. Whoever knows the old one could otherwise sign in as you here. Your other sessions end; this one stays.</p>
${error && html`<p role="alert" id="invite-error">${error}</p>`}
<form method="post" action="/invite/${token}">
<input type="hidden" name="${CSRF_FIELD}" value="${session.csrfToken}">
<input type="hidden" name="username" value="${invited}" autocomplete="username">
<label for="password">New password (at least 12 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="1024"${invalid}>
<label for="confirm">New password again</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="12" maxlength="1024"${invalid}>
<button type="submit">Change password and join ${open.tenant.name}</button>
</form>`;
    } else if (session && session.user.email.toLowerCase() === invited) {
      action = html`<form method="post" action="/invite/${token}">
<input type="hidden" name="${CSRF_FIELD}" value="${session.csrfToken}">
<button type="submit">Accept and join ${open.tenant.name}</button>
</form>`;
    } else if (session) {
      action = html`<p role="alert">You are signed in as <strong>${session.user.email}</strong>. Sign out, then sign in as
<strong>${invited}</strong> to accept.</p>
${signOutForms(session)}`;
    } else {
      action = html`<p><a href="${loginUrl(`/invite/${token}`)}">Sign in as ${invited}</a> to accept.</p>`;
    }
    sendPage(res, { status, title: 'Accept invitation', secure, body: html`<h1>Join ${open.tenant.name} on Botgate</h1>
${describe(open)}
${action}` });
  }

  router.get('/invite/:token', async (req, res) => {
    const token = param(req, 'token');
    const open = await deps.invitations.open(token);
    if (!open) return sendGone(res);
    if (!open.existingUser) return renderNewUser(req, res, token, open, 200);
    return renderExistingUser(res, token, open, await readSession(req, deps.sessions));
  });

  router.post('/invite/:token', parseForm, async (req, res) => {
    const token = param(req, 'token');
    const open = await deps.invitations.open(token);
    if (!open) return sendGone(res);
    const context = { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null, requestId: req.id };
    try {
      if (open.existingUser) {
        const session = await readSession(req, deps.sessions);
        if (!session) return res.redirect(303, loginUrl(`/invite/${token}`));
        if (!csrfPasses(req, session)) return sendFormExpired(res, secure, `/invite/${token}`);
        let choosePassword: { password: string; keepSessionId: string } | undefined;
        const problem = (message: string) => renderExistingUser(res, token, open, session, 400, message);
        // Someone else signed in is refused by the service, whatever they send.
        const invitee = session.user.email.toLowerCase() === open.invitation.email;
        if (open.mustChoosePassword && invitee) {
          const chosen = formField(req, 'password');
          if (chosen === '') return problem('Choose a new password to accept: your current one was set by someone else. Nothing was changed.');
          if (!passwordSchema.safeParse(chosen).success) return problem('The new password must be 12 to 1024 characters long.');
          if (chosen !== formField(req, 'confirm')) return problem('The two passwords do not match.');
          choosePassword = { password: chosen, keepSessionId: session.id };
        }
        try {
          const accepted = await deps.invitations.accept(token, { userId: session.user.id, ...(choosePassword && { choosePassword }) }, context);
          if (!accepted) return sendGone(res);
        } catch (error) {
          // The new password is the one whoever set it knows.
          if (error instanceof AppError && error.code === 'validation_failed' && invitee) {
            return problem(`${error.message.replace(/^password: ./, (start) => start.slice(-1).toUpperCase())}. Nothing was changed.`);
          }
          throw error;
        }
        return res.redirect(303, '/');
      }

      if (!formTokenValid(req, deps.formKey, formField(req, CSRF_FIELD))) return sendFormExpired(res, secure, `/invite/${token}`);
      const password = formField(req, 'password');
      const checked = passwordSchema.safeParse(password);
      if (!checked.success) return renderNewUser(req, res, token, open, 400, 'The password must be 12 to 1024 characters long.');
      if (password !== formField(req, 'confirm')) return renderNewUser(req, res, token, open, 400, 'The two passwords do not match.');
      const accepted = await deps.invitations.accept(token, { password }, context);
      if (!accepted) return sendGone(res);

      // Whoever was signed in on this browser before is signed out: the new account takes over.
      const previous = sessionToken(req);
      if (previous !== undefined) await deps.sessions.logout(previous);
      const login = await deps.sessions.login(accepted.user.email, password, { ip: context.ip, userAgent: context.userAgent });
      if (login) setSessionCookie(res, login.token, login.session.expiresAt, secure);
      else clearSessionCookie(res, secure);
      return res.redirect(303, login ? '/' : '/login');
    } catch (error) {
      if (error instanceof AppError && (error.code === 'conflict' || error.code === 'forbidden' || error.code === 'validation_failed')) {
        return sendProblem(res, error.code === 'validation_failed' ? 400 : error.code === 'conflict' ? 409 : 403, error.message, token);
      }
      throw error;
    }
  });

  return router;
}
