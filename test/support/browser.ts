/**
 * Headless Debian Chromium (playwright-core, never a downloaded browser) for the e2e tests:
 * pages on a laptop or phone viewport that collect script errors, screenshots into
 * test-results/screenshots/, and registration through the real form.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { root } from './ui-build.ts';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const SHOTS = path.join(root, 'test-results', 'screenshots');
export const PASSWORD = 'a long enough password';

export class BrowserSession {
  /** Script errors and console errors seen on any page of this session. */
  readonly pageErrors: string[] = [];
  /** Every browser context opened, in order (tests reach earlier pages through them). */
  readonly contexts: BrowserContext[] = [];
  private browser: Browser | null = null;

  async launch(): Promise<this> {
    mkdirSync(SHOTS, { recursive: true });
    this.browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    return this;
  }

  /** `bypassCSP`: for tests that inject scripts (axe-core) or wait on string predicates; the app's own CSP is tested elsewhere. */
  async newPage(options: { mobile?: boolean; bypassCSP?: boolean } = {}): Promise<Page> {
    const context = await this.browser!.newContext({
      ...(options.mobile ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } : { viewport: { width: 1280, height: 900 } }),
      bypassCSP: options.bypassCSP ?? false,
    });
    this.contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => this.pageErrors.push(`${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) this.pageErrors.push(`${page.url()}: console: ${message.text()}`);
    });
    return page;
  }

  shot(page: Page, name: string) {
    return page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser?.close();
  }
}

/** Fill the real registration form and wait for the dashboard. */
export async function registerInPage(page: Page, baseUrl: string, username: string, password = PASSWORD): Promise<void> {
  await page.goto(`${baseUrl}/register`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.test`);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('heading', { name: 'My containers' }).waitFor();
}
