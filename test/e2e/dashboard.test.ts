/**
 * The dashboard in headless Chromium (playwright-core, Debian's /usr/bin/chromium) against a
 * real server (startTestDeck) and real containers. Screenshots of every page go to
 * test-results/screenshots/. The UI is built first when dist/ is missing or older than ui/.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { BrowserSession, PASSWORD, registerInPage } from '../support/browser.ts';
import { docker } from '../support/docker.ts';
import { adminClient } from '../integration/client.ts';
import { fetchText, startTestDeck, type TestDeck } from '../support/server.ts';
import { dist, ensureUiBuilt } from '../support/ui-build.ts';


let deck: TestDeck;
const session = new BrowserSession();
const pageErrors = session.pageErrors;
const contexts = session.contexts;

test.before(async () => {
  ensureUiBuilt();
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=3', POOLDECK_UI_DIR: dist });
  await session.launch();
});

test.after.always(async () => {
  await session.close();
  await deck?.destroy();
});

const newPage = (options: { mobile?: boolean } = {}) => session.newPage(options);
const shot = (page: Page, name: string) => session.shot(page, name);

async function register(page: Page, username: string): Promise<void> {
  await registerInPage(page, deck.url, username);
  await page.locator('.conn-live').waitFor();
}

async function launch(page: Page, type: string): Promise<string> {
  const before = await page.locator('article.container-card').count();
  await page.locator(`button[aria-label^="Launch ${type} "]`).click();
  await page.waitForFunction((n) => document.querySelectorAll('article.container-card').length > n, before);
  const card = page.locator('article.container-card').last();
  await card.locator('[data-status="assigned"]').waitFor();
  return (await card.getAttribute('data-name'))!;
}

/**
 * Record every status text a container's card shows, from now on, in window.__statuses.
 * (In-page code is passed as a string: tsx would wrap named functions in a `__name` helper
 * that does not exist in the page.)
 */
async function watchStatus(page: Page, name: string): Promise<void> {
  await page.evaluate(`(() => {
    const read = () => document.querySelector('article[data-name="${name}"] [data-status]')?.textContent?.trim() ?? 'gone';
    let last = read();
    window.__statuses = [last];
    new MutationObserver(() => {
      const now = read();
      if (now !== last) { last = now; window.__statuses.push(now); }
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  })()`);
}

const statuses = (page: Page) => page.evaluate(() => (window as unknown as { __statuses: string[] }).__statuses);

let userName = '';
let userPage: Page;
let container = '';

test.serial('When a user registers, launches nginx and uploads index.html, then its URL serves the file, and the admin page and the inspector show it live', async (t) => {
  // The admin is watching before anything happens: the admin page and the inspector, side by side.
  const adminPage = await newPage();
  await adminPage.goto(deck.url);
  await adminPage.getByRole('heading', { name: 'Log in' }).waitFor();
  await shot(adminPage, 'login');
  await adminPage.getByLabel('Username').fill('admin');
  await adminPage.getByLabel('Password').fill(deck.env.POOLDECK_ADMIN_PASSWORD);
  await adminPage.getByRole('button', { name: 'Log in' }).click();
  await adminPage.getByRole('link', { name: 'Admin' }).click();
  await adminPage.locator('tr[data-slot]').first().waitFor();
  t.is(await adminPage.locator('tr[data-slot]').count(), 3);
  // One engine: no Nodes panel and no Node column (the slots and the nodes arrive in one sync).
  t.is(await adminPage.locator('section[data-nodes], #nodes-title').count(), 0, 'no Nodes panel on one engine');
  t.deepEqual(await adminPage.locator('table.slots thead th').allTextContents().then((h) => h.filter((text) => /node/i.test(text))), [], 'no Node column on one engine');
  const inspectorPage = await adminPage.context().newPage();
  inspectorPage.on('pageerror', (error) => pageErrors.push(`inspector: ${error.message}`));
  await inspectorPage.goto(`${deck.url}/inspector`);
  await inspectorPage.locator('button.actor[data-actor-name^="pool_nginx_"]').first().waitFor();
  t.is(await inspectorPage.locator('button.actor[data-actor-name^="pool_nginx_"]').count(), 3);

  userPage = await newPage();
  userName = `web${Date.now() % 1_000_000}`;
  await userPage.goto(`${deck.url}/register`);
  await shot(userPage, 'register');
  await register(userPage, userName);
  await userPage.locator('button[aria-label="Launch nginx 3 free"]').waitFor();
  container = await launch(userPage, 'nginx');
  await userPage.locator('button[aria-label="Launch nginx 2 free"]').waitFor();
  const card = userPage.locator(`article[data-name="${container}"]`);
  const url = (await card.locator('.access a').getAttribute('href'))!;
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);

  // Live on the admin page: the slot's owner appears without a reload.
  await adminPage.locator(`tr[data-slot="${container}"] td.owner`, { hasText: userName }).waitFor();
  t.is(await adminPage.locator(`tr[data-slot="${container}"]`).getAttribute('data-state'), 'assigned');

  // Live in the inspector: follow the slot's actor; its machine shows assigned.serving, its context the owner.
  await inspectorPage.locator(`button.actor[data-actor-name="${container}"]`).click();
  await inspectorPage.waitForFunction(
    (states) => document.querySelector('figure.machine svg')?.getAttribute('data-active-states') === states,
    'container.assigned.serving',
  );
  await inspectorPage.locator('pre[data-context]', { hasText: userName }).waitFor();
  t.false((await inspectorPage.locator('pre[data-context]').textContent())!.includes(PASSWORD));

  // Upload with the file picker (index.html) and by drag and drop (style.css).
  const html = `<!doctype html><h1>Hello from ${userName}</h1>`;
  await card.getByLabel(`Choose files to upload to ${container}`).setInputFiles({ name: 'index.html', mimeType: 'text/html', buffer: Buffer.from(html) });
  await card.getByRole('status').filter({ hasText: 'Uploaded index.html.' }).waitFor();
  await card.locator('.file-list li', { hasText: 'index.html' }).waitFor();
  await card.getByRole('region', { name: `Upload files to ${container}` }).evaluate((zone) => {
    const data = new DataTransfer();
    data.items.add(new File(['h1 { color: teal }'], 'style.css', { type: 'text/css' }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await card.locator('.file-list li', { hasText: 'style.css' }).waitFor();

  // The container's URL serves the uploaded page (in the browser, like the user would open it).
  const site = await userPage.context().newPage();
  await site.goto(url);
  t.is(await site.locator('h1').textContent(), `Hello from ${userName}`);
  await site.close();
  await shot(userPage, 'dashboard');
  await shot(adminPage, 'admin');
  await shot(inspectorPage, 'inspector');

  // A bigger upload shows its progress; a file can be deleted from the list.
  await userPage.evaluate(`(() => {
    window.__progress = [];
    new MutationObserver(() => {
      const bar = document.querySelector('article[data-name="${container}"] progress');
      if (bar) window.__progress.push(Number(bar.getAttribute('value') ?? bar.value));
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  })()`);
  await card.getByLabel(`Choose files to upload to ${container}`).setInputFiles({ name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.alloc(4 * 1024 * 1024, 97) });
  await card.getByRole('status').filter({ hasText: 'Uploaded big.txt.' }).waitFor();
  const progress = (await userPage.evaluate('window.__progress')) as number[];
  t.true(progress.length > 0, 'a progress bar was shown');
  t.is(Math.max(...progress), 1);
  await card.locator('.file-list li', { hasText: 'big.txt' }).waitFor();
  await card.getByRole('button', { name: 'Delete big.txt' }).click();
  await card.locator('.file-list li', { hasText: 'big.txt' }).waitFor({ state: 'detached' });
  t.is(await card.locator('.file-list li').count(), 2);

  // An upload that is refused says why, in words.
  await card.getByLabel(`Choose files to upload to ${container}`).setInputFiles({ name: 'run.exe', mimeType: 'application/octet-stream', buffer: Buffer.from('MZ') });
  const refusal = await card.getByRole('alert').textContent();
  t.regex(refusal!, /upload failed: files of type "\.exe" cannot be uploaded/);
  await inspectorPage.close();
});

test.serial('When the container is killed from outside, then its card shows failed and then assigned again without a reload, and the files survive; an admin restart is told as one', async (t) => {
  await userPage.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
  await watchStatus(userPage, container);
  await docker('kill', container);
  await userPage.waitForFunction(() => (window as unknown as { __statuses: string[] }).__statuses.includes('failed'));
  await shot(userPage, 'dashboard-failed');
  await userPage.waitForFunction(() => {
    const seen = (window as unknown as { __statuses: string[] }).__statuses;
    const failed = seen.indexOf('failed');
    return failed >= 0 && seen.slice(failed + 1).includes('assigned');
  }, undefined, { timeout: 60_000 });
  const seen = await statuses(userPage);
  t.log(`card statuses: ${seen.join(' → ')}`);
  t.deepEqual(seen, ['assigned', 'failed', 'assigned']);
  t.true(await userPage.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true), 'the page was not reloaded');
  await userPage.locator('[role="status"]', { hasText: 'was rebuilt with your files' }).waitFor();
  await shot(userPage, 'dashboard-recovered');
  const card = userPage.locator(`article[data-name="${container}"]`);
  const url = (await card.locator('.access a').getAttribute('href'))!;
  const page = await fetchText(url);
  t.regex(page.body, new RegExp(`Hello from ${userName}`));

  // An admin's restart of the same container is told as such, not as a failure of its own.
  const admin = await adminClient(deck);
  t.is((await admin.post(`/api/admin/slots/${container}/restart`, {})).status, 200);
  await userPage.locator('[role="status"]', { hasText: `An admin restarted ${container}; it is serving again with your files` }).waitFor({ timeout: 60_000 });
  t.regex((await fetchText(url)).body, new RegExp(`Hello from ${userName}`));
});

test.serial('When the admin changes the health interval and pauses and resumes the monitor, then the monitor page shows each change live', async (t) => {
  const adminPage = contexts[0].pages()[0];
  await adminPage.getByRole('link', { name: 'Monitor' }).click();
  await adminPage.getByRole('heading', { name: 'Health monitor' }).waitFor();
  await adminPage.locator('[data-monitor="running"]').waitFor();

  await adminPage.getByLabel('Interval (seconds)').fill('7');
  await adminPage.getByRole('button', { name: 'Set interval' }).click();
  await adminPage.locator('[data-interval]', { hasText: /^7$/ }).waitFor();
  t.is(deck.runtime.monitor().intervalMs, 7000);

  await adminPage.getByRole('button', { name: 'Pause' }).click();
  await adminPage.locator('[data-monitor="paused"]').waitFor();
  t.true(deck.runtime.monitor().paused);
  await adminPage.getByRole('button', { name: 'Resume' }).click();
  await adminPage.locator('[data-monitor="running"]').waitFor();
  t.false(deck.runtime.monitor().paused);

  const rows = await adminPage.locator('table.sweeps tbody tr').count();
  await adminPage.getByRole('button', { name: 'Run check now' }).click();
  await adminPage.getByRole('status').filter({ hasText: /^Checked \d+ containers/ }).waitFor();
  await adminPage.waitForFunction((n) => document.querySelectorAll('table.sweeps tbody tr').length > n, rows);
  await shot(adminPage, 'monitor');

  // The interval changed from a socket of another admin tab shows up here too.
  const other = await adminPage.context().newPage();
  await other.goto(`${deck.url}/monitor`);
  await other.locator('[data-interval]', { hasText: /^7$/ }).waitFor();
  deck.runtime.setHealthInterval(9);
  await adminPage.locator('[data-interval]', { hasText: /^9$/ }).waitFor();
  await other.locator('[data-interval]', { hasText: /^9$/ }).waitFor();
  await other.close();
  deck.runtime.setHealthInterval(30);
  t.pass();
});

test.serial('When the admin grows the pool and reinitialises it, then the new container appears live for the admin and the user', async (t) => {
  const adminPage = contexts[0].pages()[0];
  await adminPage.getByRole('link', { name: 'Admin' }).click();
  await adminPage.locator('tr[data-slot]').first().waitFor();
  await adminPage.getByLabel('New size of the nginx pool').fill('4');
  await adminPage.getByRole('button', { name: 'Resize the nginx pool' }).click();
  await adminPage.getByRole('status').filter({ hasText: 'nginx: 1 added' }).waitFor();
  await adminPage.waitForFunction(() => document.querySelectorAll('tr[data-slot]').length === 4);
  await adminPage.locator('tr[data-slot][data-state="available"]').nth(2).waitFor({ timeout: 60_000 });
  await userPage.locator('button[aria-label="Launch nginx 3 free"]').waitFor({ timeout: 60_000 });

  await adminPage.getByRole('button', { name: 'Reinitialise pool' }).click();
  await adminPage.getByRole('button', { name: 'Yes, reinitialise' }).click();
  await adminPage.getByRole('status').filter({ hasText: /^Reinitialising 3 free containers; 1 in use/ }).waitFor();
  t.is(await userPage.locator(`article[data-name="${container}"] [data-status]`).textContent(), 'assigned', 'the container in use is left alone');
  await userPage.locator('button[aria-label="Launch nginx 3 free"]').waitFor({ timeout: 60_000 });
  await adminPage.waitForFunction(() => document.querySelectorAll('tr[data-slot][data-state="available"]').length === 3, undefined, { timeout: 60_000 });
  await shot(adminPage, 'admin-resized');
});

test.serial("When a second user launches a container, then neither user's page ever shows the other's container", async (t) => {
  const other = await newPage({ mobile: true });
  const otherName = `mob${Date.now() % 1_000_000}`;
  await register(other, otherName);
  // Watch the first user's page for any trace of the other's container from now on.
  await userPage.evaluate(`(() => {
    window.__cards = new Set();
    const note = () => document.querySelectorAll('article.container-card').forEach((a) => window.__cards.add(a.getAttribute('data-name') ?? ''));
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true });
  })()`);
  const theirs = await launch(other, 'nginx');
  t.not(theirs, container);
  await other.locator('button[aria-label="Launch nginx 2 free"]').waitFor();
  await userPage.locator('button[aria-label="Launch nginx 2 free"]').waitFor();
  await docker('kill', theirs);
  await other.locator(`article[data-name="${theirs}"] [data-status="failed"], article[data-name="${theirs}"] [data-status="assigned"]`).first().waitFor();
  await other.locator(`article[data-name="${theirs}"] [data-status="assigned"]`).waitFor({ timeout: 60_000 });
  await shot(other, 'dashboard-phone');

  const seenByFirst = await userPage.evaluate(() => [...(window as unknown as { __cards: Set<string> }).__cards]);
  t.deepEqual(seenByFirst, [container]);
  t.deepEqual(await other.locator('article.container-card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-name'))), [theirs]);
  t.false((await userPage.content()).includes(theirs));
  t.false((await other.content()).includes(container));
  // The first user cannot reach it by id either.
  const id = await other.locator(`article[data-name="${theirs}"]`).getAttribute('data-container-id');
  const status = await userPage.evaluate(`fetch('/api/containers/${id}/files').then((r) => r.status)`);
  t.is(status, 404);

  // The admin takes the container back, then deletes the user: the user's page follows live.
  const adminPage = contexts[0].pages()[0];
  await adminPage.getByRole('link', { name: 'Admin' }).click();
  await adminPage.getByRole('button', { name: `Release ${theirs}` }).click();
  await adminPage.getByRole('button', { name: 'Yes, release' }).click();
  await adminPage.locator(`tr[data-slot="${theirs}"] td.owner`, { hasText: '—' }).waitFor();
  await other.locator(`article[data-name="${theirs}"]`).waitFor({ state: 'detached' });
  await adminPage.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Users' }).click();
  await adminPage.getByRole('button', { name: 'Refresh users' }).click();
  await adminPage.getByRole('button', { name: `Delete user ${otherName}` }).click();
  await adminPage.getByRole('button', { name: 'Yes, delete' }).click();
  await adminPage.locator(`tr[data-user="${otherName}"]`).waitFor({ state: 'detached' });
  await other.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: 30_000 });
});

test.serial('When the user releases with confirmation, then the card goes away and the admin page shows the slot free', async (t) => {
  const card = userPage.locator(`article[data-name="${container}"]`);
  await card.getByRole('button', { name: `Release ${container}` }).click();
  await card.getByRole('group', { name: /Release .*\? Its files will be deleted\./ }).waitFor();
  await shot(userPage, 'dashboard-release-confirm');
  await card.getByRole('button', { name: 'Yes, release' }).click();
  await card.waitFor({ state: 'detached' });
  t.is(await userPage.locator('article.container-card').count(), 0);
  await userPage.getByText('You have no containers.').waitFor();

  const adminPage = contexts[0].pages()[0];
  await adminPage.getByRole('link', { name: 'Admin' }).click();
  await adminPage.locator(`tr[data-slot="${container}"] td.owner`, { hasText: '—' }).waitFor();
  t.false(deck.runtime.slots().some((s) => s.assignment?.username === userName));
});

test.serial('When an admin uses a phone, then every page fits the screen without sideways scrolling', async (t) => {
  const phone = await newPage({ mobile: true });
  await phone.goto(deck.url);
  await phone.getByLabel('Username').fill('admin');
  await phone.getByLabel('Password').fill(deck.env.POOLDECK_ADMIN_PASSWORD);
  await phone.getByRole('button', { name: 'Log in' }).click();
  await phone.getByRole('heading', { name: 'My containers' }).waitFor();
  const pages: Array<[string, string]> = [['/', 'My containers'], ['/admin', 'Pool by type'], ['/monitor', 'Health-check log'], ['/inspector', 'Inspector']];
  for (const [route, heading] of pages) {
    await phone.goto(`${deck.url}${route}`);
    await phone.getByRole('heading', { name: heading }).first().waitFor();
    if (route === '/inspector') await phone.locator('figure.machine').waitFor();
    const overflow = (await phone.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    t.true(overflow <= 0, `${route} is ${overflow} px wider than the phone`);
    await shot(phone, `phone-${route === '/' ? 'dashboard-admin' : route.slice(1)}`);
  }
});

test.serial('When the pages were used, then no script error happened', (t) => {
  t.deepEqual(pageErrors, []);
});
