import type * as z from 'zod';
import { AppError } from '../shared/errors.ts';

/** Parses one value, or throws a validation error that names the field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const message = result.error.issues[0]?.message ?? 'is invalid';
    throw new AppError('validation_failed', `${field}: ${message}`, { details: { field } });
  }
  return result.data;
}
