/**
 * The Account page in headless Chromium (playwright-core, Debian's /usr/bin/chromium) against a
 * real server (startTestDeck): SSH keys (invalid, real ed25519, delete) and API tokens (secret
 * shown once, works as a Bearer token, revoked → 401), and one user never sees another's.
 * Screenshots: test-results/screenshots/account.png and account-phone.png.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Page } from 'playwright-core';
import { BrowserSession, PASSWORD, registerInPage } from '../support/browser.ts';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { dist, ensureUiBuilt } from '../support/ui-build.ts';


let deck: TestDeck;
const session = new BrowserSession();
let keyDir: string;
const pageErrors = session.pageErrors;

test.before(async () => {
  ensureUiBuilt();
  keyDir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-keys-'));
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=1', POOLDECK_UI_DIR: dist });
  await session.launch();
});

test.after.always(async () => {
  await session.close();
  await deck?.destroy();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

const newPage = (options: { mobile?: boolean } = {}) => session.newPage(options);
const shot = (page: Page, name: string) => session.shot(page, name);

/** A fresh ed25519 key pair (no passphrase); returns the public key line and its fingerprint. */
function newKey(name: string, comment: string): { line: string; fingerprint: string } {
  const file = path.join(keyDir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  const line = readFileSync(`${file}.pub`, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
  return { line, fingerprint };
}

async function register(page: Page, username: string): Promise<void> {
  await registerInPage(page, deck.url, username);
}

async function openAccount(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
  await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
  await page.locator('[data-empty="keys"], [data-key-id]').first().waitFor();
  await page.locator('[data-empty="tokens"], [data-token-id]').first().waitFor();
}

async function addKey(page: Page, line: string, comment = ''): Promise<void> {
  await page.getByLabel('Public key').fill(line);
  await page.getByLabel('Comment (optional)').fill(comment);
  await page.getByRole('button', { name: 'Add key' }).click();
}

/** Create a token in the page; returns the secret the page shows. */
async function createToken(page: Page, name: string): Promise<string> {
  await page.getByLabel('Token name').fill(name);
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = page.getByLabel(`Secret of the new token ${name}`);
  await secret.waitFor();
  return secret.inputValue();
}

const me = (token: string) => fetch(`${deck.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
const overflow = (page: Page) => page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as Promise<number>;

let first: Page;
let firstName = '';
let firstKey: { line: string; fingerprint: string };

test.serial('When a user adds an invalid key and then a real ed25519 key, then the error is shown in words and the key is listed', async (t) => {
  first = await newPage();
  firstName = `acct${Date.now() % 1_000_000}`;
  await register(first, firstName);
  await openAccount(first);
  t.is(await first.title(), 'Account · Pooldeck');
  await first.getByText('installed in every ssh container handed out to you').waitFor();

  await addKey(first, 'ssh-ed25519 this-is-not-a-key me@laptop');
  const error = first.getByRole('alert').filter({ hasText: 'The key was not saved' });
  await error.waitFor();
  t.regex((await error.textContent())!, /not a valid OpenSSH public key: the key data is not base64/);
  t.is(await first.locator('[data-key-id]').count(), 0);

  firstKey = newKey('first', 'generated@e2e');
  await addKey(first, firstKey.line, 'e2e laptop');
  const item = first.locator('[data-key-id]');
  await item.waitFor();
  t.is(await first.getByRole('alert').filter({ hasText: 'The key was not saved' }).count(), 0, 'the old error is gone');
  t.is(await item.count(), 1);
  const text = (await item.textContent())!;
  t.true(text.includes('ssh-ed25519'), text);
  t.true(text.includes('e2e laptop'), 'the comment typed in the form replaces the one in the line');
  t.true(text.includes(firstKey.fingerprint), `fingerprint ${firstKey.fingerprint} in ${text}`);
  t.regex(text, /Added \w/);
  t.is(await first.getByLabel('Public key').inputValue(), '', 'the form is cleared');

  // The same key twice is refused with the server's sentence.
  await addKey(first, firstKey.line);
  await first.getByRole('alert').filter({ hasText: 'you have saved this key already' }).waitFor();
  t.is(await item.count(), 1);
  await first.getByLabel('Public key').fill('');
});

test.serial('When the user creates a token, then its secret is shown once and works, and once revoked it is refused', async (t) => {
  const secret = await createToken(first, 'e2e script');
  t.regex(secret, /^pd_\S+$/);
  await first.getByText('it will not be shown again').waitFor();
  await first.getByRole('button', { name: 'Copy the token e2e script' }).waitFor();
  await first.locator('[data-token-id]', { hasText: 'e2e script' }).waitFor();
  await first.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: deck.url });
  await first.getByRole('button', { name: 'Copy the token e2e script' }).click();
  await first.getByRole('button', { name: 'Copy the token e2e script' }).filter({ hasText: 'Copied' }).waitFor();
  t.is(await first.evaluate(() => navigator.clipboard.readText()), secret);
  await shot(first, 'account');

  const ok = await me(secret);
  t.is(ok.status, 200);
  t.is(((await ok.json()) as { user: { username: string } }).user.username, firstName);

  // Shown once: hidden with "Done", and not there after a reload either.
  await first.getByRole('button', { name: 'Hide the token e2e script' }).click();
  t.false((await first.content()).includes(secret));
  await first.reload();
  await first.locator('[data-token-id]', { hasText: 'e2e script' }).waitFor();
  t.false((await first.content()).includes(secret));
  // The use shows up as "last used" (recorded in the background; poll with reloads).
  for (let i = 0; i < 20 && (await first.locator('[data-token-id]', { hasText: 'last used never' }).count()) > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    await first.reload();
    await first.locator('[data-token-id]').first().waitFor();
  }
  t.is(await first.locator('[data-token-id]', { hasText: 'last used never' }).count(), 0, 'last used is shown');

  const row = first.locator('[data-token-id]', { hasText: 'e2e script' });
  await row.getByRole('button', { name: 'Revoke token e2e script' }).click();
  await row.getByRole('group', { name: /Revoke “e2e script”\?/ }).waitFor();
  await row.getByRole('button', { name: 'Yes, revoke' }).click();
  await row.waitFor({ state: 'detached' });
  await first.getByRole('status').filter({ hasText: 'Revoked the token “e2e script”' }).waitFor();
  t.is((await me(secret)).status, 401);
});

test.serial('When the user deletes the key with confirmation, then it is gone', async (t) => {
  const item = first.locator('[data-key-id]');
  await item.getByRole('button', { name: 'Delete SSH key e2e laptop' }).click();
  await item.getByRole('button', { name: 'Cancel' }).click();
  t.is(await item.count(), 1, 'cancel keeps the key');
  await item.getByRole('button', { name: 'Delete SSH key e2e laptop' }).click();
  await item.getByRole('button', { name: 'Yes, delete' }).click();
  await item.waitFor({ state: 'detached' });
  await first.getByText('You have no saved SSH keys.').waitFor();
  const res = await first.evaluate(() => fetch('/api/me/keys').then((r) => r.json()));
  t.deepEqual(res, { keys: [] });
});

test.serial("When a second user opens the account page on a phone, then it fits and shows none of the first user's keys or tokens", async (t) => {
  // The first user holds a key and a token again while the second one looks.
  await addKey(first, firstKey.line, 'first user key');
  await first.locator('[data-key-id]', { hasText: 'first user key' }).waitFor();
  const firstSecret = await createToken(first, 'first user token');
  const firstKeyId = await first.locator('[data-key-id]').getAttribute('data-key-id');
  const firstTokenId = await first.locator('[data-token-id]').getAttribute('data-token-id');

  const phone = await newPage({ mobile: true });
  const secondName = `mob${Date.now() % 1_000_000}`;
  await register(phone, secondName);
  await openAccount(phone);
  await phone.getByText('You have no saved SSH keys.').waitFor();
  await phone.getByText('You have no API tokens.').waitFor();
  const html = await phone.content();
  for (const secret of [firstKey.fingerprint, 'first user key', 'first user token', firstSecret, firstKey.line.split(' ')[1]]) t.false(html.includes(secret), `the second user sees ${secret}`);
  // Nor can they reach them by id.
  t.is(await phone.evaluate((id) => fetch(`/api/me/keys/${id}`, { method: 'DELETE' }).then((r) => r.status), firstKeyId), 404);
  t.is(await phone.evaluate((id) => fetch(`/api/tokens/${id}`, { method: 'DELETE' }).then((r) => r.status), firstTokenId), 404);
  t.is((await me(firstSecret)).status, 200, "the first user's token still works");

  // Their own key and token, on the phone, without sideways scrolling.
  const own = newKey('second', 'phone@e2e');
  await addKey(phone, own.line);
  await phone.locator('[data-key-id]', { hasText: own.fingerprint }).waitFor();
  const secondSecret = await createToken(phone, 'phone script with a rather long descriptive name');
  t.is(await phone.locator('[data-token-id]').count(), 1);
  await phone.getByRole('button', { name: 'Delete SSH key phone@e2e' }).click();
  await phone.getByRole('group', { name: /Delete this key\?/ }).waitFor();
  t.true((await overflow(phone)) <= 0, `the account page is ${await overflow(phone)} px wider than the phone`);
  await phone.evaluate(() => window.scrollTo(0, 0)); // the sticky top bar stays at the top of the full-page shot
  await shot(phone, 'account-phone');
  await phone.getByRole('button', { name: 'Cancel' }).click();

  // …and the first user, reloading, sees only their own.
  await first.reload();
  await first.locator('[data-key-id]').first().waitFor();
  const firstHtml = await first.content();
  t.false(firstHtml.includes(own.fingerprint));
  t.false(firstHtml.includes('phone script'));
  t.false(firstHtml.includes(secondSecret));
  t.is(await first.locator('[data-key-id]').count(), 1);
  t.is(await first.locator('[data-token-id]').count(), 1);
});

test.serial('When the pages were used, then no script error happened', (t) => {
  t.deepEqual(pageErrors, []);
});
