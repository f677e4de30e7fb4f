import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, inputValue } from '../support/browser.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type MemberJson } from '../support/http.ts';

const PLANTED = 'a password the other tenant chose';

// Accounts span tenants, and whoever makes one chooses its password. Another tenant must not be able
// to make an account for a person's email and then be let in when that person's own tenant adds them.
describe("a tenant cannot plant an account that another tenant's members are then added as", () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let atkKey: string;
  let vicKey: string;

  const vic = () => apiClient(gateway.url, vicKey);
  const vicMembers = async () => (await vic().get<{ members: MemberJson[] }>('/api/v1/members')).body.members;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir });
    atkKey = (await seedTenant(dataDir, 'atk')).key.secret;
    vicKey = (await seedTenant(dataDir, 'vic')).key.secret;
  });
  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  /** Adding `email` to vic directly is refused, naming invitations, and changes nothing; the planter signs in and finds no vic. */
  async function expectRefusedAndShutOut(email: string, planter: Browser) {
    const before = await vicMembers();
    const added = await vic().post<{ error: { code: string; message: string } }>('/api/v1/members', { json: { email, role: 'admin' } });
    expect(added.status).toBe(409);
    expect(added.body.error.code).toBe('conflict');
    expect(added.body.error.message).toContain('already has an account');
    expect(added.body.error.message).toContain('invite them');
    expect(await vicMembers()).toEqual(before);

    const me = await planter.api('GET', '/api/v1/me', { headers: { 'x-botgate-tenant': 'vic' } });
    const keys = await planter.api('GET', '/api/v1/keys', { headers: { 'x-botgate-tenant': 'vic' } });
    expect([me.status, keys.status]).toEqual([404, 404]);
  }

  it('refuses to add an account another tenant made with a password it chose', async () => {
    const planted = await apiClient(gateway.url, atkKey).post('/api/v1/members', {
      json: { email: 'alice@vic.example', role: 'member', password: PLANTED },
    });
    expect(planted.status).toBe(201);
    const planter = new Browser(gateway.url);
    expect((await planter.login('alice@vic.example', PLANTED)).status).toBe(303);

    await expectRefusedAndShutOut('alice@vic.example', planter);
  });

  it('refuses to add an account another tenant made by accepting its own invitation', async () => {
    const invited = await apiClient(gateway.url, atkKey).post<{ invite_url: string }>('/api/v1/invitations', {
      json: { email: 'bob@vic.example', role: 'auditor' },
    });
    expect(invited.status).toBe(201);
    const planter = new Browser(gateway.url);
    const path = new URL(invited.body.invite_url).pathname;
    const page = await planter.get(path);
    const accepted = await planter.post(path, { csrf_token: inputValue(page.text, 'csrf_token') ?? '', password: PLANTED, confirm: PLANTED });
    expect(accepted.status).toBe(303);

    await expectRefusedAndShutOut('bob@vic.example', planter);
  });

  it('still lets the operator make an existing account a member of another tenant', async () => {
    await operatorCommand(dataDir, 'user.create', { tenant: 'atk', email: 'carol@both.example', role: 'member', password: PLANTED });
    const added = await operatorCommand<{ created_user: boolean; role: string }>(dataDir, 'user.create', { tenant: 'vic', email: 'carol@both.example', role: 'member' });
    expect(added).toMatchObject({ created_user: false, role: 'member' });
    expect((await vicMembers()).map((m) => m.email)).toContain('carol@both.example');
  });
});
