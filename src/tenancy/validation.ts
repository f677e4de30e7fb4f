import * as z from 'zod';
import { ROLES, SCOPES } from './types.ts';

/** Tenant and resource slugs: lowercase letters, digits and inner dashes, 1–63 characters. */
export const slugSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be 1-63 lowercase letters, digits or dashes, not starting or ending with a dash',
  );

export const emailSchema = z.email('must be an email address').max(254).transform((e) => e.toLowerCase());

export const roleSchema = z.enum(ROLES);

export const scopesSchema = z
  .array(z.enum(SCOPES))
  .min(1, 'at least one scope is required')
  .transform((scopes) => [...new Set(scopes)]);

export const nameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200)
  // oxlint-disable-next-line no-control-regex -- control characters are exactly what is refused
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters');

export const passwordSchema = z.string().min(12, 'must be at least 12 characters').max(1024);

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses a duration such as `30d`, `12h`, `15m` or `0s` into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** A zod schema for a duration string, yielding milliseconds. */
export const durationSchema = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration like 30d, 12h, 15m or 0s' });
    return z.NEVER;
  }
  return ms;
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else is simply not found, without asking the database. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

/** Entries restricting a key: a server slug, or `{server}__{tool}`. */
export const toolRestrictionsSchema = z
  .array(
    z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(__[A-Za-z0-9_.-]{1,128})?$/,
        'each entry must be a server slug or {server}__{tool}',
      ),
  )
  .min(1, 'give at least one server or tool, or leave tools out for all')
  .max(100)
  .transform((entries) => [...new Set(entries)]);
