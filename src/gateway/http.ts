import type { Request, Response } from 'express';
import type * as z from 'zod';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { unstorableAt } from '../shared/storable-json.ts';
import type { Principal, RequestContext } from '../tenancy/index.ts';

/** The authenticated principal; set by the auth middleware on every /api/v1 route. */
export function principalOf(res: Response): Principal {
  const principal = res.locals['principal'] as Principal | undefined;
  if (!principal) throw new AppError('unauthorized', 'authentication required');
  return principal;
}

/**
 * Binds the principal to the request's logger (`req.log`). The child logger
 * is made the first time something logs through it, not on every request:
 * most requests never do, and making one serializes its bindings.
 */
export function bindPrincipalToLog(req: Request, principal: Principal): void {
  // The parent is read when first needed too: reading `req.log` may make it.
  const parent = Object.getOwnPropertyDescriptor(req, 'log');
  const parentLog = (): Logger => (parent?.get ? (parent.get.call(req) as Logger) : (parent?.value as Logger));
  let child: Logger | undefined;
  Object.defineProperty(req, 'log', {
    configurable: true,
    enumerable: true,
    get: () => (child ??= parentLog().child({ tenantId: principal.tenant.id, actor: principal.actor })),
    set: (value: Logger) => {
      child = value;
    },
  });
}

/** What the audit trail records about this request. */
export function contextOf(req: Request, res: Response): RequestContext {
  const principal = res.locals['principal'] as Principal | undefined;
  return {
    actor: principal ? principal.actor : { type: 'operator', id: null },
    ip: req.ip ?? null,
    userAgent: req.get('user-agent') ?? null,
    requestId: req.id,
  };
}

/**
 * Validates a body or query with zod; the error names the first bad field.
 * Text PostgreSQL cannot store (a NUL character, a lone surrogate) is refused
 * here too, naming where it is, rather than failing in the database.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query'): z.output<S> {
  const result = schema.safeParse(input ?? (where === 'body' ? undefined : {}));
  if (result.success) {
    const unstorable = unstorableAt(result.data, where);
    // Named as zod's issues are: `messages.0.text`, not `body.messages.0.text`.
    const field = unstorable?.path.slice(where.length + 1) || where;
    if (unstorable) throw new AppError('validation_failed', `${field}: ${unstorable.reason}`);
    return result.data;
  }
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : where;
  const message = issue?.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue?.message;
  throw new AppError('validation_failed', `${field}: ${message ?? 'is invalid'}`, {
    details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  });
}

/** A route parameter as a string (express 5 types allow arrays for wildcards). */
export function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
}
