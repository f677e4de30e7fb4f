import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, inputValue } from '../support/browser.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson, type MemberJson } from '../support/http.ts';

const SET_BY_OWNER = 'a password the owner chose';
const CHOSEN = 'a password I chose myself';
const CURRENT_WRONG = 'Your current password is incorrect. Nothing was changed.';

interface InvitationJson {
  id: string;
  email: string;
  status: string;
}

// Accounts span tenants, and a tenant owner or the operator may set a person's password. The person
// changes it on /account/password, and must choose their own before joining another tenant, so that
// whoever set it cannot follow them there.
describe('people choose their own passwords', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let atkKey: string;
  let vicKey: string;

  const atk = () => apiClient(gateway.url, atkKey);
  const vic = () => apiClient(gateway.url, vicKey);

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

  /** A browser signed in as `email`. */
  async function signedIn(email: string, password: string): Promise<Browser> {
    const browser = new Browser(gateway.url);
    expect((await browser.login(email, password)).status).toBe(303);
    return browser;
  }

  /** Whether `password` signs `email` in, tried from a fresh browser. */
  async function signsIn(email: string, password: string): Promise<boolean> {
    const response = await new Browser(gateway.url).login(email, password);
    expect([303, 401]).toContain(response.status);
    return response.status === 303;
  }

  const me = (browser: Browser, tenant: string) => browser.api('GET', '/api/v1/me', { headers: { 'x-botgate-tenant': tenant } });
  const vicMembers = async () => (await vic().get<{ members: MemberJson[] }>('/api/v1/members')).body.members.map((m) => [m.email, m.role]);
  const vicInvitations = async () => (await vic().get<{ invitations: InvitationJson[] }>('/api/v1/invitations')).body.invitations;

  /** Makes `email` a member of atk with a password atk's owner chose, as POST /members does. */
  async function madeByAtk(email: string): Promise<void> {
    const made = await atk().post('/api/v1/members', { json: { email, role: 'member', password: SET_BY_OWNER } });
    expect(made.status).toBe(201);
  }

  /** Vic invites `email`; the invitation's path. */
  async function invitedToVic(email: string): Promise<string> {
    const invited = await vic().post<{ invite_url: string }>('/api/v1/invitations', { json: { email, role: 'member' } });
    expect(invited.status).toBe(201);
    return new URL(invited.body.invite_url).pathname;
  }

  it('changes a password from the account page: the old one stops working, other sessions end, this one stays', async () => {
    await madeByAtk('dana@atk.example');
    const browser = await signedIn('dana@atk.example', SET_BY_OWNER);
    const elsewhere = await signedIn('dana@atk.example', SET_BY_OWNER);

    const account = await browser.get('/');
    expect(account.text).toContain('href="/account/password"');
    const page = await browser.get('/account/password');
    expect(page.status).toBe(200);
    expect(page.text).toContain('autocomplete="current-password"');
    const csrf = inputValue(page.text, 'csrf_token') ?? '';
    const form = (fields: Record<string, string>) => browser.post('/account/password', { csrf_token: csrf, ...fields });

    // Bad input: refused naming the problem, and nothing changes.
    const refusals = [
      [{ current_password: SET_BY_OWNER, password: CHOSEN, confirm: `${CHOSEN}!` }, 'The two new passwords do not match.'],
      [{ current_password: SET_BY_OWNER, password: 'too short', confirm: 'too short' }, 'The new password must be 12 to 1024 characters long.'],
      [{ current_password: 'not my password at all', password: CHOSEN, confirm: CHOSEN }, CURRENT_WRONG],
      [{ current_password: SET_BY_OWNER, password: SET_BY_OWNER, confirm: SET_BY_OWNER }, 'The new password must differ from your current one.'],
    ] as const;
    for (const [fields, message] of refusals) {
      const refused = await form(fields);
      expect(refused.status).toBe(400);
      expect(refused.text).toContain(`<p role="alert" id="password-error">${message}</p>`);
    }
    // Without the session's CSRF token (a form posted from another site): refused, nothing changed.
    const forged = await browser.post('/account/password', { current_password: SET_BY_OWNER, password: CHOSEN, confirm: CHOSEN });
    expect(forged.status).toBe(403);
    const wrongToken = await browser.post('/account/password', { csrf_token: 'forged', current_password: SET_BY_OWNER, password: CHOSEN, confirm: CHOSEN });
    expect(wrongToken.status).toBe(403);
    expect(await signsIn('dana@atk.example', SET_BY_OWNER)).toBe(true);
    expect(await signsIn('dana@atk.example', CHOSEN)).toBe(false);
    expect((await me(elsewhere, 'atk')).status).toBe(200);

    const changed = await form({ current_password: SET_BY_OWNER, password: CHOSEN, confirm: CHOSEN });
    expect(changed.status).toBe(200);
    expect(changed.text).toContain('Your password was changed');

    expect(await signsIn('dana@atk.example', SET_BY_OWNER)).toBe(false);
    expect(await signsIn('dana@atk.example', CHOSEN)).toBe(true);
    expect((await me(elsewhere, 'atk')).status).toBe(401);
    expect((await me(browser, 'atk')).status).toBe(200);
    // Recorded in the person's tenant, as their own act.
    const audit = await atk().get<{ events: AuditEventJson[] }>('/api/v1/audit?action=account.password_change');
    expect(audit.body.events).toHaveLength(1);
    expect(audit.body.events[0]).toMatchObject({ actor: { type: 'user' }, resource_type: 'member', after: { email: 'dana@atk.example', source: 'account' } });
  });

  it('sends someone not signed in to sign in first, and counts wrong current passwords as failed sign-ins', async () => {
    const anonymous = new Browser(gateway.url);
    const page = await anonymous.get('/account/password');
    expect(page.status).toBe(303);
    expect(page.location).toBe(`/login?return_to=${encodeURIComponent('/account/password')}`);

    await madeByAtk('eve@atk.example');
    const browser = await signedIn('eve@atk.example', SET_BY_OWNER);
    const csrf = inputValue((await browser.get('/account/password')).text, 'csrf_token') ?? '';
    for (let i = 0; i < 5; i++) {
      const wrong = await browser.post('/account/password', { csrf_token: csrf, current_password: `wrong guess ${i}`, password: CHOSEN, confirm: CHOSEN });
      expect(wrong.status).toBe(400);
    }
    // Even the right current password must wait now, as at sign-in.
    const locked = await browser.post('/account/password', { csrf_token: csrf, current_password: SET_BY_OWNER, password: CHOSEN, confirm: CHOSEN });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(locked.text).toContain('Nothing was changed.');
    expect((await me(browser, 'atk')).status).toBe(200);
  });

  it("does not let the owner who set a person's password follow them into a tenant that invites them", async () => {
    await madeByAtk('bob@atk.example');
    // atk's owner signs in as bob, with the password they chose for him.
    const planter = await signedIn('bob@atk.example', SET_BY_OWNER);
    const path = await invitedToVic('bob@atk.example');
    const bob = await signedIn('bob@atk.example', SET_BY_OWNER);

    const page = await bob.get(path);
    expect(page.status).toBe(200);
    expect(page.text).toContain('set by someone else');
    expect(page.text).toContain('autocomplete="new-password"');
    const csrf = inputValue(page.text, 'csrf_token') ?? '';

    // Accepting without choosing a password (or with a bad one) is refused and changes nothing.
    const membersBefore = await vicMembers();
    const refusals = [
      [{}, 'Choose a new password to accept'],
      [{ password: CHOSEN, confirm: `${CHOSEN}?` }, 'The two passwords do not match.'],
      [{ password: 'short', confirm: 'short' }, 'The new password must be 12 to 1024 characters long.'],
      [{ password: SET_BY_OWNER, confirm: SET_BY_OWNER }, 'Choose a password other than your current one'],
    ] as const;
    for (const [fields, message] of refusals) {
      const refused = await bob.post(path, { csrf_token: csrf, ...fields });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain(message);
    }
    expect(await vicMembers()).toEqual(membersBefore);
    expect((await vicInvitations()).find((i) => i.email === 'bob@atk.example')?.status).toBe('pending');
    expect((await me(planter, 'atk')).status).toBe(200);
    expect(await signsIn('bob@atk.example', SET_BY_OWNER)).toBe(true);

    const accepted = await bob.post(path, { csrf_token: csrf, password: CHOSEN, confirm: CHOSEN });
    expect(accepted.status).toBe(303);
    expect((await me(bob, 'vic')).status).toBe(200);
    expect(await vicMembers()).toContainEqual(['bob@atk.example', 'member']);

    // atk's owner: the session they held as bob has ended, and their password no longer signs in.
    expect((await me(planter, 'vic')).status).toBe(401);
    expect((await me(planter, 'atk')).status).toBe(401);
    expect(await signsIn('bob@atk.example', SET_BY_OWNER)).toBe(false);
    expect(await signsIn('bob@atk.example', CHOSEN)).toBe(true);
  });

  it('lets a person who chose their own password accept an invitation without being asked again', async () => {
    await madeByAtk('fay@atk.example');
    const browser = await signedIn('fay@atk.example', SET_BY_OWNER);
    const csrf = inputValue((await browser.get('/account/password')).text, 'csrf_token') ?? '';
    expect((await browser.post('/account/password', { csrf_token: csrf, current_password: SET_BY_OWNER, password: CHOSEN, confirm: CHOSEN })).status).toBe(200);
    const elsewhere = await signedIn('fay@atk.example', CHOSEN);
    const path = await invitedToVic('fay@atk.example');

    const page = await browser.get(path);
    expect(page.text).toContain('Accept and join');
    expect(page.text).not.toContain('type="password"');
    const accepted = await browser.post(path, { csrf_token: inputValue(page.text, 'csrf_token') ?? '' });

    expect(accepted.status).toBe(303);
    expect(await vicMembers()).toContainEqual(['fay@atk.example', 'member']);
    // Nothing of the account changed: the password still signs in, the other session goes on.
    expect((await me(elsewhere, 'vic')).status).toBe(200);
    expect(await signsIn('fay@atk.example', CHOSEN)).toBe(true);
  });
});

// The operator's `botgate user create` sets a password someone else knows, too.
describe('a password the operator set', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let otherKey: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir });
    await seedTenant(dataDir, 'ops');
    otherKey = (await seedTenant(dataDir, 'other')).key.secret;
  });
  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('is replaced on accepting an invitation, generated or given', async () => {
    const generated = await operatorCommand<{ password: string }>(dataDir, 'user.create', { tenant: 'ops', email: 'gus@ops.example', role: 'member' });
    const invited = await apiClient(gateway.url, otherKey).post<{ invite_url: string }>('/api/v1/invitations', {
      json: { email: 'gus@ops.example', role: 'member' },
    });
    const path = new URL(invited.body.invite_url).pathname;
    const browser = new Browser(gateway.url);
    expect((await browser.login('gus@ops.example', generated.password)).status).toBe(303);

    const page = await browser.get(path);
    expect(page.text).toContain('autocomplete="new-password"');
    const csrf = inputValue(page.text, 'csrf_token') ?? '';
    expect((await browser.post(path, { csrf_token: csrf })).status).toBe(400);
    expect((await browser.post(path, { csrf_token: csrf, password: CHOSEN, confirm: CHOSEN })).status).toBe(303);
    expect((await new Browser(gateway.url).login('gus@ops.example', generated.password)).status).toBe(401);
  });
});
