/**
 * Account self-service and the audit log in headless Chromium against a real server: a password
 * change in one browser ends the session of another; an admin sees their resize in the audit log.
 * Screenshots: test-results/screenshots/account-password.png, admin-audit.png.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { BrowserSession, PASSWORD, registerInPage } from '../support/browser.ts';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { dist, ensureUiBuilt } from '../support/ui-build.ts';

let deck: TestDeck;
const session = new BrowserSession();

test.before(async () => {
  ensureUiBuilt();
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=1', POOLDECK_UI_DIR: dist });
  await session.launch();
});

test.after.always(async () => {
  await session.close();
  await deck?.destroy();
});

async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(deck.url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

async function openNav(page: Page, name: string, heading: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

test.serial('When a user changes the password in one browser, then the other browser is signed out and the sessions list shows one', async (t) => {
  const username = `pw${Date.now() % 100000}`;
  const first = await session.newPage();
  await registerInPage(first, deck.url, username);
  const second = await session.newPage();
  await logIn(second, username, PASSWORD);

  await openNav(first, 'Account', 'Account');
  await first.locator('[data-session-id]').nth(1).waitFor();
  t.is(await first.locator('[data-session-id]').count(), 2);

  const form = first.locator('form[data-form="password"]');
  await form.getByLabel('Current password').fill(PASSWORD);
  await form.getByLabel('New password (at least 8 characters)').fill('another long password');
  await form.getByLabel('New password again').fill('another long password');
  await form.getByRole('button', { name: 'Change password' }).click();
  await first.getByText('Password changed. 1 other session ended.').waitFor();
  await session.shot(first, 'account-password');

  const me = await second.evaluate(async () => (await fetch('/api/me')).status);
  t.is(me, 401, 'the other browser lost its session');
  const still = await first.evaluate(async () => (await fetch('/api/me')).status);
  t.is(still, 200, 'the browser that changed it keeps its session');
  await first.reload();
  await first.locator('[data-session-id]').first().waitFor();
  t.is(await first.locator('[data-session-id]').count(), 1);
});

test.serial('When an admin resizes the pool, then the admin page lists the resize in the audit log', async (t) => {
  const page = await session.newPage();
  await logIn(page, 'admin', deck.env.POOLDECK_ADMIN_PASSWORD!);
  const resized = await page.evaluate(async () => {
    const res = await fetch('/api/admin/pool/resize', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'nginx', size: 2 }) });
    return res.status;
  });
  t.is(resized, 200);
  await openNav(page, 'Admin', 'Admin');
  await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Audit log' }).click();
  const region = page.getByRole('region', { name: 'Audit entries' });
  const row = region.locator('tr[data-audit-action="admin.pool.resize"]').first();
  await row.waitFor();
  t.regex(await row.innerText(), /admin[\s\S]*admin\.pool\.resize[\s\S]*ok[\s\S]*size: 2/);

  await page.getByLabel('Action').fill('auth.login');
  await page.getByRole('button', { name: 'Show' }).click();
  await region.locator('tr[data-audit-action="admin.pool.resize"]').waitFor({ state: 'detached' });
  t.true((await region.locator('tr[data-audit-action]').count()) >= 1);
  t.is(await region.locator('tr[data-audit-action]:not([data-audit-action="auth.login"])').count(), 0);
  await session.shot(page, 'admin-audit');
  t.deepEqual(session.pageErrors.filter((e) => !/401/.test(e)), []);
});
