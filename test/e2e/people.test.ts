import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, inputValue } from '../support/browser.ts';
import { createThrowawayPostgres, TEST_DATABASE_URL } from '../support/databases.ts';
import { makeDataDir, pollUntil, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson, type MemberJson } from '../support/http.ts';

const PASSWORD = 'correct horse battery staple';
const LOGIN_FAILED = 'Email or password is incorrect.';

interface MeBody {
  tenant: { slug: string };
  actor: { type: string; id: string | null };
  key: unknown;
  user_id: string | null;
  role: string;
  csrf_token?: string;
}
interface InvitationJson {
  id: string;
  email: string;
  role: string;
  status: string;
}

/** The session cookie's Set-Cookie line of a response. */
function sessionCookieLine(setCookies: string[]): string | undefined {
  return setCookies.find((line) => line.startsWith('botgate_session='));
}

describe('people: sign-in, sessions, roles and invitations over HTTP', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let ownerKeyA: string;
  let ownerKeyB: string;

  /** Everything a refused request in tenant A might have changed, read with the owner's API key; the records of refusals (`access.denied`) aside. */
  async function stateOfA() {
    const api = apiClient(gateway.url, ownerKeyA);
    return {
      members: (await api.get<{ members: MemberJson[] }>('/api/v1/members')).body.members,
      invitations: (await api.get<{ invitations: InvitationJson[] }>('/api/v1/invitations')).body.invitations,
      servers: (await api.get<{ servers: unknown[] }>('/api/v1/servers')).body.servers,
      keys: (await api.get<{ keys: Array<{ id: string }> }>('/api/v1/keys')).body.keys.map((k) => k.id),
      audit: (await api.get<{ events: AuditEventJson[] }>('/api/v1/audit?limit=200')).body.events.filter((event) => event.action !== 'access.denied'),
    };
  }

  /** A browser signed in as `email`, with the CSRF token of its session. */
  async function signedIn(email: string, password = PASSWORD): Promise<{ browser: Browser; csrf: string }> {
    const browser = new Browser(gateway.url);
    const response = await browser.login(email, password);
    expect(response.status).toBe(303);
    const me = await browser.api<MeBody>('GET', '/api/v1/me');
    expect(me.status).toBe(200);
    return { browser, csrf: me.body.csrf_token ?? '' };
  }

  const addUser = (tenant: string, email: string, role: string, password = PASSWORD) =>
    operatorCommand(dataDir, 'user.create', { tenant, email, role, password });

  beforeAll(async () => {
    dataDir = await makeDataDir();
    gateway = await startGateway({ dataDir });
    ownerKeyA = (await seedTenant(dataDir, 'ppl-a')).key.secret;
    ownerKeyB = (await seedTenant(dataDir, 'ppl-b')).key.secret;
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('serves a sign-in page that works without JavaScript and escapes what it echoes', async () => {
    const browser = new Browser(gateway.url);
    const page = await browser.get(`/login?return_to=${encodeURIComponent('/x"><script>alert(1)</script>')}`);

    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<h1>Sign in to Botgate</h1>');
    expect(page.text).toMatch(/<form method="post" action="\/login">/);
    expect(page.text).toMatch(/<label for="email">Email<\/label>\s*<input id="email" name="email" type="email"/);
    expect(page.text).toMatch(/<label for="password">Password<\/label>\s*<input id="password" name="password" type="password"/);
    expect(page.text).not.toContain('<script');
    expect(inputValue(page.text, 'return_to')).toBe('/x%22%3E%3Cscript%3Ealert(1)%3C/script%3E');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('cache-control')).toBe('no-store');
    // The pre-session CSRF cookie of the form.
    expect(page.setCookies.find((line) => line.startsWith('botgate_form='))).toMatch(/HttpOnly/);
  });

  it('signs in with an HttpOnly, SameSite=Lax cookie (not Secure on http) that the REST API accepts', async () => {
    const browser = new Browser(gateway.url);
    const response = await browser.login('OWNER@ppl-a.example', PASSWORD);

    expect(response.status).toBe(303);
    expect(response.location).toBe('/');
    const cookie = sessionCookieLine(response.setCookies) ?? '';
    expect(cookie).toMatch(/^botgate_session=[a-z2-7]{32};/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; Expires=/);
    expect(cookie).not.toMatch(/Secure/i);

    const me = await browser.api<MeBody>('GET', '/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenant: { slug: 'ppl-a' }, actor: { type: 'user' }, key: null, role: 'owner' });
    expect(me.body.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await browser.api('GET', '/api/v1/members')).status).toBe(200);
    // API keys carry no CSRF token and need none.
    expect((await apiClient(gateway.url, ownerKeyA).get<MeBody>('/api/v1/me')).body).not.toHaveProperty('csrf_token');
  });

  it('lands a signed-in person on an account page with their tenants and MCP addresses, and sends others to sign in', async () => {
    const anonymous = await new Browser(gateway.url).get('/');
    expect(anonymous.status).toBe(303);
    expect(anonymous.location).toBe('/login?return_to=%2F');

    const { browser } = await signedIn('owner@ppl-a.example');
    const page = await browser.get('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Signed in as <strong>owner@ppl-a.example</strong>');
    expect(page.text).toContain(`<code>${gateway.url}/t/ppl-a/mcp</code>`);
    expect(page.text).not.toContain('ppl-b');
    expect(page.text).toContain('href="/oauth/consents"');

    // Its sign-out form works as it is: it carries the session's CSRF token.
    const form = /<form method="post" action="\/logout"><input type="hidden" name="csrf_token" value="([^"]+)">/.exec(page.text);
    expect(form).not.toBeNull();
    expect((await browser.post('/logout', { csrf_token: form?.[1] ?? '' })).location).toBe('/login');
    expect((await browser.get('/')).status).toBe(303);
  });

  it('refuses a cookie-authenticated change without the CSRF token, changing nothing, and accepts it with the token', async () => {
    const { browser, csrf } = await signedIn('owner@ppl-a.example');
    const before = await stateOfA();

    const attempts: Array<Record<string, string>> = [{}, { 'x-csrf-token': 'forged' }, { 'x-csrf-token': `${csrf}x` }];
    const refusals: string[] = [];
    for (const headers of attempts) {
      const refused = await browser.api('POST', '/api/v1/keys', { json: { name: 'csrf-victim', scopes: ['admin'] }, headers });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('forbidden');
      expect(refused.body.error.message).toMatch(/CSRF/);
      refusals.push(refused.headers.get('x-request-id') ?? '');
    }
    // Each forged request is in the tenant's audit trail, as the signed-in person's refused request.
    const denied = await pollUntil('the refusals audited', async () => {
      const { body } = await apiClient(gateway.url, ownerKeyA).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=access.denied&limit=50');
      const found = body.events.filter((event) => refusals.includes(event.request_id ?? ''));
      return found.length === refusals.length ? found : undefined;
    });
    for (const event of denied) {
      expect(event).toMatchObject({ actor: { type: 'user' }, after: { method: 'POST', path: '/api/v1/keys', reason: expect.stringMatching(/CSRF/) as unknown } });
    }
    const invite = await browser.api('POST', '/api/v1/invitations', { json: { email: 'csrf@ppl-a.example', role: 'owner' } });
    expect(invite.status).toBe(403);
    expect(await stateOfA()).toEqual(before);

    const created = await browser.api<{ key: { id: string } }>('POST', '/api/v1/keys', {
      json: { name: 'from-the-browser', scopes: ['read'] },
      headers: { 'x-csrf-token': csrf },
    });
    expect(created.status).toBe(201);
    const audit = await apiClient(gateway.url, ownerKeyA).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=api_key.create&limit=1');
    expect(audit.body.events[0]).toMatchObject({ actor: { type: 'user' }, resource_id: created.body.key.id });
  });

  it('sends people back only to paths of this gateway after signing in', async () => {
    const attempts: Array<[string, string]> = [
      ['//evil.example', '/'],
      ['https://evil.example', '/'],
      ['/\\evil.example', '/'],
      ['http:/evil.example', '/'],
      ['javascript:alert(1)', '/'],
      ['/api/v1/me?x=1', '/api/v1/me?x=1'],
    ];
    for (const [returnTo, expected] of attempts) {
      const browser = new Browser(gateway.url);
      // Whatever the page was opened with, and whatever the form is made to submit.
      const viaPage = await browser.login('owner@ppl-a.example', PASSWORD, returnTo);
      expect([returnTo, viaPage.location]).toEqual([returnTo, expected]);
      const page = await browser.get('/login');
      const forged = await browser.post('/login', {
        email: 'owner@ppl-a.example',
        password: PASSWORD,
        csrf_token: inputValue(page.text, 'csrf_token') ?? '',
        return_to: returnTo,
      });
      expect([returnTo, forged.location]).toEqual([returnTo, expected]);
    }
  });

  it('answers a wrong password and an unknown email the same way', async () => {
    const browser = new Browser(gateway.url);
    const page = await browser.get('/login');
    const csrf = inputValue(page.text, 'csrf_token') ?? '';
    const wrong = await browser.post('/login', { email: 'owner@ppl-b.example', password: 'wrong password!!', csrf_token: csrf, return_to: '/' });
    const unknown = await browser.post('/login', { email: 'ghost@ppl-b.example', password: PASSWORD, csrf_token: csrf, return_to: '/' });

    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401);
      expect(response.text).toContain(`<p role="alert" id="login-error">${LOGIN_FAILED}</p>`);
      expect(sessionCookieLine(response.setCookies)).toBeUndefined();
    }
    const normalise = (text: string) => text.replace(/value="[^"]*@ppl-b\.example"/, 'value=""');
    expect(normalise(wrong.text)).toBe(normalise(unknown.text));
    // Without the form's CSRF token nothing is even tried.
    const noToken = await new Browser(gateway.url).post('/login', { email: 'owner@ppl-b.example', password: PASSWORD, return_to: '/' });
    expect(noToken.status).toBe(403);
    expect(sessionCookieLine(noToken.setCookies)).toBeUndefined();
  });

  it('locks an account out after 5 failures with 429 and Retry-After, refusing even the right password', async () => {
    await addUser('ppl-b', 'lockme@ppl-b.example', 'member');
    const browser = new Browser(gateway.url);
    for (let i = 0; i < 5; i++) {
      expect((await browser.login('lockme@ppl-b.example', `wrong password ${i}`)).status).toBe(401);
    }

    const locked = await browser.login('lockme@ppl-b.example', 'wrong password again');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(locked.text).toContain(LOGIN_FAILED);
    const right = await browser.login('LockMe@ppl-b.example', PASSWORD);
    expect(right.status).toBe(429);
    expect(sessionCookieLine(right.setCookies)).toBeUndefined();
    expect((await browser.api('GET', '/api/v1/me')).status).toBe(401);
    // Other accounts from the same address are not locked out.
    expect((await new Browser(gateway.url).login('owner@ppl-b.example', PASSWORD)).status).toBe(303);
  });

  it("answers 404 when a person names a tenant they do not belong to, like one that does not exist", async () => {
    const { browser, csrf } = await signedIn('owner@ppl-a.example');
    const beforeB = await apiClient(gateway.url, ownerKeyB).get<{ members: MemberJson[] }>('/api/v1/members');

    const other = await browser.api('GET', '/api/v1/members', { headers: { 'x-botgate-tenant': 'ppl-b' } });
    const missing = await browser.api('GET', '/api/v1/members', { headers: { 'x-botgate-tenant': 'no-such-tenant' } });
    const write = await browser.api('POST', '/api/v1/invitations', {
      json: { email: 'intruder@ppl-a.example', role: 'owner' },
      headers: { 'x-botgate-tenant': 'ppl-b', 'x-csrf-token': csrf },
    });

    for (const response of [other, missing, write]) {
      expect(response.status).toBe(404);
      expect(response.body.error).toEqual({ code: 'not_found', message: 'tenant not found' });
    }
    expect((await apiClient(gateway.url, ownerKeyB).get<{ members: MemberJson[] }>('/api/v1/members')).body).toEqual(beforeB.body);
    expect((await browser.api<MeBody>('GET', '/api/v1/me', { headers: { 'x-botgate-tenant': 'ppl-a' } })).body.tenant.slug).toBe('ppl-a');

    // Someone in two tenants must say which.
    await addUser('ppl-a', 'both@ppl-a.example', 'auditor');
    await addUser('ppl-b', 'both@ppl-a.example', 'member');
    const both = new Browser(gateway.url);
    expect((await both.login('both@ppl-a.example', PASSWORD)).status).toBe(303);
    const ambiguous = await both.api('GET', '/api/v1/me');
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.error.message).toContain('x-botgate-tenant');
    const asAuditor = await both.api<MeBody>('GET', '/api/v1/me', { headers: { 'x-botgate-tenant': 'ppl-a' } });
    expect(asAuditor.body.role).toBe('auditor');
  });

  it('invites a new person who sets a password, signs in as a member, cannot create a server, and cannot reuse the link', async () => {
    const owner = await signedIn('owner@ppl-a.example');
    const invited = await owner.browser.api<{ invitation: InvitationJson; invite_url: string }>('POST', '/api/v1/invitations', {
      json: { email: 'Nina@ppl-a.example', role: 'member' },
      headers: { 'x-csrf-token': owner.csrf },
    });
    expect(invited.status).toBe(201);
    expect(invited.body.invitation).toMatchObject({ email: 'nina@ppl-a.example', role: 'member', status: 'pending' });
    expect(invited.body.invite_url).toMatch(new RegExp(`^${gateway.url}/invite/bgi_[A-Za-z0-9_-]{43}$`));
    const listed = await apiClient(gateway.url, ownerKeyA).get<{ invitations: InvitationJson[] }>('/api/v1/invitations');
    expect(JSON.stringify(listed.body)).not.toContain(invited.body.invite_url.split('/invite/')[1]);

    const nina = new Browser(gateway.url);
    const form = await nina.get(invited.body.invite_url);
    expect(form.status).toBe(200);
    expect(form.text).toContain('nina@ppl-a.example');
    expect(form.text).toContain('as\na member');
    const csrf = inputValue(form.text, 'csrf_token') ?? '';
    const mismatch = await nina.post(invited.body.invite_url, { csrf_token: csrf, password: 'a fine long password', confirm: 'another one entirely' });
    expect(mismatch.status).toBe(400);
    const short = await nina.post(invited.body.invite_url, { csrf_token: csrf, password: 'short', confirm: 'short' });
    expect(short.status).toBe(400);
    const accepted = await nina.post(invited.body.invite_url, { csrf_token: csrf, password: 'a fine long password', confirm: 'a fine long password' });
    expect(accepted.status).toBe(303);
    expect(accepted.location).toBe('/');
    expect(sessionCookieLine(accepted.setCookies)).toBeDefined();

    const me = await nina.api<MeBody>('GET', '/api/v1/me');
    expect(me.body).toMatchObject({ tenant: { slug: 'ppl-a' }, role: 'member', actor: { type: 'user' } });
    const before = await stateOfA();
    const server = await nina.api('POST', '/api/v1/servers', {
      json: { slug: 'ninas-files', kind: 'filesystem' },
      headers: { 'x-csrf-token': me.body.csrf_token ?? '' },
    });
    expect(server.status).toBe(403);
    expect(server.body.error.message).toBe('the role "member" does not allow servers:write');
    const invite = await nina.api('POST', '/api/v1/invitations', {
      json: { email: 'friend@ppl-a.example', role: 'member' },
      headers: { 'x-csrf-token': me.body.csrf_token ?? '' },
    });
    expect(invite.status).toBe(403);

    // The link is spent: a second person with it changes nothing.
    const mallory = new Browser(gateway.url);
    const again = await mallory.get(invited.body.invite_url);
    expect(again.status).toBe(410);
    const pageAgain = await mallory.get('/login');
    const reuse = await mallory.post(invited.body.invite_url, {
      csrf_token: inputValue(pageAgain.text, 'csrf_token') ?? '',
      password: 'mallory takes over',
      confirm: 'mallory takes over',
    });
    expect(reuse.status).toBe(410);
    expect(sessionCookieLine(reuse.setCookies)).toBeUndefined();
    expect(await stateOfA()).toEqual(before);
    expect(before.invitations.find((i) => i.id === invited.body.invitation.id)?.status).toBe('accepted');
    expect(before.members.find((m) => m.email === 'nina@ppl-a.example')?.role).toBe('member');
    expect((await new Browser(gateway.url).login('nina@ppl-a.example', 'mallory takes over')).status).toBe(401);
  });

  it('lets an admin invite admins but not owners, and revoke an invitation', async () => {
    await addUser('ppl-a', 'adam@ppl-a.example', 'admin');
    const { browser, csrf } = await signedIn('adam@ppl-a.example');
    const headers = { 'x-csrf-token': csrf };
    const before = await stateOfA();

    const owner = await browser.api('POST', '/api/v1/invitations', { json: { email: 'boss@ppl-a.example', role: 'owner' }, headers });
    expect(owner.status).toBe(403);
    expect(owner.body.error.message).toBe('the role "admin" may not invite someone as owner');
    expect(await stateOfA()).toEqual(before);

    const admin = await browser.api<{ invitation: InvitationJson; invite_url: string }>('POST', '/api/v1/invitations', {
      json: { email: 'second-admin@ppl-a.example', role: 'admin' },
      headers,
    });
    expect(admin.status).toBe(201);
    const revoked = await browser.api<{ invitation: InvitationJson }>('DELETE', `/api/v1/invitations/${admin.body.invitation.id}`, { headers });
    expect(revoked.body.invitation.status).toBe('revoked');
    expect((await new Browser(gateway.url).get(admin.body.invite_url)).status).toBe(410);
    const otherTenant = await apiClient(gateway.url, ownerKeyB).delete(`/api/v1/invitations/${admin.body.invitation.id}`);
    expect(otherTenant.status).toBe(404);
  });

  it('lets an existing person accept an invitation after signing in as that person', async () => {
    const owner = await signedIn('owner@ppl-a.example');
    const invited = await owner.browser.api<{ invite_url: string }>('POST', '/api/v1/invitations', {
      json: { email: 'owner@ppl-b.example', role: 'auditor' },
      headers: { 'x-csrf-token': owner.csrf },
    });
    const path = new URL(invited.body.invite_url).pathname;

    const browser = new Browser(gateway.url);
    const anonymous = await browser.get(path);
    expect(anonymous.text).toContain(`href="/login?return_to=${encodeURIComponent(path)}"`);
    expect(anonymous.text).not.toContain('type="password"');
    // Someone else signed in cannot accept it for that person.
    const before = await stateOfA();
    const wrongPerson = new Browser(gateway.url);
    await wrongPerson.login('owner@ppl-a.example', PASSWORD);
    const shown = await wrongPerson.get(path);
    expect(shown.text).toContain('You are signed in as <strong>owner@ppl-a.example</strong>');
    const forced = await wrongPerson.post(path, { csrf_token: (await wrongPerson.api<MeBody>('GET', '/api/v1/me')).body.csrf_token ?? '' });
    expect(forced.status).toBe(403);
    expect(await stateOfA()).toEqual(before);

    const signIn = await browser.login('owner@ppl-b.example', PASSWORD, path);
    expect(signIn.location).toBe(path);
    const page = await browser.get(path);
    const withoutToken = await browser.post(path, {});
    expect(withoutToken.status).toBe(403);
    // The operator set this person's password: they choose their own as they accept.
    expect(page.text).toContain('autocomplete="new-password"');
    const chosen = 'a password of my own choosing';
    const accepted = await browser.post(path, { csrf_token: inputValue(page.text, 'csrf_token') ?? '', password: chosen, confirm: chosen });
    expect(accepted.status).toBe(303);
    const me = await browser.api<MeBody>('GET', '/api/v1/me', { headers: { 'x-botgate-tenant': 'ppl-a' } });
    expect(me.body.role).toBe('auditor');
  });

  it('signs out, and signs out everywhere only with the CSRF token, ending the other sessions too', async () => {
    await addUser('ppl-b', 'roamer@ppl-b.example', 'member');
    const first = await signedIn('roamer@ppl-b.example');
    const second = await signedIn('roamer@ppl-b.example');
    const bystander = await signedIn('owner@ppl-a.example');

    const refused = await first.browser.post('/logout/everywhere', { csrf_token: 'forged' });
    expect(refused.status).toBe(403);
    expect((await second.browser.api('GET', '/api/v1/me', { headers: { 'x-botgate-tenant': 'ppl-b' } })).status).toBe(200);

    const everywhere = await first.browser.post('/logout/everywhere', { csrf_token: first.csrf });
    expect(everywhere.status).toBe(303);
    expect(everywhere.location).toBe('/login');
    expect(sessionCookieLine(everywhere.setCookies)).toMatch(/Expires=Thu, 01 Jan 1970/);
    for (const browser of [first.browser, second.browser]) {
      // The cookie the second browser still holds no longer works.
      expect((await browser.api('GET', '/api/v1/me', { headers: { 'x-botgate-tenant': 'ppl-b' } })).status).toBe(401);
    }
    expect((await bystander.browser.api('GET', '/api/v1/me')).status).toBe(200);

    const out = await bystander.browser.post('/logout', { csrf_token: bystander.csrf });
    expect(out.status).toBe(303);
    expect((await bystander.browser.api('GET', '/api/v1/me')).status).toBe(401);
  });
});

// Two stateless nodes behind one address: forms, sessions and failed-attempt counts are shared.
describe.skipIf(!TEST_DATABASE_URL)('people on two gateway nodes sharing PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  const nodes: GatewayProcess[] = [];
  const dataDirs: string[] = [];

  beforeAll(async () => {
    database = await createThrowawayPostgres(TEST_DATABASE_URL ?? '');
    dataDirs.push(await makeDataDir(), await makeDataDir());
    const env = { BOTGATE_SECRET_KEY: randomBytes(32).toString('hex') };
    for (const dataDir of dataDirs) nodes.push(await startGateway({ dataDir, databaseUrl: database.url, env }));
    await seedTenant(dataDirs[0] ?? '', 'ppl-pg');
    await operatorCommand(dataDirs[0] ?? '', 'user.create', { tenant: 'ppl-pg', email: 'pat@ppl-pg.example', role: 'member', password: PASSWORD });
  });

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await database?.drop();
    await Promise.all(dataDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  it('accepts a form from one node on the other, and a session made on one on the other', async () => {
    const [a, b] = nodes as [GatewayProcess, GatewayProcess];
    const onA = new Browser(a.url);
    const page = await onA.get('/login');
    const onB = new Browser(b.url);
    for (const [name, value] of onA.cookies) onB.cookies.set(name, value);
    const response = await onB.post('/login', { email: 'owner@ppl-pg.example', password: PASSWORD, csrf_token: inputValue(page.text, 'csrf_token') ?? '', return_to: '/' });
    expect(response.status).toBe(303);
    for (const [name, value] of onB.cookies) onA.cookies.set(name, value);
    expect((await onA.api<MeBody>('GET', '/api/v1/me')).body).toMatchObject({ tenant: { slug: 'ppl-pg' }, role: 'owner' });
  });

  it('counts failed sign-ins across nodes', async () => {
    const browsers = nodes.map((node) => new Browser(node.url));
    for (let i = 0; i < 5; i++) {
      expect((await browsers[i % 2]?.login('pat@ppl-pg.example', `wrong password ${i}`))?.status).toBe(401);
    }
    for (const browser of browsers) {
      const locked = await browser.login('pat@ppl-pg.example', PASSWORD);
      expect(locked.status).toBe(429);
      expect(sessionCookieLine(locked.setCookies)).toBeUndefined();
    }
  });
});
