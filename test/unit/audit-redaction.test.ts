import { describe, expect, it } from 'vitest';
import { summarizeArguments } from '../../src/gateway/mcp/tool-audit.ts';
import { redactSecrets } from '../../src/tenancy/audit.ts';

describe('redactSecrets', () => {
  it.each([
    'password',
    'Password',
    'passwordHash',
    'password_hash',
    'pass',
    'secret',
    'clientSecret',
    'token',
    'accessToken',
    'refresh_token',
    'digest',
    'apiKey',
    'API_KEY',
    'key',
    'authorization',
    'cookie',
    'credentials',
    'auth',
    'X-Auth',
    'authHeader',
    'bearer',
    'dsn',
    'database_dsn',
    'connectionString',
    'private_key_pem',
    'privateKey',
    'apiKeys',
    'passphrase',
    'pwd',
  ])('redacts a field named %s', (field) => {
    expect(redactSecrets({ [field]: 'hunter2-value', keep: 'visible' })).toEqual({
      [field]: '[redacted]',
      keep: 'visible',
    });
  });

  it('keeps counts of tokens, and a secret that is not set', () => {
    const bot = { maxTokens: 1024, max_tokens: 512, input_tokens: 10, tokenCount: 3, thinking_budget_tokens: 2048, anthropicApiKey: null };
    expect(redactSecrets(bot)).toEqual(bot);
    expect(summarizeArguments(bot)).toEqual(bot);
    expect(redactSecrets({ tokens: 'abc', accessTokens: ['t'], tokenHash: 'h', anthropicApiKey: 'sk-ant-x' })).toEqual({
      tokens: '[redacted]',
      accessTokens: '[redacted]',
      tokenHash: '[redacted]',
      anthropicApiKey: '[redacted]',
    });
  });

  it('keeps fields whose names only contain those letters: author, oauth_client, keys, keyId', () => {
    const value = { author: 'Ada', oauth_client: 'c1', authority: 'x', keys: ['k'], keyId: 'k2', authored_at: 'today' };
    expect(redactSecrets(value)).toEqual(value);
  });

  it("masks the password of a URL in any text, in the audit trail and in tool arguments", () => {
    const value = { note: 'moved to postgres://app:hunter2@db.internal:5432/prod and https://u:p%40ss@x.example/a', plain: 'https://x.example/a?b=c@d', port: 'http://host:80?x=a@b' };
    const masked = { note: 'moved to postgres://app:[redacted]@db.internal:5432/prod and https://u:[redacted]@x.example/a', plain: 'https://x.example/a?b=c@d', port: 'http://host:80?x=a@b' };
    expect(redactSecrets(value)).toEqual(masked);
    expect(summarizeArguments(value)).toEqual(masked);
  });

  it('keeps ordinary fields, including ids and the display prefix of a key', () => {
    const key = { id: 'k1', keyId: 'k2', name: 'ci', prefix: 'bgk_AbCdEfGh', scopes: ['mcp'], userId: null };

    expect(redactSecrets(key)).toEqual(key);
  });

  it('redacts at any depth and inside arrays', () => {
    const value = {
      user: { email: 'a@example.com', login: { password: 'p', token: 't' } },
      keys: [
        { name: 'one', secret: 's1', digest: 'd1' },
        { name: 'two', secret: 's2' },
      ],
      headers: [{ authorization: 'Bearer bgk_x' }],
    };

    expect(redactSecrets(value)).toEqual({
      user: { email: 'a@example.com', login: { password: '[redacted]', token: '[redacted]' } },
      keys: [
        { name: 'one', secret: '[redacted]', digest: '[redacted]' },
        { name: 'two', secret: '[redacted]' },
      ],
      headers: [{ authorization: '[redacted]' }],
    });
  });

  it('redacts a secret field whole, even when its value is an object', () => {
    expect(redactSecrets({ secret: { value: 'abc', nested: ['x'] } })).toEqual({ secret: '[redacted]' });
  });

  it('turns Dates into ISO strings, also nested', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');

    expect(redactSecrets({ createdAt: at, history: [{ at }] })).toEqual({
      createdAt: '2026-01-02T03:04:05.678Z',
      history: [{ at: '2026-01-02T03:04:05.678Z' }],
    });
    expect(redactSecrets(at)).toBe('2026-01-02T03:04:05.678Z');
  });

  it('passes primitives and null through and does not change its input', () => {
    const input = { token: 'abc', nested: { password: 'p' } };

    expect(redactSecrets(null)).toBeNull();
    expect(redactSecrets(undefined)).toBeUndefined();
    expect(redactSecrets('password')).toBe('password');
    expect(redactSecrets(42)).toBe(42);
    redactSecrets(input);
    expect(input).toEqual({ token: 'abc', nested: { password: 'p' } });
  });
});

describe('redactSecrets and summarizeArguments on deep documents', () => {
  // Deeper than a recursive walk can go: JSON.parse takes it, the stack does not.
  const deep = () => JSON.parse('['.repeat(50_000) + ']'.repeat(50_000)) as unknown;

  it('redactSecrets keeps 64 levels and marks what lies deeper', () => {
    const kept = JSON.parse('['.repeat(64) + '"x"' + ']'.repeat(64)) as unknown;
    expect(redactSecrets(kept)).toEqual(kept);
    expect(JSON.stringify(redactSecrets({ a: deep() }))).toContain('"[nested]"');
  });

  it('summarizeArguments cuts deep nesting and long keys, and redacts as it goes', () => {
    const summary = summarizeArguments({ deep: deep(), ['k'.repeat(1000)]: 1, inner: { token: 'ghp_1', list: [{ password: 'p' }] } });
    expect(summary).toEqual({
      deep: [[['[nested]']]],
      [`${'k'.repeat(256)}… (1000 chars)`]: 1,
      inner: { token: '[redacted]', list: [{ password: '[redacted]' }] },
    });
  });
});
