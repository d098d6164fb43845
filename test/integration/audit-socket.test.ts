/**
 * The audit log records what is done over socket.io as it records HTTP: the dashboard's
 * launches and releases, an admin's release of someone else's container and the monitor
 * commands, on a real server with real socket.io clients, read back through GET /api/admin/audit.
 */
import test from 'ava';
import type { LiveContainer } from '../../shared/events.ts';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { ask, emitAck, openSocket, type PoolSocket } from '../support/sockets.ts';
import { Client, adminClient, newUser } from './client.ts';

let deck: TestDeck;
let admin: Client;
let adminToken: string;
const sockets: PoolSocket[] = [];

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2' });
  admin = await adminClient(deck);
  const created = await admin.post('/api/tokens', { name: 'audit socket test' });
  if (created.status !== 201) throw new Error(`admin token: ${created.status}`);
  adminToken = created.body.token;
});

test.after.always(async () => {
  for (const s of sockets) s.close();
  await deck?.destroy();
});

type Entry = { id: number; actor: string; actorId: number | null; action: string; target: string | null; ok: boolean; status: number | null; ip: string | null; detail: Record<string, any> };
const audit = async (query: string): Promise<Entry[]> => {
  const reply = await admin.get<{ entries: Entry[] }>(`/api/admin/audit${query}`);
  if (reply.status !== 200) throw new Error(`audit: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.entries;
};
/** Released containers are rebuilt before they are handed out again: wait for a free one. */
const aFreeOne = async () => {
  const free = await eventually(() => (deck.runtime.counts().nginx?.available ?? 0) > 0, 60_000, 50);
  if (!free.ok) throw new Error('no free nginx container within a minute');
};
const open = async (auth: { token?: string; cookie?: string }) => {
  const socket = await openSocket(deck.url, auth);
  sockets.push(socket);
  return socket;
};

test.serial('When a user launches and releases over socket.io, then each is an audit row under the user with the same action and target as over HTTP', async (t) => {
  const user = await newUser(deck, 'sock');
  const me = (await user.get('/api/me')).body.user as { id: number };
  const socket = await open({ cookie: user.cookie! });
  const container = await ask<LiveContainer>(socket, 'container:launch', { type: 'nginx' });
  const refused = await emitAck(socket, 'container:launch', { type: 'nosuchtype' });
  t.true('error' in refused);
  await ask(socket, 'container:release', { id: container.id });

  const rows = (await audit(`?actor=${user.name}&action=container.`)).reverse();
  t.deepEqual(rows.map((r) => [r.action, r.ok, r.target]), [
    ['container.launch', true, container.name],
    ['container.launch', false, null],
    ['container.release', true, String(container.id)],
  ]);
  const [launch, failed, release] = rows;
  for (const row of rows) {
    t.is(row.actorId, me.id);
    t.is(row.detail.via, 'socket');
    t.truthy(row.ip, 'the socket\'s address is recorded');
  }
  t.is(launch!.status, 200);
  t.is(launch!.detail.type, 'nginx');
  t.is(launch!.detail.assignment, container.id);
  t.is(failed!.status, 400);
  t.regex(String(failed!.detail.error), /unknown container type "nosuchtype"/);
  t.is(release!.detail.id, container.id);
});

test.serial('When an admin releases a user\'s container and drives the monitor over socket.io, then each is an admin.* row under the admin', async (t) => {
  const user = await newUser(deck, 'held');
  const mine = await open({ cookie: user.cookie! });
  await aFreeOne();
  const container = await ask<LiveContainer>(mine, 'container:launch', { type: 'nginx' });
  const socket = await open({ token: adminToken });
  await ask(socket, 'container:release', { id: container.id });
  await ask(socket, 'monitor:pause');
  await ask(socket, 'monitor:interval', { seconds: 42 });
  await ask(socket, 'monitor:resume');
  await ask(socket, 'monitor:run');
  t.true('error' in (await emitAck(socket, 'monitor:interval', { seconds: 0 })), 'a bad interval is refused');

  const rows = (await audit('?actor=admin&action=admin.&limit=20')).filter((r) => r.detail.via === 'socket').reverse();
  t.deepEqual(rows.map((r) => [r.action, r.ok]), [
    ['admin.container.release', true],
    ['admin.monitor.pause', true],
    ['admin.monitor.interval', true],
    ['admin.monitor.resume', true],
    ['admin.monitor.run', true],
    ['admin.monitor.interval', false],
  ]);
  const [release, , interval, , , bad] = rows;
  t.is(release!.target, container.name, 'as DELETE /api/admin/containers/:name: the slot is the target');
  t.is(release!.detail.user, user.name, 'and whose container it was');
  t.is(release!.actor, 'admin');
  t.is(interval!.detail.seconds, 42);
  t.is(bad!.status, 400);
  t.regex(String(bad!.detail.error), /seconds must be a number/);
});

test.serial('When things were done over socket.io with tokens and passwords around, then no audit row holds a password or a token', async (t) => {
  const password = 'socket audit secret words';
  const user = new Client(deck.url, 'secret');
  const username = `sec${Date.now() % 1e6}`;
  t.is((await user.post('/api/auth/register', { username, email: `${username}@example.test`, password })).status, 201);
  t.is((await user.post('/api/auth/login', { username, password })).status, 200);
  const created = await user.post('/api/tokens', { name: 'socket' });
  t.is(created.status, 201);
  const token = created.body.token as string;
  const socket = await open({ token });
  await aFreeOne();
  const container = await ask<LiveContainer>(socket, 'container:launch', { type: 'nginx' });
  await ask(socket, 'container:release', { id: container.id });

  const everything = JSON.stringify(await audit('?limit=1000'));
  t.true(everything.includes(username), 'the user\'s rows are there');
  t.false(everything.includes(password), 'no password');
  t.false(everything.includes(token), 'no API token');
  t.false(everything.includes(adminToken), 'no admin token');
  t.false(everything.includes(deck.env.POOLDECK_ADMIN_PASSWORD!), 'no admin password');
  t.false(user.cookie !== null && everything.includes(user.cookie.split('=')[1]!), 'no session cookie');
});
