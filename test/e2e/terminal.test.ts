/**
 * Into the container from the dashboard, in headless Chromium (Debian's /usr/bin/chromium via
 * playwright-core) against a real server, real dockerd and real containers: the web terminal
 * (xterm.js over socket.io), the logs and stats panels, and the ssh card's command and password.
 * The UI is built fresh for this test (vite, into a temporary directory).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../support/browser.ts';
import { docker } from '../support/docker.ts';
import { eventually, fetchText, startTestDeck, type TestDeck } from '../support/server.ts';
import { emitAck, openSocket, type PoolSocket } from '../support/sockets.ts';
import { form, newTokenUser, newUser, type Client } from '../integration/client.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const PASSWORD = 'correct horse battery';
const shots = path.join(root, 'test-results');

let deck: TestDeck;
let browser: Browser;
let uiDir: string;
const sockets: PoolSocket[] = [];

test.before(async () => {
  uiDir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-ui-'));
  await run('npx', ['vite', 'build', '--config', 'ui/vite.config.ts', '--outDir', uiDir, '--emptyOutDir', '--logLevel', 'error'], { cwd: root, timeout: 180_000 });
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2,ssh=1', POOLDECK_UI_DIR: uiDir });
  browser = await chromium.launch({
    executablePath: process.env.POOLDECK_CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
  mkdirSync(shots, { recursive: true });
});

test.after.always(async () => {
  for (const s of sockets) s.close();
  await browser?.close();
  await deck?.destroy();
  if (uiDir) rmSync(uiDir, { recursive: true, force: true });
});

async function logIn(user: Client): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${deck.url}/login`);
  await page.fill('input[name="username"]', user.name);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('#mine-title');
  return page;
}

async function launch(user: Client, type: string) {
  const reply = await user.post('/api/containers', { type });
  if (reply.status !== 201) throw new Error(`launch ${type}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.container as { id: number; name: string; host_port: number; url?: string; ssh?: string };
}

/** What the terminal shows, row by row (xterm's DOM renderer). */
const screen = (page: Page, card: string) => page.locator(`${card} .xterm-rows`).innerText();

async function shellProcesses(name: string): Promise<string[]> {
  const out = await docker('top', name, '-o', 'pid,args');
  return out.split('\n').slice(1).map((l) => l.trim().replace(/^\d+\s+/, '')).filter((p) => !p.startsWith('nginx'));
}

test.serial('When a user opens the terminal of their nginx container in the page and types ls /srv/www, then they see their uploaded file; another user is refused on the socket', async (t) => {
  const alice = await newUser(deck, 'alice');
  const container = await launch(alice, 'nginx');
  const file = `from-alice-${Date.now()}.txt`;
  t.is((await alice.post(`/api/containers/${container.id}/files`, form({ [file]: 'hello' }))).status, 201);

  const page = await logIn(alice);
  const card = `article[data-container-id="${container.id}"]`;
  await page.waitForSelector(card);
  await page.click(`${card} button[aria-label="Show the terminal of ${container.name}"]`);
  await page.waitForSelector(`${card} .terminal-host[data-status="open"]`, { timeout: 15_000 });
  const prompt = await eventually(async () => /\/srv\/www\$/.test(await screen(page, card)), 10_000, 100);
  t.true(prompt.ok, 'a prompt in /srv/www');
  t.log(`prompt shown ${prompt.ms} ms after the terminal opened`);
  await page.click(`${card} .terminal-host`);
  await page.keyboard.type('ls /srv/www');
  await page.keyboard.press('Enter');
  const seen = await eventually(async () => (await screen(page, card)).includes(file), 10_000, 100);
  t.true(seen.ok, `the terminal shows ${file}:\n${await screen(page, card)}`);
  t.regex(await screen(page, card), /user@[0-9a-f]+:\/srv\/www\$ ls \/srv\/www\n/, 'a prompt and the command on one line: the terminal is wide enough');
  await page.screenshot({ path: path.join(shots, 'terminal.png') });

  // The TTY follows the window.
  await page.keyboard.type('stty size');
  await page.keyboard.press('Enter');
  const size = async () => {
    const rows = (await screen(page, card)).split('\n');
    const found = rows.map((r) => /^(\d+) (\d+)\s*$/.exec(r)).filter(Boolean).at(-1);
    return found ? Number(found[2]) : null;
  };
  t.true((await eventually(async () => (await size()) !== null, 5000, 100)).ok);
  const wide = (await size())!;
  await page.setViewportSize({ width: 700, height: 900 });
  await page.waitForTimeout(300);
  await page.click(`${card} .terminal-host`);
  await page.keyboard.type('clear; stty size');
  await page.keyboard.press('Enter');
  const narrowed = await eventually(async () => {
    const cols = await size();
    return cols !== null && cols < wide;
  }, 5000, 100);
  t.true(narrowed.ok, `columns follow the window: ${wide} → ${await size()}`);

  // Another user cannot open it: refused by the server, whatever a page would show.
  const bob = await newTokenUser(deck, 'bob');
  const bobSocket = await openSocket(deck.url, { token: bob.token! });
  sockets.push(bobSocket);
  t.deepEqual(await emitAck(bobSocket, 'terminal:open', { id: container.id, cols: 80, rows: 24 }), { error: 'you have no container with that id' });
  // Nor with the session cookie of a browser.
  const bobBrowser = await newUser(deck, 'bobweb');
  const cookieSocket = await openSocket(deck.url, { cookie: bobBrowser.cookie! });
  sockets.push(cookieSocket);
  t.deepEqual(await emitAck(cookieSocket, 'terminal:open', { id: container.id, cols: 80, rows: 24 }), { error: 'you have no container with that id' });

  // Hiding the panel ends the shell; closing the page ends it too.
  await page.keyboard.type('sleep 777 &');
  await page.keyboard.press('Enter');
  t.true((await eventually(async () => (await shellProcesses(container.name)).includes('sleep 777'), 5000, 100)).ok);
  await page.click(`${card} button[aria-label="Hide the terminal of ${container.name}"]`);
  const hidden = await eventually(async () => (await shellProcesses(container.name)).length === 0, 10_000, 200);
  t.true(hidden.ok, `no shell after hiding the panel: ${await shellProcesses(container.name)}`);

  await page.click(`${card} button[aria-label="Show the terminal of ${container.name}"]`);
  await page.waitForSelector(`${card} .terminal-host[data-status="open"]`, { timeout: 15_000 });
  await page.click(`${card} .terminal-host`);
  await page.keyboard.type('sleep 888 &');
  await page.keyboard.press('Enter');
  t.true((await eventually(async () => (await shellProcesses(container.name)).includes('sleep 888'), 5000, 100)).ok);
  await page.close();
  const closed = await eventually(async () => (await shellProcesses(container.name)).length === 0, 15_000, 200);
  t.true(closed.ok, `no shell after the page closed: ${await shellProcesses(container.name)}`);
  t.log(`shell gone ${closed.ms} ms after the page closed`);
  await alice.del(`/api/containers/${container.id}`);
});

test.serial('When the user shows the logs and stats of their container, then the request they just made appears and the numbers update', async (t) => {
  const user = await newUser(deck, 'carol');
  const container = await launch(user, 'nginx');
  const page = await logIn(user);
  const card = `article[data-container-id="${container.id}"]`;
  await page.waitForSelector(card);

  await page.click(`${card} button[aria-label="Show the logs of ${container.name}"]`);
  await page.waitForSelector(`${card} .logs`);
  const probe = `/from-the-browser-test-${Date.now()}`;
  t.is((await fetchText(`http://127.0.0.1:${container.host_port}${probe}`)).status, 404);
  const logged = await eventually(async () => (await page.locator(`${card} .logs`).innerText()).includes(`GET ${probe} HTTP/1.1`), 10_000, 100);
  t.true(logged.ok, `the log panel shows the request: ${await page.locator(`${card} .logs`).innerText()}`);

  await page.click(`${card} button[aria-label="Show the stats of ${container.name}"]`);
  await page.waitForSelector(`${card} [data-stat="memory"]`, { timeout: 10_000 });
  t.regex(await page.locator(`${card} [data-stat="memory"]`).innerText(), /^[\d.]+ (B|KB|MB)\s+of 256\.0 MB/);
  t.regex(await page.locator(`${card} [data-stat="cpu"]`).innerText(), /^[\d.]+ %\s+of 0\.5 cores/);
  // CPU and memory as small time series: each reading becomes a point of both charts.
  const points = (chart: string) => page.locator(`${card} [data-chart="${chart}-${container.id}"]`).getAttribute('data-points').then(Number);
  await page.waitForFunction((sel) => Number(document.querySelector(sel)?.getAttribute('data-points')) >= 3, `${card} [data-chart="memory-${container.id}"]`, { timeout: 15_000 });
  t.true((await points('cpu')) >= 3);
  t.true((await points('memory')) >= 3);
  t.true(await page.locator(`${card} [data-chart="memory-${container.id}"] canvas`).isVisible());
  await page.screenshot({ path: path.join(shots, 'stats.png') });
  await page.close();
  await user.del(`/api/containers/${container.id}`);
});

test.serial('When a user has an ssh container, then its card shows the exact ssh command and, on request, the password of this assignment', async (t) => {
  const user = await newUser(deck, 'dora');
  const container = await launch(user, 'ssh');
  const creds = (await user.get(`/api/containers/${container.id}/credentials`)).body as { password: string };
  const page = await logIn(user);
  const card = `article[data-container-id="${container.id}"]`;
  await page.waitForSelector(card);
  t.is(await page.locator(`${card} code.ssh`).innerText(), `ssh -p ${container.host_port} user@127.0.0.1`);
  await page.click(`${card} button:has-text("Show password")`);
  await page.waitForSelector(`${card} code.password`);
  t.is(await page.locator(`${card} code.password`).innerText(), creds.password);
  await page.screenshot({ path: path.join(shots, 'ssh-card.png') });
  await page.close();
  await user.del(`/api/containers/${container.id}`);
});
