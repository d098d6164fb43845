/**
 * Accounts, sessions, CSRF, login throttling, API tokens, SSH keys, error shapes and the UI
 * fallback, against a real server with an empty pool (no containers needed).
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logger.ts';
import { LoginThrottle } from '../../runtime/accounts/login-throttle.ts';
import { startPooldeck } from '../../runtime/server.ts';
import { removePool, startTestDeck, testEnv, type TestDeck } from '../support/server.ts';
import { Client, newUser, uniqueName } from './client.ts';
import { ed25519Key, mismatchedKey, rsaKey } from './fixtures.ts';

let deck: TestDeck;
const uiDir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-ui-'));
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

test.before(async () => {
  mkdirSync(path.join(uiDir, 'assets'));
  writeFileSync(path.join(uiDir, 'index.html'), '<!doctype html><title>Pooldeck UI</title>');
  writeFileSync(path.join(uiDir, 'assets', 'app-1234.js'), 'console.log(1)');
  deck = await startTestDeck({ POOLDECK_POOL: '', POOLDECK_UI_DIR: uiDir, POOLDECK_TRUST_PROXY: 'loopback' });
});

test.after.always(async () => {
  await deck?.destroy();
  rmSync(uiDir, { recursive: true, force: true });
});

const anon = () => new Client(deck.url);

test('When someone registers with good fields, then the account exists in lower case and can log in with a hardened cookie', async (t) => {
  const username = uniqueName('Reg');
  const client = anon();
  const reg = await client.post('/api/auth/register', { username, email: `${username}@Example.test`, password: 'long enough pw' });
  t.is(reg.status, 201);
  t.like(reg.body.user, { username: username.toLowerCase(), email: `${username.toLowerCase()}@example.test`, isAdmin: false });
  t.false(JSON.stringify(reg.body).includes('password'));

  const login = await client.post('/api/auth/login', { username: username.toUpperCase(), password: 'long enough pw' });
  t.is(login.status, 200);
  const cookie = login.headers.get('set-cookie')!;
  t.regex(cookie, /^pooldeck_session=[A-Za-z0-9_-]{43};/);
  t.regex(cookie, /HttpOnly/);
  t.regex(cookie, /SameSite=Strict/);
  t.regex(cookie, /Path=\//);
  t.notRegex(cookie, /Secure/, 'plain http: no Secure flag');
  const me = await client.get('/api/me');
  t.is(me.status, 200);
  t.is(me.body.user.username, username.toLowerCase());

  const token = client.cookie!.split('=')[1];
  const rows = await deck.db.all<Array<{ token_hash: string }>>('SELECT token_hash FROM sessions');
  t.true(rows.some((r) => r.token_hash === sha256(token)), 'the session row holds the SHA-256 of the cookie');
  t.false(rows.some((r) => r.token_hash === token), 'never the cookie itself');
  const user = await deck.db.get<{ password_hash: string }>('SELECT password_hash FROM users WHERE username = ?', username.toLowerCase());
  t.regex(user!.password_hash, /^\$2[aby]\$10\$/);
});

test('When the request came over https through a trusted proxy, then the session cookie is Secure', async (t) => {
  const client = await newUser(deck, 'sec');
  const login = await client.post('/api/auth/login', { username: client.name, password: 'correct horse battery' }, { 'x-forwarded-proto': 'https' });
  t.is(login.status, 200);
  t.regex(login.headers.get('set-cookie')!, /; Secure/);
});

test('When registration fields are missing, weak, malformed or taken, then each gets a clear 400 or 409', async (t) => {
  const taken = await newUser(deck, 'taken');
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['no body', undefined, 400, /missing fields: username, email, password/],
    ['missing password', { username: 'abcdef', email: 'a@b.cd' }, 400, /missing field: password/],
    ['wrong types', { username: 42, email: 'a@b.cd', password: 'longenough' }, 400, /"username" must be a string/],
    ['short password', { username: uniqueName('w'), email: `${uniqueName()}@x.test`, password: 'short' }, 400, /at least 8 characters/],
    ['bad username', { username: 'no spaces!', email: 'x@y.test', password: 'longenough' }, 400, /username must be 3-32/],
    ['too short username', { username: 'ab', email: 'x@y.test', password: 'longenough' }, 400, /username must be 3-32/],
    ['bad email', { username: uniqueName('e'), email: 'not-an-email', password: 'longenough' }, 400, /email/],
    ['taken username (other case)', { username: taken.name.toUpperCase(), email: `${uniqueName()}@x.test`, password: 'longenough' }, 409, /already taken/],
    ['taken email', { username: uniqueName('m'), email: `${taken.name}@EXAMPLE.test`, password: 'longenough' }, 409, /already registered/],
    ['reserved name', { username: 'admin', email: `${uniqueName()}@x.test`, password: 'longenough' }, 409, /reserved/],
  ];
  for (const [what, body, status, message] of cases) {
    const reply = await anon().post('/api/auth/register', body);
    t.is(reply.status, status, what);
    t.regex(reply.body.error, message, what);
  }
});

test('When a session logs out, then its cookie no longer works', async (t) => {
  const client = await newUser(deck, 'out');
  const cookie = client.cookie;
  t.is((await client.post('/api/auth/logout')).status, 200);
  t.is(client.cookie, null, 'the cookie is cleared');
  const stale = new Client(deck.url);
  stale.cookie = cookie;
  const me = await stale.get('/api/me');
  t.is(me.status, 401);
  t.regex(me.body.error, /log in again/);
});

test('When the dashboard asks who is signed in, then visitors and stale cookies get 200 with user null, and a session its user', async (t) => {
  const visitor = await anon().get('/api/session');
  t.is(visitor.status, 200);
  t.deepEqual(visitor.body, { user: null });
  const client = await newUser(deck, 'probe');
  const signedIn = await client.get('/api/session');
  t.is(signedIn.status, 200);
  t.is(signedIn.body.user.username, client.name);
  const cookie = client.cookie;
  await client.post('/api/auth/logout');
  const stale = new Client(deck.url);
  stale.cookie = cookie;
  const after = await stale.get('/api/session');
  t.is(after.status, 200);
  t.deepEqual(after.body, { user: null });
});

test('When a cookie-authenticated change comes without a matching Origin or Referer, then it is refused 403; tokens are exempt', async (t) => {
  const client = await newUser(deck, 'csrf');
  const cookie = client.cookie!;
  const post = (headers: Record<string, string>) => fetch(`${deck.url}/api/tokens`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{"name":"x"}' });
  t.is((await post({})).status, 403, 'no Origin, no Referer');
  t.is((await post({ origin: 'https://evil.example' })).status, 403, 'foreign Origin');
  t.is((await post({ origin: 'null' })).status, 403, 'opaque Origin');
  t.is((await post({ referer: 'https://evil.example/page' })).status, 403, 'foreign Referer');
  t.is((await post({ referer: `${deck.url}/settings` })).status, 201, 'same-host Referer');
  const ok = await post({ origin: deck.url });
  t.is(ok.status, 201, 'same-host Origin');
  const { token } = (await ok.json()) as { token: string };
  const byToken = await fetch(`${deck.url}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"name":"y"}' });
  t.is(byToken.status, 201, 'a token request needs no Origin');
  t.is((await fetch(`${deck.url}/api/me`, { headers: { cookie } })).status, 200, 'reads need no Origin');
  const loginCsrf = await fetch(`${deck.url}/api/auth/login`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ username: client.name, password: 'correct horse battery' }) });
  t.is(loginCsrf.status, 403, 'a login posted from another site is refused');
  const body = (await (await post({})).json()) as { error: string };
  t.regex(body.error, /cross-site/);
});

test('When one username fails to log in five times from one address, then the next tries get 429 with a growing Retry-After', async (t) => {
  // The server's throttle, driven by our clock so a loaded machine cannot make this flaky.
  let clock = Date.now();
  deck.accounts.throttle = new LoginThrottle({ now: () => clock });
  const victim = await newUser(deck, 'thr');
  const other = await newUser(deck, 'oth');
  const attempt = (username: string, password: string) => anon().post('/api/auth/login', { username, password });
  for (let i = 0; i < 5; i++) t.is((await attempt(victim.name, 'wrong password')).status, 401);
  const locked = await attempt(victim.name, 'correct horse battery');
  t.is(locked.status, 429, 'even the right password waits');
  t.is(locked.headers.get('retry-after'), '1');
  t.regex(locked.body.error, /too many failed logins; try again in 1 s/);
  t.is((await attempt(other.name, 'correct horse battery')).status, 200, 'another username is not slowed');
  clock += 1000;
  t.is((await attempt(victim.name, 'wrong again')).status, 401);
  const longer = await attempt(victim.name, 'correct horse battery');
  t.is(longer.status, 429);
  t.is(longer.headers.get('retry-after'), '2');
  clock += 2000;
  t.is((await attempt(victim.name, 'wrong again')).status, 401);
  t.is((await attempt(victim.name, 'correct horse battery')).headers.get('retry-after'), '4');
  clock += 4000;
  t.is((await attempt(victim.name, 'correct horse battery')).status, 200);
  for (let i = 0; i < 4; i++) t.is((await attempt(victim.name, 'wrong password')).status, 401);
  t.is((await attempt(victim.name, 'correct horse battery')).status, 200, 'a success started the count again');
  t.is((await attempt('nobody-here', 'whatever1')).status, 401, 'an unknown user gets the same 401 as a wrong password');
});

test('When a user creates, lists and revokes API tokens, then the secret is shown once, stored hashed, and stops working when revoked', async (t) => {
  const client = await newUser(deck, 'tok');
  const created = await client.post('/api/tokens', { name: 'ci' });
  t.is(created.status, 201);
  const { token, id } = created.body;
  t.regex(token, /^pd_[A-Za-z0-9_-]{43}$/);
  const list = await client.get('/api/tokens');
  t.deepEqual(list.body.tokens.map((x: { id: number; name: string }) => [x.id, x.name]), [[id, 'ci']]);
  t.false(JSON.stringify(list.body).includes(token.slice(3)), 'the list never holds the secret');
  const row = await deck.db.get<{ token_hash: string }>('SELECT token_hash FROM tokens WHERE id = ?', id);
  t.is(row!.token_hash, sha256(token));

  const bearer = new Client(deck.url);
  bearer.token = token;
  t.is((await bearer.get('/api/me')).body.user.username, client.name);
  t.is((await bearer.get('/api/containers')).status, 200);

  const stranger = await newUser(deck, 'str');
  t.is((await stranger.del(`/api/tokens/${id}`)).status, 404, "another user cannot revoke someone else's token");
  t.is((await client.del(`/api/tokens/${id}`)).status, 200);
  const revoked = await bearer.get('/api/me');
  t.is(revoked.status, 401);
  t.regex(revoked.body.error, /token is not valid/);
  t.is((await client.del(`/api/tokens/${id}`)).status, 404);
  t.is((await client.post('/api/tokens', {})).status, 400);
  t.is((await client.post('/api/tokens', { name: 'x'.repeat(65) })).status, 400);
  const garbage = new Client(deck.url);
  garbage.token = 'pd_notarealtoken';
  t.is((await garbage.get('/api/me')).status, 401);
});

test('When a user saves SSH keys, then real keys are kept with fingerprints, bad ones refused, and the pool sees them', async (t) => {
  const client = await newUser(deck, 'key');
  const ed = ed25519Key('alice@laptop');
  const added = await client.post('/api/me/keys', { key: ed });
  t.is(added.status, 201);
  t.like(added.body.key, { public_key: ed.split(' ').slice(0, 2).join(' '), comment: 'alice@laptop' });
  t.regex(added.body.key.fingerprint, /^SHA256:/);
  t.is((await client.post('/api/me/keys', { key: rsaKey() })).status, 201);
  t.is((await client.post('/api/me/keys', { key: ed })).status, 409, 'the same key twice');
  for (const [what, key] of [['mismatched type', mismatchedKey()], ['garbage', 'ssh-ed25519 AAAA'], ['two lines', `${ed25519Key()}\n${ed25519Key()}`], ['dsa', 'ssh-dss AAAAB3NzaC1kc3M=']] as const) {
    const reply = await client.post('/api/me/keys', { key });
    t.is(reply.status, 400, what);
    t.regex(reply.body.error, /not a valid OpenSSH public key/, what);
  }
  t.is((await client.post('/api/me/keys', { key: 42 })).status, 400);
  const list = await client.get('/api/me/keys');
  t.is(list.body.keys.length, 2);
  const me = (await client.get('/api/me')).body.user;
  const forPool = await deck.runtime.deps.userKeys!(me.id);
  t.deepEqual(forPool, list.body.keys.map((k: { public_key: string; comment: string }) => `${k.public_key} ${k.comment}`));

  const stranger = await newUser(deck, 'kst');
  t.is((await stranger.del(`/api/me/keys/${added.body.key.id}`)).status, 404);
  t.is((await stranger.get('/api/me/keys')).body.keys.length, 0);
  t.is((await client.del(`/api/me/keys/${added.body.key.id}`)).status, 200);
  t.is((await client.get('/api/me/keys')).body.keys.length, 1);
});

test('When requests are malformed, unknown or unauthenticated, then the answer is JSON {error} with the right status and no stack', async (t) => {
  const client = await newUser(deck, 'err');
  const malformed = await client.call('POST', '/api/tokens', '{"name":', { 'content-type': 'application/json' });
  t.is(malformed.status, 400);
  t.deepEqual(malformed.body, { error: 'the request body is not valid JSON' });
  const array = await client.call('POST', '/api/tokens', '["x"]', { 'content-type': 'application/json' });
  t.is(array.status, 400);
  t.regex(array.body.error, /JSON object/);
  const huge = await client.call('POST', '/api/tokens', JSON.stringify({ name: 'x'.repeat(70_000) }), { 'content-type': 'application/json' });
  t.is(huge.status, 413);
  const unknown = await client.get('/api/nothing/here');
  t.is(unknown.status, 404);
  t.regex(unknown.body.error, /no such API route: GET \/api\/nothing\/here/);
  t.is((await anon().get('/api/containers')).status, 401);
  t.is((await anon().get('/api/pool')).status, 401);

  const original = deck.runtime.counts;
  deck.runtime.counts = () => {
    throw new Error('boom: secret internals');
  };
  try {
    const crash = await client.get('/api/pool');
    t.is(crash.status, 500);
    t.deepEqual(Object.keys(crash.body), ['error']);
    t.notRegex(crash.body.error, /boom|at |\.ts/);
  } finally {
    deck.runtime.counts = original;
  }
});

test('When the built UI exists, then its files are served and other non-API paths fall back to index.html', async (t) => {
  const root = await fetch(`${deck.url}/`);
  t.is(root.status, 200);
  t.regex(await root.text(), /Pooldeck UI/);
  for (const route of ['/containers/42', '/register', '/admin/users', '/inspector/pool_nginx_0_8000', '/monitor']) {
    const deep = await fetch(`${deck.url}${route}`);
    t.is(deep.status, 200, route);
    t.regex(await deep.text(), /Pooldeck UI/, route);
  }
  const asset = await fetch(`${deck.url}/assets/app-1234.js`);
  t.is(await asset.text(), 'console.log(1)');
  t.regex(asset.headers.get('cache-control')!, /immutable/);
  const api = await fetch(`${deck.url}/api/nope`);
  t.is(api.status, 404);
  t.regex(api.headers.get('content-type')!, /json/);
  t.is((await fetch(`${deck.url}/healthz`)).status, 200);
});

test('When the server starts for the first time, then the admin account exists and is an admin', async (t) => {
  const admin = new Client(deck.url);
  const login = await admin.post('/api/auth/login', { username: 'admin', password: deck.env.POOLDECK_ADMIN_PASSWORD });
  t.is(login.status, 200);
  t.true(login.body.user.isAdmin);
});

test('When no admin password is configured, then a generated one is logged exactly once, works, and is not logged again on restart', async (t) => {
  const { POOLDECK_ADMIN_PASSWORD: _none, ...env } = testEnv({ POOLDECK_POOL: '' });
  const config = loadConfig(env);
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('info', {}, (line) => lines.push(JSON.parse(line)));
  try {
    const first = await startPooldeck(config, { log });
    const created = lines.filter((l) => l.msg === 'admin.created');
    t.is(created.length, 1);
    t.is(created[0].level, 'warn');
    t.regex(String(created[0].message), /shown only this once/);
    const password = String(created[0].password);
    t.true(password.length >= 16);
    const admin = new Client(`http://127.0.0.1:${first.port}`);
    t.is((await admin.post('/api/auth/login', { username: 'admin', password })).status, 200);
    await first.stop();
    lines.length = 0;
    const second = await startPooldeck(config, { log });
    t.false(lines.some((l) => l.msg === 'admin.created' || JSON.stringify(l).includes(password)));
    await second.stop();
  } finally {
    await removePool(config.poolName);
    rmSync(env.POOLDECK_DATA, { recursive: true, force: true });
  }
});
