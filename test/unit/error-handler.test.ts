import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/gateway/error-handler.ts';
import { AppError } from '../../src/shared/errors.ts';

/** A request and response that record what the handler does with them. */
function exchange(headersSent: boolean) {
  const seen = { logged: [] as unknown[], status: undefined as number | undefined, body: undefined as unknown, passedOn: [] as unknown[] };
  const req = { id: 'r-1', log: { error: (fields: unknown) => seen.logged.push(fields) } } as unknown as Request;
  const res = {
    headersSent,
    get: () => undefined,
    set: () => res,
    status: (status: number) => {
      seen.status = status;
      return { json: (body: unknown) => (seen.body = body) };
    },
  } as unknown as Response;
  return { req, res, seen, next: (error: unknown) => void seen.passedOn.push(error) };
}

describe('errorHandler', () => {
  it('answers an error document with the status of its code', () => {
    const { req, res, seen, next } = exchange(false);
    errorHandler(new AppError('not_found', 'server not found'), req, res, next);
    expect(seen).toEqual({ logged: [], status: 404, body: { error: { code: 'not_found', message: 'server not found' }, requestId: 'r-1' }, passedOn: [] });
  });

  it('leaves an answer already under way to express, which ends the connection, and logs an internal error', () => {
    const { req, res, seen, next } = exchange(true);
    const error = new Error('broke mid-stream');
    errorHandler(error, req, res, next);
    expect(seen).toEqual({ logged: [{ err: error }], status: undefined, body: undefined, passedOn: [error] });
  });
});
