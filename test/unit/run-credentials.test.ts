import { describe, expect, it } from 'vitest';
import { createRunCredentials, RUN_CREDENTIAL_PREFIX, type RunGrant } from '../../src/gateway/bots/run-credentials.ts';
import type { Principal } from '../../src/tenancy/index.ts';

const principal: Principal = {
  tenant: { id: '00000000-0000-4000-8000-000000000001', slug: 'acme', name: 'Acme', createdAt: new Date(0) },
  actor: { type: 'api_key', id: '00000000-0000-4000-8000-000000000002' },
  keyId: '00000000-0000-4000-8000-000000000002',
  userId: null,
  role: 'owner',
  scopes: ['mcp'],
  tools: ['files__read_file'],
};
const grant: RunGrant = { principal, origin: principal, runId: '00000000-0000-4000-8000-000000000003', chain: ['helper'] };

describe('run credentials', () => {
  it('issues long random tokens that resolve to their grant, and nothing else resolves', () => {
    const credentials = createRunCredentials();
    const token = credentials.issue(grant);
    expect(token.startsWith(RUN_CREDENTIAL_PREFIX)).toBe(true);
    expect(token.length).toBeGreaterThanOrEqual(RUN_CREDENTIAL_PREFIX.length + 43);
    expect(credentials.issue(grant)).not.toBe(token);
    expect(credentials.resolve(token)).toBe(grant);
    expect(credentials.resolve(`${token}x`)).toBeUndefined();
    expect(credentials.resolve(`${RUN_CREDENTIAL_PREFIX}forged`)).toBeUndefined();
  });

  it('stops resolving a token once revoked, and once its lifetime is over even if never revoked', () => {
    let now = 0;
    const credentials = createRunCredentials(() => now);
    const revoked = credentials.issue(grant);
    const forgotten = credentials.issue(grant);
    credentials.revoke(revoked);
    expect(credentials.resolve(revoked)).toBeUndefined();
    now = 60 * 60 * 1000 - 1;
    expect(credentials.resolve(forgotten)).toBe(grant);
    now += 1;
    expect(credentials.resolve(forgotten)).toBeUndefined();
  });
});
