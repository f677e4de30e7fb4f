export {
  checkCsrf,
  clearSessionCookie,
  CSRF_HEADER,
  loginUrl,
  readSession,
  refreshSessionCookie,
  safeReturnTo,
  SESSION_COOKIE,
  sessionToken,
  setSessionCookie,
} from './cookies.ts';
export { createAccountRoutes } from './account.routes.ts';
export { deriveFormKey } from './form-csrf.ts';
export { createInviteRoutes } from './invite.routes.ts';
export { createLoginRoutes, LOGIN_FAILED, type SessionPagesDeps } from './login.routes.ts';
export { createLoginThrottle, type LoginThrottle } from './login-throttle.ts';
export { createPasswordRoutes } from './password.routes.ts';
