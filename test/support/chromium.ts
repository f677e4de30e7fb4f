import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium: playwright-core drives it and never downloads a browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Why the browser tests cannot run here, or undefined when they can. Only a
 * developer's machine without Chromium skips them; in CI (`CI` set) they run,
 * and fail if .ci/run did not install it.
 */
export function chromiumSkipReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH) || process.env['CI']) return undefined;
  return `${CHROMIUM_PATH} is not installed (apt-get install -y chromium), so the browser tests are skipped`;
}

/**
 * Starts headless Chromium. Each launch gets a fresh, temporary profile
 * (playwright-core makes it and deletes it on close); each `newContext()` is a
 * fresh cookie jar. Background networking is off: this network is closed, and
 * Chromium's own outbound connections would only fail noisily.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: .ci/run installs it with apt-get install chromium`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const CONTROL_ROLES = ['textbox', 'searchbox', 'combobox', 'checkbox', 'radio', 'button', 'spinbutton', 'slider', 'switch'];

/**
 * What a screen-reader user would miss on the current page: a <title>, one
 * <h1>, a language, and an accessible name on every control, as Chromium's
 * accessibility tree (through Playwright's snapshot) presents them. Empty when
 * the page passes.
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  if ((await page.title()).trim() === '') problems.push('the page has no <title>');
  const headings = await page.getByRole('heading', { level: 1 }).count();
  if (headings !== 1) problems.push(`the page has ${headings} <h1> headings, not one`);
  if (!(await page.locator('html').getAttribute('lang'))) problems.push('<html> has no lang');
  const tree = await page.locator('body').ariaSnapshot();
  for (const line of tree.split('\n')) {
    const role = /^\s*- (\w+)/.exec(line)?.[1];
    // A named control reads `- textbox "Email"`; an unnamed one has no quoted name.
    if (role !== undefined && CONTROL_ROLES.includes(role) && !/^\s*- \w+ "[^"]+"/.test(line)) problems.push(`a control has no name: ${line.trim()}`);
  }
  return problems;
}
