// The MCP Inspector's web UI, used as the README tells a person to: the Inspector on a free
// loopback port, Chromium opening the address it prints, a server added by hand with the
// gateway's /t/{tenant}/mcp and switched on, which sends the browser to the gateway's sign-in;
// the person signs in, approves the Inspector, and is back in it, connected, with the tenant's
// tools in its Tools tab.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../test/support/chromium.ts';
import { runChecks, type ClientCheck } from './client-checks.ts';
import { freePort, operatorCommand, stopChild, type Running, type RunningGateway } from './processes.ts';
import type { Tooling } from './tooling.ts';

const START_TIMEOUT_MS = 30_000;
/** How long one step may take to show what it waits for, the Inspector's requests to the gateway included. */
const STEP_TIMEOUT_MS = 15_000;

/**
 * `mcp-inspector` (the web UI is its default) on a free loopback port, its state in `home`;
 * resolves with the address it prints for a person to open, its API token in the query.
 */
async function startInspectorWeb(tooling: Tooling, home: string, logFile: string): Promise<Running> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    HOST: '127.0.0.1',
    // Its own port must be fixed (the allowed origins derive from it); the MCP Apps ports need not.
    CLIENT_PORT: String(await freePort()),
    MCP_SANDBOX_PORT: '0',
    MCP_APP_ORIGIN_PORT: '0',
    MCP_AUTO_OPEN_ENABLED: 'false',
    // No keychain on a CI machine: the tokens it gets live as long as the run, in memory.
    MCP_INSPECTOR_SECRET_STORE: 'memory',
  };
  const child = spawn(tooling.node, [tooling.inspector], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(logFile);
  const stop = async () => {
    await stopChild(child);
    log.end();
  };
  let printed = '';
  const url = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), START_TIMEOUT_MS);
    const read = (chunk: Buffer) => {
      log.write(chunk);
      printed += chunk.toString('utf8');
      const address = /up and running at:\s+(\S+)/.exec(printed)?.[1];
      if (address !== undefined) {
        clearTimeout(timer);
        resolve(address);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  if (url === undefined) {
    await stop();
    throw new Error(`the MCP Inspector's web UI did not start (exit ${child.exitCode}); it printed:\n${printed.slice(-2_000)}`);
  }
  return { url, stop };
}

/** What a failed step says: Playwright's error, what it waited for, and the page it was on; a screenshot is kept. */
async function failure(page: Page, error: unknown, screenshot: string): Promise<string> {
  await page.screenshot({ path: screenshot }).catch(() => undefined);
  const lines = stripVTControlCharacters(error instanceof Error ? error.message : String(error)).split('\n');
  const waitedFor = lines.find((line) => line.includes('waiting for'))?.trim();
  return `${lines[0]}${waitedFor ? ` ${waitedFor}` : ''} (on ${page.url()}; screenshot ${screenshot})`;
}

/**
 * The checks, against a tenant that has a `files` server (inspector.ts adds it): a member
 * with a password is made to sign in as. Each check goes on in the page the one before left.
 */
export async function runInspectorWebChecks(options: { tooling: Tooling; gateway: RunningGateway; tenant: string; work: string }): Promise<ClientCheck[]> {
  const { tooling, gateway, tenant, work } = options;
  const person = { email: `inspector-web@${tenant}.example`, password: randomBytes(18).toString('base64url') };
  await operatorCommand(gateway, 'user.create', { tenant, email: person.email, role: 'member', password: person.password });
  const home = path.join(work, 'inspector-web-home');
  fs.mkdirSync(home, { recursive: true });
  const endpoint = `${gateway.url}/t/${tenant}/mcp`;
  const inspector = await startInspectorWeb(tooling, home, path.join(work, 'inspector-web.log'));
  let browser: Browser | undefined;
  let page: Page | undefined;
  let connected = false;
  try {
    return await runChecks([
      {
        name: 'web UI: a streamable-http server with the URL /t/{tenant}/mcp, switched on, sends the browser to the gateway’s sign-in; the person signs in, approves “MCP Inspector”, and is back in the Inspector, connected to botgate/{tenant}',
        async check() {
          browser = await launchChromium();
          const context = await browser.newContext();
          context.setDefaultTimeout(STEP_TIMEOUT_MS);
          page = await context.newPage();
          try {
            await page.goto(inspector.url);
            await page.getByRole('button', { name: 'Add Servers' }).click();
            await page.getByRole('menuitem', { name: '+ Add manually' }).click();
            const dialog = page.getByRole('dialog', { name: 'Add server' });
            await dialog.getByRole('textbox', { name: 'Server ID' }).fill(tenant);
            await dialog.getByRole('textbox', { name: 'Transport' }).click();
            await page.getByRole('option', { name: 'streamable-http' }).click();
            await dialog.getByRole('textbox', { name: 'URL' }).fill(endpoint);
            await dialog.getByRole('button', { name: 'Add' }).click();
            // The switch's input lies under its track, which a person clicks: the element holding both.
            await page.getByRole('switch', { name: `Connect or disconnect "${tenant}"` }).locator('..').click();

            await page.getByRole('heading', { level: 1, name: 'Sign in to Botgate' }).waitFor();
            if (new URL(page.url()).origin !== gateway.url) return `the sign-in page is at ${page.url()}, not on the gateway`;
            await page.getByRole('textbox', { name: 'Email' }).fill(person.email);
            await page.getByRole('textbox', { name: 'Password' }).fill(person.password);
            await page.getByRole('button', { name: 'Sign in' }).click();
            await page.getByRole('heading', { level: 1, name: 'Allow MCP Inspector to use Botgate?' }).waitFor();
            await page.getByRole('main').getByText(endpoint, { exact: true }).waitFor();
            await page.getByRole('button', { name: 'Allow' }).click();

            await page.waitForURL((url) => url.origin === new URL(inspector.url).origin);
            await page.getByRole('switch', { name: `Connect or disconnect "${tenant}"`, checked: true }).waitFor();
            await page.getByRole('banner').getByText(`botgate/${tenant}`, { exact: true }).waitFor();
            connected = true;
            return undefined;
          } catch (error) {
            return failure(page, error, path.join(work, 'inspector-web-sign-in.png'));
          }
        },
      },
      {
        name: 'web UI: its Tools tab lists the tenant’s tools, each named {server}__{tool} (files__read_file, everything__echo)',
        async check() {
          if (!page || !connected) return 'not connected (see the check above)';
          try {
            await page.getByRole('banner').getByText('Tools', { exact: true }).click();
            const heading = page.getByRole('main').getByRole('heading', { level: 3, name: /^Tools \(\d+\)$/ });
            await heading.waitFor();
            const names = await page.getByRole('main').getByText(/^[\w-]+__[\w-]+$/).allTextContents();
            const missing = ['files__read_file', 'files__write_file', 'everything__echo'].filter((name) => !names.includes(name));
            if (missing.length > 0) return `missing ${missing.join(', ')} among ${names.join(', ')}`;
            const count = Number(/\((\d+)\)/.exec((await heading.textContent()) ?? '')?.[1]);
            return count === names.length ? undefined : `the heading counts ${count} tools, ${names.length} are named {server}__{tool}`;
          } catch (error) {
            return failure(page, error, path.join(work, 'inspector-web-tools.png'));
          }
        },
      },
    ]);
  } finally {
    await browser?.close();
    await inspector.stop();
  }
}
