import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auth } from '@modelcontextprotocol/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityProblems, chromiumSkipReason, launchChromium } from '../support/chromium.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, seedTenant } from '../support/http.ts';
import { connectFullV2 } from '../support/mcp-full-clients.ts';
import { MemoryOAuthProvider } from '../support/oauth.ts';

const SLUG = 'pages-a';
const EMAIL = `owner@${SLUG}.example`;
const PASSWORD = 'correct horse battery staple';
const LOGIN_FAILED = 'Email or password is incorrect.';
const CLIENT_NAME = 'Browser E2E client';

const skipReason = chromiumSkipReason();
if (skipReason !== undefined) process.stderr.write(`\nNOTICE: ${skipReason}.\n\n`);

/** A desktop app's loopback redirect listener: answers every request with a small page and remembers the URLs. */
async function startCallbackServer(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Connected</title><p>You can close this window.</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(skipReason !== undefined)('the sign-in, account and consent pages in Chromium', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let chrome: Browser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let ownerKey: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    // Started together; each is kept as soon as it is up, so afterAll stops it even if another failed.
    const started = await Promise.allSettled([
      startGateway({ dataDir }).then((g) => (gateway = g)),
      launchChromium().then((b) => (chrome = b)),
      startCallbackServer().then((c) => (callback = c)),
    ]);
    for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
    ownerKey = (await seedTenant(dataDir, SLUG)).key.secret;
    const files = await apiClient(gateway.url, ownerKey).post('/api/v1/servers', { json: { slug: 'files', kind: 'filesystem' } });
    if (files.status !== 201) throw new Error(`setup: the files server was not created: ${JSON.stringify(files.body)}`);
  });

  afterAll(async () => {
    await chrome?.close();
    await callback?.close();
    await gateway?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  /**
   * A page in a fresh cookie jar, with the errors the browser reports (a CSP block, a script error)
   * collected. A page answered with an error status is logged too; the tests assert those themselves.
   */
  async function openPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await chrome.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded with a status of')) {
        errors.push(message.text());
      }
    });
    page.on('pageerror', (error) => errors.push(error.message));
    return { context, page, errors };
  }

  const sessionCookie = async (context: BrowserContext) => (await context.cookies()).find((c) => c.name === 'botgate_session');

  it('signs in through the labelled form, lands on the account page, and signs out', async () => {
    const { context, page, errors } = await openPage();
    await page.goto(`${gateway.url}/login`);
    expect(await page.title()).toBe('Sign in · Botgate');
    expect(await accessibilityProblems(page)).toEqual([]);

    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${gateway.url}/`);

    expect(await page.title()).toBe('Your account · Botgate');
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Your account');
    const main = await page.getByRole('main').innerText();
    expect(main).toContain(`Signed in as ${EMAIL}.`);
    expect(main).toContain(`MCP: ${gateway.url}/t/${SLUG}/mcp`);
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(await sessionCookie(context)).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false });

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${gateway.url}/login`);
    expect(await sessionCookie(context)).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('shows the error on a wrong password, on the field, and sets no session cookie', async () => {
    const { context, page, errors } = await openPage();
    await page.goto(`${gateway.url}/login`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expectText(page.getByRole('alert'), LOGIN_FAILED);
    expect(new URL(page.url()).pathname).toBe('/login');
    // The email stays filled in, and both fields point at the message.
    const email = page.getByLabel('Email');
    expect(await email.inputValue()).toBe(EMAIL);
    for (const field of [email, page.getByLabel('Password')]) {
      expect(await field.getAttribute('aria-invalid')).toBe('true');
      expect(await field.getAttribute('aria-describedby')).toBe('login-error');
    }
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(await sessionCookie(context)).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('signs in with the keyboard alone: Tab to each field, type, Enter', async () => {
    const { context, page, errors } = await openPage();
    await page.goto(`${gateway.url}/login`);

    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').getAttribute('id')).toBe('email');
    await page.keyboard.type(EMAIL);
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').getAttribute('id')).toBe('password');
    await page.keyboard.type(PASSWORD);
    // The button comes next in the tab order; Enter in a field submits the form as well.
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Sign in');
    await page.keyboard.press('Shift+Tab');
    expect(await page.locator(':focus').getAttribute('id')).toBe('password');
    await page.keyboard.press('Enter');

    await page.waitForURL(`${gateway.url}/`);
    expect(await page.getByRole('main').innerText()).toContain(`Signed in as ${EMAIL}.`);
    expect(await sessionCookie(context)).toBeDefined();
    expect(errors).toEqual([]);
  });

  it('accepts an invitation with a new password: errors point at both fields, then the account page', async () => {
    const invited = await apiClient(gateway.url, ownerKey).post<{ invite_url: string }>('/api/v1/invitations', {
      json: { email: `new@${SLUG}.example`, role: 'member' },
    });
    expect(invited.status).toBe(201);
    const { page, errors } = await openPage();
    await page.goto(invited.body.invite_url);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe(`Join ${SLUG} on Botgate`);
    expect(await accessibilityProblems(page)).toEqual([]);

    const password = page.getByLabel('Password', { exact: true });
    const again = page.getByLabel('Password again');
    await password.fill('a long enough password');
    await again.fill('another long password');
    await page.getByRole('button', { name: 'Create account and join' }).click();
    await expectText(page.getByRole('alert'), 'The two passwords do not match.');
    for (const field of [password, again]) {
      expect(await field.getAttribute('aria-invalid')).toBe('true');
      expect(await field.getAttribute('aria-describedby')).toBe('invite-error');
    }
    expect(await accessibilityProblems(page)).toEqual([]);

    await password.fill('a long enough password');
    await again.fill('a long enough password');
    await page.getByRole('button', { name: 'Create account and join' }).click();
    await page.waitForURL(`${gateway.url}/`);
    expect(await page.getByRole('main').innerText()).toContain(`Signed in as new@${SLUG}.example.`);
    expect(errors).toEqual([]);
  });

  it('runs an MCP client authorization in the browser: sign in, consent, code back to the app, tools with the token', async () => {
    const serverUrl = `${gateway.url}/t/${SLUG}/mcp`;
    const provider = new MemoryOAuthProvider(callback.url, { clientName: CLIENT_NAME });
    // The SDK discovers the gateway, registers the client and builds the authorization URL.
    expect(await auth(provider, { serverUrl, scope: 'mcp offline_access' })).toBe('REDIRECT');
    const authorization = provider.authorizationUrl ?? new URL('about:blank');
    expect(Object.fromEntries(authorization.searchParams)).toMatchObject({
      response_type: 'code',
      code_challenge_method: 'S256',
      redirect_uri: callback.url,
      resource: serverUrl,
      scope: 'mcp offline_access',
    });
    const state = authorization.searchParams.get('state');
    expect(state).toBeTruthy();

    const { context, page, errors } = await openPage();
    await page.goto(authorization.toString());
    // Nobody is signed in in this browser: the gateway asks first, then comes back to the request.
    await page.getByRole('heading', { level: 1, name: 'Sign in to Botgate' }).waitFor();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { level: 1, name: `Allow ${CLIENT_NAME} to use Botgate?` }).waitFor();
    expect(await page.title()).toBe(`Allow ${CLIENT_NAME} to use Botgate? · Botgate`);
    expect(await accessibilityProblems(page)).toEqual([]);
    const consent = await page.getByRole('main').innerText();
    expect(consent).toContain(`${CLIENT_NAME} asks to connect to Botgate as you.`);
    expect(consent).toContain(`an app on this computer (${new URL(callback.url).host})`);
    expect(consent).toContain('mcp: Use the tools and bots you may use at this endpoint, as you.');
    expect(consent).toContain('offline_access: Stay connected without asking you again (refresh tokens).');
    expect(consent).toContain(serverUrl);
    expect(await page.getByRole('radio', { name: new RegExp(`\\(${SLUG}\\)`) }).isChecked()).toBe(true);
    expect(callback.hits).toEqual([]);

    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.href.startsWith(callback.url));
    const landed = new URL(page.url());
    expect(landed.searchParams.get('state')).toBe(state);
    expect(landed.searchParams.get('iss')).toBe(gateway.url);
    const code = landed.searchParams.get('code') ?? '';
    expect(code).not.toBe('');
    expect(callback.hits.filter((hit) => hit.startsWith('/callback'))).toHaveLength(1);

    // The app exchanges the code with its PKCE verifier, then lists the tools with the access token.
    expect(await auth(provider, { serverUrl, authorizationCode: code, iss: gateway.url })).toBe('AUTHORIZED');
    const client = await connectFullV2(serverUrl, provider.saved?.access_token);
    try {
      expect((await client.listTools()).map((t) => t.name)).toContain('files__read_file');
    } finally {
      await client.close();
    }

    // The approval is listed on the person's connected clients, with a named button to withdraw it.
    await page.goto(`${gateway.url}/oauth/consents`);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByRole('button', { name: `Withdraw the approval of ${CLIENT_NAME} for ${serverUrl}` }).waitFor();
    expect(await sessionCookie(context)).toBeDefined();
    expect(errors).toEqual([]);
  });
});

/** Waits until `locator` shows `text` (the page may still be loading). */
async function expectText(locator: ReturnType<Page['getByRole']>, text: string): Promise<void> {
  await locator.filter({ hasText: text }).waitFor();
  expect((await locator.innerText()).trim()).toBe(text);
}
