import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { createTenancyModule } from '../../src/tenancy/index.ts';
import { describeEachDatabase } from '../support/databases.ts';

const operator = { actor: { type: 'operator', id: null }, ip: null, userAgent: null, requestId: null } as const;

// What the gateway tells every node (tenants.credentials_changed), so that open streams are checked again at once.
describeEachDatabase('changes to credentials, as the tenancy module tells of them', (use) => {
  /** The module, two tenants, and the tenants told of since the last `told()`. */
  async function setUp() {
    let changed: string[] = [];
    const tenancy = createTenancyModule({ db: use().db, onCredentialsChanged: (tenantId) => changed.push(tenantId) });
    const acme = await tenancy.tenants.create(operator, { slug: `cc-${randomUUID().slice(0, 8)}` });
    const other = await tenancy.tenants.create(operator, { slug: `cc-${randomUUID().slice(0, 8)}` });
    const told = () => {
      const seen = changed;
      changed = [];
      return seen;
    };
    return { tenancy, acme, other, told };
  }

  it('tells of a key revoked or rotated, once committed, and of nothing for a key that does not exist', async () => {
    const { tenancy, acme, told } = await setUp();
    const first = await tenancy.apiKeys.create(acme.id, operator, { name: 'first', scopes: ['mcp'] });
    const second = await tenancy.apiKeys.create(acme.id, operator, { name: 'second', scopes: ['mcp'] });
    told();

    await tenancy.apiKeys.revoke(acme.id, operator, first.id);
    expect(told()).toEqual([acme.id]);
    await tenancy.apiKeys.rotate(acme.id, operator, second.id, 0);
    expect(told()).toEqual([acme.id]);

    await expect(tenancy.apiKeys.revoke(acme.id, operator, randomUUID())).rejects.toMatchObject({ code: 'not_found' });
    expect(told()).toEqual([]);
  });

  it('tells of a member removed or given another role', async () => {
    const { tenancy, acme, told } = await setUp();
    const { member } = await tenancy.members.add(acme.id, operator, { email: `m-${randomUUID().slice(0, 8)}@example.com`, role: 'admin' });
    told();

    await tenancy.members.changeRole(acme.id, operator, member.userId, 'member');
    expect(told()).toEqual([acme.id]);
    await tenancy.members.remove(acme.id, operator, member.userId);
    expect(told()).toEqual([acme.id]);
  });

  it('tells of an OAuth approval withdrawn or replaced, not of a first one nor of one withdrawn by someone else', async () => {
    const { tenancy, other, told } = await setUp();
    const { member } = await tenancy.members.add(other.id, operator, { email: `o-${randomUUID().slice(0, 8)}@example.com`, role: 'member' });
    const context = { ...operator, actor: { type: 'user' as const, id: member.userId } };
    const consent = { userId: member.userId, tenantId: other.id, clientId: 'client-1', clientName: 'Client', resource: 'https://gw/t/x/mcp', scopes: ['mcp'] };
    const noIndexes = { grantId: null, userCode: null, uid: null, expiresIn: 3600 };
    const [firstGrant, secondGrant] = [`grant-${randomUUID()}`, `grant-${randomUUID()}`];
    await tenancy.oauth.models.upsert('Grant', firstGrant, {}, noIndexes);
    await tenancy.oauth.models.upsert('Grant', secondGrant, {}, noIndexes);
    told();

    const recorded = await tenancy.oauth.consents.record(context, { ...consent, grantId: firstGrant });
    expect(told()).toEqual([]);
    await tenancy.oauth.consents.record(context, { ...consent, grantId: secondGrant });
    expect(told()).toEqual([other.id]);

    expect(await tenancy.oauth.consents.revoke(context, randomUUID(), recorded.id)).toBeUndefined();
    expect(told()).toEqual([]);
    expect(await tenancy.oauth.consents.revoke(context, member.userId, recorded.id)).toMatchObject({ id: recorded.id });
    expect(told()).toEqual([other.id]);
  });

  it('tells of access tokens revoked, alone or with their grant, for a grant an approval is behind', async () => {
    const { tenancy, other, told } = await setUp();
    const { member } = await tenancy.members.add(other.id, operator, { email: `r-${randomUUID().slice(0, 8)}@example.com`, role: 'member' });
    const context = { ...operator, actor: { type: 'user' as const, id: member.userId } };
    const noIndexes = { grantId: null, userCode: null, uid: null, expiresIn: 3600 };
    const grantId = `grant-${randomUUID()}`;
    const strayGrant = `grant-${randomUUID()}`;
    for (const grant of [grantId, strayGrant]) await tenancy.oauth.models.upsert('Grant', grant, {}, noIndexes);
    await tenancy.oauth.consents.record(context, {
      userId: member.userId,
      tenantId: other.id,
      clientId: 'client-2',
      clientName: 'Client',
      resource: 'https://gw/t/x/mcp',
      scopes: ['mcp'],
      grantId,
    });
    const issue = async (kind: string, grant: string) => {
      const id = `${kind}-${randomUUID()}`;
      await tenancy.oauth.models.upsert(kind, id, { grantId: grant }, { ...noIndexes, grantId: grant });
      return id;
    };
    const [access, refresh, stray] = [await issue('AccessToken', grantId), await issue('RefreshToken', grantId), await issue('AccessToken', strayGrant)];
    told();

    // The revocation endpoint: an access token destroyed.
    await tenancy.oauth.models.destroy('AccessToken', access);
    expect(told()).toEqual([other.id]);
    // A refresh token alone leaves access tokens working; a token of a grant without an approval concerns no tenant.
    await tenancy.oauth.models.destroy('RefreshToken', refresh);
    await tenancy.oauth.models.destroy('AccessToken', stray);
    await tenancy.oauth.models.destroy('AccessToken', `AccessToken-${randomUUID()}`);
    expect(told()).toEqual([]);
    // A refresh token revoked revokes its grant's access tokens (none left: nothing to tell); a replayed code, the whole grant.
    await tenancy.oauth.models.revokeByGrant('AccessToken', grantId);
    expect(told()).toEqual([]);
    await issue('AccessToken', grantId);
    await tenancy.oauth.models.revokeByGrant('RefreshToken', grantId);
    expect(told()).toEqual([]);
    await tenancy.oauth.models.revokeByGrant('AccessToken', grantId);
    expect(told()).toEqual([other.id]);
    await tenancy.oauth.destroyGrant(grantId);
    expect(told()).toEqual([other.id]);
  });
});
