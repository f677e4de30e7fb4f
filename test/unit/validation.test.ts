import { describe, expect, it } from 'vitest';
import {
  durationSchema,
  emailSchema,
  isUuid,
  nameSchema,
  parseDuration,
  scopesSchema,
  slugSchema,
} from '../../src/tenancy/validation.ts';

describe('slugSchema', () => {
  it.each(['a', 'acme', 'acme-corp', 'a1-b2-c3', '0', 'x'.repeat(63)])('accepts %s', (slug) => {
    expect(slugSchema.safeParse(slug)).toEqual({ success: true, data: slug });
  });

  it.each([
    ['empty', ''],
    ['uppercase', 'Acme'],
    ['leading dash', '-acme'],
    ['trailing dash', 'acme-'],
    ['64 characters', 'x'.repeat(64)],
    ['underscore', 'acme_corp'],
    ['space', 'acme corp'],
    ['dot-dot path', '../acme'],
    ['SQL', "a'; drop table tenants;--"],
    ['non-ASCII', 'acmé'],
    ['trailing newline', 'acme\n'],
  ])('refuses a slug with %s', (_why, slug) => {
    const result = slugSchema.safeParse(slug);

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/lowercase letters, digits or dashes/);
  });
});

describe('emailSchema', () => {
  it('accepts an address and stores it lowercased', () => {
    expect(emailSchema.parse('Ada.Lovelace@Example.COM')).toBe('ada.lovelace@example.com');
  });

  it.each(['', 'ada', 'ada@', '@example.com', 'ada@example', 'ada lovelace@example.com', "x'; drop table users;--@x.io"])(
    'refuses %j',
    (email) => {
      expect(emailSchema.safeParse(email).success).toBe(false);
    },
  );

  it('refuses an address longer than 254 characters', () => {
    const email = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`;

    expect(email.length).toBeGreaterThan(254);
    expect(emailSchema.safeParse(email).success).toBe(false);
  });
});

describe('nameSchema', () => {
  it('keeps quotes and SQL verbatim, trimming only outer whitespace', () => {
    expect(nameSchema.parse("  O'Brien \"Ltd\"; drop table users;--  ")).toBe("O'Brien \"Ltd\"; drop table users;--");
  });

  it.each([
    ['blank', '   '],
    ['a control character', 'evil\u0000name'],
    ['201 characters', 'n'.repeat(201)],
  ])('refuses a name that is %s', (_why, name) => {
    expect(nameSchema.safeParse(name).success).toBe(false);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30d', 30 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['15m', 15 * 60_000],
    ['45s', 45_000],
    ['0s', 0],
    [' 7d ', 7 * 86_400_000],
    ['999999d', 999_999 * 86_400_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'd', '30', '30 d', '-1d', '1.5h', '2w', '30D', '1d12h', '1000000d', '0x10s', 'P30D'])(
    'refuses %j',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('backs durationSchema, whose error says what a duration looks like', () => {
    expect(durationSchema.parse('15m')).toBe(900_000);
    const result = durationSchema.safeParse('soon');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('must be a duration like 30d, 12h, 15m or 0s');
  });
});

describe('scopesSchema', () => {
  it('accepts known scopes', () => {
    expect(scopesSchema.parse(['mcp', 'read'])).toEqual(['mcp', 'read']);
  });

  it('collapses duplicates, keeping first-seen order', () => {
    expect(scopesSchema.parse(['read', 'mcp', 'read', 'mcp', 'admin'])).toEqual(['read', 'mcp', 'admin']);
  });

  it.each([
    ['an unknown scope', ['mcp', 'superuser']],
    ['a scope in the wrong case', ['ADMIN']],
    ['no scope at all', []],
    ['a string instead of a list', 'admin'],
  ])('refuses %s', (_why, scopes) => {
    expect(scopesSchema.safeParse(scopes).success).toBe(false);
  });
});

describe('isUuid', () => {
  it('accepts a UUID in either case and refuses anything else', () => {
    expect(isUuid('6f1c2b7e-0d8a-4c1e-9b3f-2a4d5e6f7a8b')).toBe(true);
    expect(isUuid('6F1C2B7E-0D8A-4C1E-9B3F-2A4D5E6F7A8B')).toBe(true);
    expect(isUuid('6f1c2b7e-0d8a-4c1e-9b3f-2a4d5e6f7a8')).toBe(false);
    expect(isUuid("6f1c2b7e-0d8a-4c1e-9b3f-2a4d5e6f7a8b' or '1'='1")).toBe(false);
  });
});
