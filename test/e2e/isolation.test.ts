/**
 * Session theft through a user container (issue 12, part 1a) and the dashboard's CSP, in
 * headless Chromium against a real server and real containers.
 *
 * With `make run`'s defaults (dashboard on every address, opened as http://localhost:<port>;
 * containers published on the default POOLDECK_BIND) an admin logged in to the dashboard opens a
 * container by the URL Pooldeck hands out and by http://localhost:<container port>/: no request
 * that reaches a container carries the session cookie. What Chromium put on the wire is read
 * from its own network events (request.allHeaders(): the Cookie header as sent). The same
 * reading on a deck whose dashboard and containers share 127.0.0.1 (the tests' own setup) does
 * see the cookie — the attack — and there the admin page shows the warning.
 */
import test from 'ava';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { BrowserSession } from '../support/browser.ts';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { dist, ensureUiBuilt } from '../support/ui-build.ts';

const ADMIN_PASSWORD = 'admin-password-for-tests';
let browser: BrowserSession;
const decks: TestDeck[] = [];

test.before(async () => {
  ensureUiBuilt();
  browser = await new BrowserSession().launch();
});

test.after.always(async () => {
  await browser?.close();
  for (const deck of decks) await deck.destroy();
});

async function deckWith(overrides: Record<string, string>): Promise<TestDeck> {
  const deck = await startTestDeck({ POOLDECK_POOL: 'nginx=1', POOLDECK_UI_DIR: dist, ...overrides });
  decks.push(deck);
  return deck;
}

async function logInAsAdmin(page: Page, dashboard: string): Promise<void> {
  await page.goto(`${dashboard}/#/login`);
  await page.fill('input[name="username"]', 'admin');
  await page.fill('input[name="password"]', ADMIN_PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('#mine-title');
}

/** Launch a container from the dashboard page itself (same origin, with the session cookie). */
async function launchFromPage(page: Page): Promise<{ id: number; name: string; url: string; host_port: number }> {
  const reply = await page.evaluate(async () => {
    const res = await fetch('/api/containers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'nginx' }) });
    return { status: res.status, body: await res.json() };
  });
  if (reply.status !== 201) throw new Error(`launch: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.container;
}

/** Every request the pages of a context send, with the headers Chromium actually put on the wire. */
function recordRequests(context: BrowserContext) {
  const sent: Array<Promise<{ url: string; cookie: string }>> = [];
  const onRequest = (request: Request) => sent.push(request.allHeaders().then((h) => ({ url: request.url(), cookie: h.cookie ?? '' })));
  context.on('request', onRequest);
  return async () => {
    context.off('request', onRequest);
    return Promise.all(sent);
  };
}

test.serial('When an admin logged in to the dashboard (make run defaults) opens a container by its URL and by http://localhost:<container port>/, then no request reaching a container carries the session cookie', async (t) => {
  // make run: POOLDECK_HOST and POOLDECK_BIND unset (the dashboard listens on 0.0.0.0).
  const deck = await deckWith({ POOLDECK_HOST: '', POOLDECK_BIND: '' });
  const dashboard = `http://localhost:${deck.port}`;
  const page = await browser.newPage();
  await logInAsAdmin(page, dashboard);
  const cookies = await page.context().cookies(dashboard);
  t.true(cookies.some((c) => c.name === 'pooldeck_session' && c.httpOnly), 'control: the admin holds a session cookie');

  const container = await launchFromPage(page);
  t.regex(container.url, /^http:\/\/127\.0\.0\.2:\d+\/?$/, 'the URL Pooldeck hands out is on an address of its own');

  const stop = recordRequests(page.context());
  const visit = await page.context().newPage();
  const byUrl = await visit.goto(container.url);
  t.is(byUrl?.status(), 200, 'the handed-out URL works');
  t.regex(await visit.content(), /Pooldeck nginx container|<html/i);
  let sameHost: string;
  const guess = await page.context().newPage();
  try {
    const response = await guess.goto(`http://localhost:${container.host_port}/`);
    sameHost = `answered ${response?.status()}`;
  } catch (error) {
    sameHost = (error as Error).message.split('\n')[0];
  }
  t.regex(sameHost, /ERR_CONNECTION_REFUSED/, 'nothing of the pool listens at the dashboard\'s host name');
  const requests = await stop();
  t.true(requests.some((r) => r.url.startsWith(container.url.replace(/\/?$/, ''))), 'control: the visit was recorded');
  for (const r of requests) t.notRegex(r.cookie, /pooldeck_session/, `${r.url} was sent without the session`);

  // The dashboard is not served at the containers' address, so no cookie is ever set for it.
  const misdirected = await page.context().request.post(`http://127.0.0.2:${deck.port}/api/auth/login`, {
    data: { username: 'admin', password: ADMIN_PASSWORD },
    headers: { origin: `http://127.0.0.2:${deck.port}` },
  });
  t.is(misdirected.status(), 403);
  t.regex(await misdirected.text(), /serves the users' containers, not the Pooldeck dashboard/);
  t.falsy(misdirected.headers()['set-cookie'], 'no session is handed out there');
  t.deepEqual(await page.context().cookies(`http://127.0.0.2:${deck.port}`), []);

  const warnings = await page.goto(`${dashboard}/api/admin/security`).then((r) => r!.json());
  t.false(warnings.warnings.some((w: { id: string }) => w.id === 'sessions-exposed'), 'no warning: this setup is safe');
});

test.serial('When the dashboard and the containers share 127.0.0.1 (as in the tests and the Swarm lab), then the cookie does reach the container, Pooldeck starts anyway and the admin page says so', async (t) => {
  const deck = await deckWith({}); // POOLDECK_HOST = POOLDECK_BIND = 127.0.0.1
  t.true(deck.isolation.status.list().some((w) => w.id === 'sessions-exposed'));
  const page = await browser.newPage();
  await logInAsAdmin(page, deck.url);
  const container = await launchFromPage(page);
  const stop = recordRequests(page.context());
  await page.goto(container.url);
  const requests = await stop();
  t.true(
    requests.some((r) => /pooldeck_session=/.test(r.cookie)),
    'the attack this setup allows: the browser sends the dashboard session to the container',
  );
  await page.goto(`${deck.url}/#/admin`);
  const notice = page.locator('[data-security-warning="sessions-exposed"]');
  await notice.waitFor();
  t.regex(await notice.innerText(), /Sessions are exposed to user containers/);
  await browser.shot(page, 'admin-sessions-exposed');
});

test.serial('When an admin uses the dashboard with a terminal open, then every page carries a strict CSP, the console stays clean, and injected inline script does not run', async (t) => {
  const deck = decks[0];
  const dashboard = `http://localhost:${deck.port}`;
  const page = await browser.newPage();
  const errorsBefore = browser.pageErrors.length;
  const response = await page.goto(`${dashboard}/#/login`);
  const csp = response?.headers()['content-security-policy'] ?? '';
  t.regex(csp, /default-src 'none'/);
  t.regex(csp, /script-src 'self'(;|$)/, 'no inline or eval\'d script');
  await logInAsAdmin(page, dashboard);
  const card = 'article[data-container-id]';
  await page.waitForSelector(card);
  await page.locator(`${card} button[aria-label^="Show the terminal of"]`).first().click();
  await page.waitForSelector(`${card} .terminal-host[data-status="open"]`, { timeout: 15_000 });
  await page.locator(`${card} .terminal-host`).first().click();
  await page.keyboard.type('echo csp-$((6*7))');
  await page.keyboard.press('Enter');
  const shown = await eventually(async () => /csp-42/.test(await page.locator(`${card} .xterm-rows`).first().innerText()), 10_000, 100);
  t.true(shown.ok, 'the terminal (xterm.js) works under the CSP');
  for (const path of ['/#/admin', '/#/monitor', '/#/inspector', '/#/account']) {
    await page.goto(`${dashboard}${path}`);
    await page.waitForLoadState('networkidle');
  }
  t.deepEqual(browser.pageErrors.slice(errorsBefore), [], 'no console error, no CSP violation');

  // The attack the CSP is for: markup injected into the page cannot run script.
  const violations = await page.evaluate(async () => {
    const seen: string[] = [];
    document.addEventListener('securitypolicyviolation', (e) => seen.push(e.violatedDirective));
    const w = window as unknown as Record<string, unknown>;
    document.body.insertAdjacentHTML('beforeend', '<img src="data:," onload="window.pwnedByAttribute = 1">');
    const s = document.createElement('script');
    s.textContent = 'window.pwnedByScript = 1';
    document.body.append(s);
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    return { seen, ran: Boolean(w.pwnedByAttribute || w.pwnedByScript) };
  });
  t.false(violations.ran, 'injected inline script did not run');
  t.true(violations.seen.some((d) => d.startsWith('script-src')), `the browser reported the violation: ${violations.seen.join(', ')}`);
});
