/** A user's own account over the API: password change, sessions, deleting the account. */
import test from 'ava';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, adminClient, newUser } from './client.ts';

let deck: TestDeck;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2' });
});

test.after.always(async () => {
  await deck?.destroy();
});

const PASSWORD = 'correct horse battery';

async function secondSession(user: Client, password = PASSWORD): Promise<Client> {
  const other = new Client(deck.url, user.name);
  const login = await other.call('POST', '/api/auth/login', { username: user.name, password }, { 'user-agent': 'second-browser/1.0' });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  return other;
}

test('When a user changes the password, then the current session stays, every other session ends, and only the new password logs in', async (t) => {
  const user = await newUser(deck, 'pw');
  const other = await secondSession(user);
  t.is((await other.get('/api/me')).status, 200);

  const wrong = await user.put('/api/me/password', { current: 'not it at all', password: 'a brand new password' });
  t.is(wrong.status, 403);
  t.regex(wrong.body.error, /current password/);
  t.is((await other.get('/api/me')).status, 200, 'a refused change ends nothing');
  const short = await user.put('/api/me/password', { current: PASSWORD, password: 'short' });
  t.is(short.status, 400);
  t.is((await user.put('/api/me/password', { current: PASSWORD })).status, 400);

  const changed = await user.put('/api/me/password', { current: PASSWORD, password: 'a brand new password' });
  t.is(changed.status, 200);
  t.is(changed.body.endedSessions, 1);
  t.is((await user.get('/api/me')).status, 200, 'the session that changed it stays');
  t.is((await other.get('/api/me')).status, 401, 'the other session ended');
  t.is((await new Client(deck.url).post('/api/auth/login', { username: user.name, password: PASSWORD })).status, 401);
  t.is((await new Client(deck.url).post('/api/auth/login', { username: user.name, password: 'a brand new password' })).status, 200);
});

test('When a user lists their sessions, then each shows where it came from and which is this one, and ending one logs that browser out', async (t) => {
  const user = await newUser(deck, 'ss');
  const other = await secondSession(user);
  const stranger = await newUser(deck, 'st');
  const { body } = await user.get('/api/me/sessions');
  t.is(body.sessions.length, 2);
  const [newest, mine] = body.sessions;
  t.false(newest.current);
  t.is(newest.userAgent, 'second-browser/1.0');
  t.truthy(newest.ip);
  t.true(mine.current);
  t.false(JSON.stringify(body).includes('token'), 'no secret or hash in the answer');

  t.is((await stranger.del(`/api/me/sessions/${newest.id}`)).status, 404, 'someone else\'s session is not yours to end');
  t.is((await other.get('/api/me')).status, 200);
  const ended = await user.del(`/api/me/sessions/${newest.id}`);
  t.is(ended.status, 200);
  t.false(ended.body.current);
  t.is((await other.get('/api/me')).status, 401);
  t.is((await user.get('/api/me/sessions')).body.sessions.length, 1);
  t.is((await user.del('/api/me/sessions/abc')).status, 404);

  const self = await user.del(`/api/me/sessions/${mine.id}`);
  t.true(self.body.current);
  t.is(user.cookie, null, 'ending the current session clears its cookie');
});

test('When a user deletes their own account, then the password is required, their containers are released, and they cannot log in', async (t) => {
  const user = await newUser(deck, 'del');
  const launched = await user.post('/api/containers', { type: 'nginx' });
  t.is(launched.status, 201);
  const name = launched.body.container.name as string;
  t.is((await user.call('DELETE', '/api/me', { password: 'wrong password!' })).status, 403);
  t.truthy(deck.runtime.slots().find((s) => s.name === name)!.assignment, 'a refused deletion releases nothing');

  const deleted = await user.call('DELETE', '/api/me', { password: PASSWORD });
  t.is(deleted.status, 200);
  t.deepEqual(deleted.body.released, [name]);
  t.is(deck.runtime.slots().find((s) => s.name === name)!.assignment, null);
  t.is(await deck.accounts.store.userByName(user.name), undefined);
  t.is((await new Client(deck.url).post('/api/auth/login', { username: user.name, password: PASSWORD })).status, 401);
});

test('When the only admin tries to delete their own account, then it is refused with a reason', async (t) => {
  const admin = await adminClient(deck);
  const refused = await admin.call('DELETE', '/api/me', { password: deck.env.POOLDECK_ADMIN_PASSWORD });
  t.is(refused.status, 409);
  t.regex(refused.body.error, /only admin/);
  t.truthy(await deck.accounts.store.userByName('admin'));
});

test('When nobody is logged in, then the account routes answer 401', async (t) => {
  const nobody = new Client(deck.url);
  for (const [method, path] of [['PUT', '/api/me/password'], ['GET', '/api/me/sessions'], ['DELETE', '/api/me/sessions/1'], ['DELETE', '/api/me']] as const) {
    t.is((await nobody.call(method, path, method === 'GET' ? undefined : {})).status, 401, `${method} ${path}`);
  }
});
