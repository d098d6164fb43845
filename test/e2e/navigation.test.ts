/**
 * Addresses, accessibility and the inspector in Chromium against a real server and real
 * containers: deep links (/register, /containers/<id>, /admin/<tab>, /inspector/<actor>),
 * back/forward, a clean console for a first-time visitor, axe-core's WCAG 2 A/AA rules on every
 * page, the container machine drawn without overlapping labels, and an admin restarting a slot
 * from the inspector while its machine shows the event go in. Screenshots: test-results/screenshots/.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { axeViolations } from '../support/axe.ts';
import { BrowserSession, registerInPage } from '../support/browser.ts';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { dist, ensureUiBuilt } from '../support/ui-build.ts';

let deck: TestDeck;
const session = new BrowserSession();

test.before(async () => {
  ensureUiBuilt();
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2,apache=1', POOLDECK_UI_DIR: dist });
  await session.launch();
});

test.after.always(async () => {
  await session.close();
  await deck?.destroy();
});

async function loginAsAdmin(page: Page): Promise<void> {
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(deck.env.POOLDECK_ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const path = (page: Page) => new URL(page.url()).pathname;

async function axePasses(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, page: Page, name: string): Promise<void> {
  await session.shot(page, `a11y-${name}`);
  t.deepEqual(await axeViolations(page), [], `axe on ${name}`);
}

test.serial('When a visitor opens the site for the first time and deep-links to /register, then the console stays clean and both pages pass axe', async (t) => {
  const page = await session.newPage();
  const messages: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') messages.push(`${m.type()}: ${m.text()}`);
  });
  const failed: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(deck.url);
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  await page.goto(`${deck.url}/register`);
  await page.getByRole('heading', { name: 'Create an account' }).waitFor();
  t.is(path(page), '/register');
  // axe is injected as a script, which the app's CSP (rightly) refuses: a second page lets it in.
  const a11y = await session.newPage({ bypassCSP: true });
  await a11y.goto(deck.url);
  await a11y.getByRole('heading', { name: 'Log in' }).waitFor();
  await axePasses(t, a11y, 'login');
  await a11y.goto(`${deck.url}/register`);
  await a11y.getByRole('heading', { name: 'Create an account' }).waitFor();
  await axePasses(t, a11y, 'register');
  // The link back to the login page works without a page load, and back returns to /register.
  await page.getByRole('link', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  t.is(path(page), '/login');
  await page.goBack();
  await page.getByRole('heading', { name: 'Create an account' }).waitFor();
  t.deepEqual(messages, []);
  t.deepEqual(failed, []);
});

let user = '';
let containerId = '';

test.serial('When a user launches a container, then it has its own address that works as a deep link, with back and forward', async (t) => {
  const page = await session.newPage({ bypassCSP: true });
  user = `nav${Date.now() % 1_000_000}`;
  await registerInPage(page, deck.url, user);
  await page.locator('.conn-live').waitFor();
  await page.locator('button.launcher').first().waitFor();
  // Every launch card is one consistent shape: same height, the type's mark, its name on one line.
  const cards = await page.locator('button.launcher').evaluateAll((els) =>
    els.map((el) => ({ h: Math.round(el.getBoundingClientRect().height), mark: !!el.querySelector('svg[data-mark]'), lines: Math.round(el.querySelector('.launcher-type')!.getBoundingClientRect().height / parseFloat(getComputedStyle(el.querySelector('.launcher-type')!).lineHeight || '20')) })),
  );
  t.true(cards.length >= 2);
  t.is(new Set(cards.map((c) => c.h)).size, 1, `launch cards differ in height: ${JSON.stringify(cards)}`);
  t.true(cards.every((c) => c.mark && c.lines === 1), JSON.stringify(cards));
  await axePasses(t, page, 'dashboard-empty');

  await page.locator('button[aria-label^="Launch nginx "]').click();
  await page.waitForURL(/\/containers\/\d+$/);
  containerId = path(page).split('/').pop()!;
  const card = page.locator(`article[data-container-id="${containerId}"]`);
  await card.locator('[data-status="assigned"]').waitFor();
  t.is(await card.getAttribute('aria-current'), 'page');
  await axePasses(t, page, 'dashboard');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
  await page.waitForURL(/\/account$/);
  await axePasses(t, page, 'account');
  await page.goBack();
  await page.waitForURL(new RegExp(`/containers/${containerId}$`));
  await card.waitFor();
  await page.goForward();
  await page.waitForURL(/\/account$/);

  // A fresh tab opened on the container's address shows it, brought into view.
  const fresh = await page.context().newPage();
  await fresh.goto(`${deck.url}/containers/${containerId}`);
  await fresh.locator(`article[data-container-id="${containerId}"][aria-current="page"]`).waitFor();
  await session.shot(fresh, 'deep-link-container');
  await fresh.close();

  // Logged out, the same address asks for a login first and then shows the container.
  const other = await session.newPage({ bypassCSP: true });
  await other.goto(`${deck.url}/containers/${containerId}`);
  await other.getByRole('heading', { name: 'Log in' }).waitFor();
  await other.getByLabel('Username').fill(user);
  await other.getByLabel('Password').fill('a long enough password');
  await other.getByRole('button', { name: 'Log in' }).click();
  await other.locator(`article[data-container-id="${containerId}"][aria-current="page"]`).waitFor();
  t.is(path(other), `/containers/${containerId}`);
});

test.serial('When an admin opens each admin page by its address, then every one passes axe', async (t) => {
  const page = await session.newPage({ bypassCSP: true });
  await page.goto(`${deck.url}/admin/users`);
  await loginAsAdmin(page);
  await page.locator(`tr[data-user="${user}"]`).waitFor();
  t.is(path(page), '/admin/users');
  await axePasses(t, page, 'admin-users');
  await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Pool' }).click();
  await page.locator('tr[data-slot]').first().waitFor();
  t.is(path(page), '/admin/pool');
  await axePasses(t, page, 'admin-pool');
  await page.goto(`${deck.url}/monitor`);
  await page.getByRole('heading', { name: 'Health monitor' }).waitFor();
  await page.locator('[data-monitor]').waitFor();
  await axePasses(t, page, 'monitor');
  await page.goto(`${deck.url}/inspector/pool`);
  await page.locator('figure.machine .machine-viewport').waitFor({ timeout: 60_000 });
  await axePasses(t, page, 'inspector-pool');
});

/** Pairs of text labels in the drawing whose boxes overlap (more than a pixel each way). */
function overlappingLabels(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const labels = [...document.querySelectorAll('figure.machine [data-label]')].map((el) => ({ text: el.textContent.trim(), r: el.getBoundingClientRect() }));
    const out = [];
    for (let i = 0; i < labels.length; i++)
      for (let j = i + 1; j < labels.length; j++) {
        const a = labels[i].r, b = labels[j].r;
        if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1) out.push(labels[i].text + ' × ' + labels[j].text);
      }
    return out;
  })()`);
}

test.serial('When an admin follows a container slot in the inspector, then its machine fits the panel with no overlapping labels, and restarting it shows the event and the states live', async (t) => {
  const slot = deck.runtime.slots().find((s) => s.type === 'nginx' && s.state === 'available')!;
  const page = await session.newPage({ bypassCSP: true });
  await page.goto(`${deck.url}/inspector/${slot.name}`);
  await loginAsAdmin(page);
  const figure = page.locator('figure.machine');
  await figure.locator('svg[data-active-states="container.available.ready"]').waitFor({ timeout: 60_000 });
  t.is(path(page), `/inspector/${slot.name}`);
  t.is(await page.locator('#actor-title').textContent(), slot.name);

  // Fitted: the whole drawing inside the panel, nothing overflowing sideways.
  const fit = await page.evaluate(`(() => {
    const fig = document.querySelector('figure.machine').getBoundingClientRect();
    const svg = document.querySelector('figure.machine svg');
    const r = svg.getBoundingClientRect();
    const labels = [...svg.querySelectorAll('[data-label]')].map((el) => el.getBoundingClientRect());
    return { fig: [fig.left, fig.right], svg: [r.left, r.right, r.top, r.bottom], zoom: svg.dataset.zoom, labels: labels.length,
      outside: labels.filter((l) => l.left < r.left - 1 || l.right > r.right + 1 || l.top < r.top - 1 || l.bottom > r.bottom + 1).length };
  })()`) as { fig: number[]; svg: number[]; zoom: string; labels: number; outside: number };
  t.true(fit.svg[0] >= fit.fig[0] && fit.svg[1] <= fit.fig[1], JSON.stringify(fit));
  t.is(fit.zoom, '1.000');
  // Readable when fitted: on this 1280 px window the container machine is drawn at 80 % or more (it was ~45 %).
  const scale = Number(await figure.locator('[data-scale]').getAttribute('data-scale'));
  t.true(scale >= 0.8, `fitted at ${scale}`);
  t.true(fit.labels > 20, `labels drawn: ${fit.labels}`);
  t.is(fit.outside, 0, 'every label inside the fitted drawing');
  t.deepEqual(await overlappingLabels(page), []);
  await session.shot(page, 'inspector-container');
  await axePasses(t, page, 'inspector-container');

  // Zoom and pan by keyboard; 0 fits again.
  await page.locator('.machine-viewport').focus();
  await page.keyboard.press('+');
  t.not(await figure.locator('svg').getAttribute('data-zoom'), '1.000');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('0');
  t.is(await figure.locator('svg').getAttribute('data-zoom'), '1.000');

  // Restart from the inspector: record every state the drawing shows from now on.
  await page.evaluate(`(() => {
    const svg = () => document.querySelector('figure.machine svg');
    window.__states = [svg().dataset.activeStates];
    new MutationObserver(() => {
      const now = svg()?.dataset.activeStates;
      if (now && now !== window.__states.at(-1)) window.__states.push(now);
    }).observe(document.querySelector('figure.machine'), { subtree: true, attributes: true, attributeFilter: ['data-active-states'] });
  })()`);
  const before = deck.runtime.slots().find((s) => s.name === slot.name)!.containerId;
  await page.getByRole('button', { name: `Restart ${slot.name}` }).click();
  await page.getByRole('button', { name: 'Yes, restart' }).click();
  await page.getByRole('status').filter({ hasText: `Restarting ${slot.name}` }).waitFor();
  await page.locator('table.events code', { hasText: 'container.died' }).first().waitFor({ timeout: 30_000 });
  await page.waitForFunction(`window.__states.includes('container.stopped.restarting') && window.__states.at(-1) === 'container.available.ready'`, undefined, { timeout: 60_000 });
  const seen = (await page.evaluate('window.__states')) as string[];
  t.log(`states: ${seen.join(' → ')}`);
  t.is(seen[0], 'container.available.ready');
  t.true(seen.indexOf('container.stopped.restarting') > 0);
  await session.shot(page, 'inspector-restarted');
  const after = deck.runtime.slots().find((s) => s.name === slot.name)!;
  t.is(after.state, 'available');
  t.is(after.containerId, before, 'restarted, not replaced');
});

test.serial('When the pages were used, then no script error happened', (t) => {
  t.deepEqual(session.pageErrors, []);
});
