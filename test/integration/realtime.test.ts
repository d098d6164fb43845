/**
 * socket.io on a real server, real SQLite accounts and real containers: the documented Node
 * example runs as written, state changes reach owners, admins and the inspector within a
 * second, and nobody hears about anyone else's container.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { io, type Socket } from 'socket.io-client';
import type { SlotView } from '../../machines/types.ts';
import { stateText } from '../../shared/pool.ts';
import type { Ack, ClientToServerEvents, InspectBatch, LiveContainer, ServerToClientEvents } from '../../shared/events.ts';
import { docker } from '../support/docker.ts';
import { eventually } from '../support/eventually.ts';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, newTokenUser } from './client.ts';

type PoolSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
let deck: TestDeck;
const sockets: PoolSocket[] = [];

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=3' });
});

test.after.always(async () => {
  for (const s of sockets) s.close();
  await deck?.destroy();
});

async function open(token: string): Promise<PoolSocket> {
  const socket: PoolSocket = io(deck.url, { auth: { token }, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

async function ask<T>(socket: PoolSocket, event: string, ...args: unknown[]): Promise<T> {
  const emit = (socket.timeout(60_000) as unknown as { emitWithAck(e: string, ...a: unknown[]): Promise<Ack<T>> }).emitWithAck;
  const reply = await emit.call(socket.timeout(60_000), event, ...args);
  if ('error' in reply) throw new Error(reply.error);
  return reply.data;
}

async function adminToken(): Promise<string> {
  const admin = new Client(deck.url, 'admin');
  const login = await admin.post('/api/auth/login', { username: 'admin', password: deck.env.POOLDECK_ADMIN_PASSWORD });
  if (login.status !== 200) throw new Error(`admin login: ${login.status}`);
  const created = await admin.post('/api/tokens', { name: 'realtime test' });
  if (created.status !== 201) throw new Error(`admin token: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.token;
}

test.serial('When the Node example of docs/realtime.md runs with an API token, then it launches, lists and releases over socket.io alone', async (t) => {
  const user = await newTokenUser(deck, 'doc');
  const markdown = readFileSync(path.join(root, 'docs/realtime.md'), 'utf8');
  const code = /## Example[^\n]*\n[\s\S]*?```js\n([\s\S]*?)```/.exec(markdown)?.[1];
  t.truthy(code, 'docs/realtime.md has a js example under "## Example"');
  t.true(code!.trim().split('\n').length <= 12, 'the example stays about ten lines');
  mkdirSync(path.join(root, 'test-results'), { recursive: true });
  const file = path.join(root, 'test-results', 'realtime-example.mjs');
  writeFileSync(file, code!);

  const { stdout, stderr } = await run(process.execPath, [file], {
    env: { ...process.env, POOLDECK_URL: deck.url, POOLDECK_TOKEN: user.token! },
    timeout: 90_000,
  });
  t.is(stderr, '');
  const lines = stdout.trim().split('\n');
  t.regex(lines[0], /^launched pool_nginx_\d+_\d+ http:\/\/127\.0\.0\.1:\d+\/$/);
  const name = lines[0].split(' ')[1];
  t.regex(lines[1], new RegExp(`^mine \\d+ ${name} assigned$`));
  t.is(lines[2], `released ${name}`);
  const slot = deck.runtime.slots().find((s) => s.name === name)!;
  t.is(slot.assignment, null, 'the container is no longer assigned');
  t.is((await user.get('/api/containers')).body.containers.length, 0);
});

test.serial('When a container is killed from outside, then its owner, admins and the inspector hear every state change within a second, and a bystander hears nothing', async (t) => {
  const owner = await newTokenUser(deck, 'own');
  const bystander = await newTokenUser(deck, 'by');
  const mine = await open(owner.token!);
  const other = await open(bystander.token!);
  const admin = await open(await adminToken());

  const otherHeard: string[] = [];
  other.onAny((event) => otherHeard.push(event));
  await ask(admin, 'inspect:subscribe');

  const ownerGot: Array<{ at: number; state: string }> = [];
  const adminGot: Array<{ at: number; name: string; state: string }> = [];
  const batches: Array<{ at: number; batch: InspectBatch }> = [];
  mine.on('container:updated', (c) => ownerGot.push({ at: performance.now(), state: `${c.status}.${c.phase}` }));
  admin.on('slot:updated', (s) => adminGot.push({ at: performance.now(), name: s.name, state: `${s.state}.${s.phase}` }));
  admin.on('inspect:event', (batch) => batches.push({ at: performance.now(), batch }));

  const pool: Array<{ at: number; name: string; state: string; userId: number | null }> = [];
  const onSlot = (s: SlotView) => pool.push({ at: performance.now(), name: s.name, state: `${s.state}.${s.phase}`, userId: s.assignment?.userId ?? null });
  deck.runtime.on('slot', onSlot);
  t.teardown(() => deck.runtime.off('slot', onSlot));

  const container = await ask<LiveContainer>(mine, 'container:launch', { type: 'nginx' });
  t.is(container.status, 'assigned');
  const recovered = new Promise((resolve) => mine.once('container:recovered', resolve));
  await docker('kill', container.name);
  await recovered;
  // Every listener has had the third state (assigned.serving again), the inspector included.
  const delivered = await eventually(() => {
    const last = pool.filter((p) => p.name === container.name)[2];
    return !!last && ownerGot.length >= 3 && adminGot.filter((a) => a.name === container.name).length >= 3 &&
      batches.some((b) => b.at >= last.at && b.batch.records.some((r) => r.state === last.state));
  }, 5000, 10);
  t.true(delivered.ok, 'the owner, the admins and the inspector heard the recovery');

  const ownSlotEvents = pool.filter((p) => p.name === container.name);
  t.deepEqual(ownSlotEvents.map((p) => p.state), ['assigned.serving', 'failed.recovering', 'assigned.serving']);

  // Owner: one container:updated per slot event, in order, each within a second.
  t.deepEqual(ownerGot.map((o) => o.state), ownSlotEvents.map((p) => p.state));
  const ownerDelays = ownSlotEvents.map((p, i) => ownerGot[i].at - p.at);
  // Admins: the same for slot:updated.
  const adminOwn = adminGot.filter((a) => a.name === container.name);
  t.deepEqual(adminOwn.map((a) => a.state), ownSlotEvents.map((p) => p.state));
  const adminDelays = ownSlotEvents.map((p, i) => adminOwn[i].at - p.at);
  // Inspector: a batch showing the slot's actor in that state arrives after each slot event.
  const actor = batches.flatMap((b) => b.batch.actors).find((a) => a.name === container.name)!;
  t.truthy(actor, 'the slot actor appears in the inspector');
  const inspectDelays = ownSlotEvents.map((p) => {
    const hit = batches.find((b) => b.at >= p.at && b.batch.records.some((r) => r.actor === actor.id && r.state === p.state));
    return hit ? hit.at - p.at : Infinity;
  });
  t.log(`delays (ms) owner ${ownerDelays.map((d) => d.toFixed(1)).join(', ')}; admin ${adminDelays.map((d) => d.toFixed(1)).join(', ')}; inspector ${inspectDelays.map((d) => d.toFixed(1)).join(', ')}`);
  for (const d of [...ownerDelays, ...adminDelays, ...inspectDelays]) t.true(d >= 0 && d < 1000, `delay ${d} ms`);
  t.is(stateText(batches.flatMap((b) => b.batch.actors).filter((a) => a.id === actor.id).at(-1)!.value), 'assigned.serving');

  t.false(otherHeard.some((e) => e.startsWith('container:') || e.startsWith('slot:') || e.startsWith('inspect:') || e.startsWith('monitor:')), `bystander heard: ${otherHeard.join(', ')}`);
  t.deepEqual(await ask(other, 'container:list'), []);
  await t.throwsAsync(ask(other, 'container:release', { id: container.id }), { message: 'you have no container with that id' });

  await ask(mine, 'container:release', { id: container.id });
});

test.serial('When a browser-style socket uses the session cookie, then it works from this origin and is refused from another', async (t) => {
  const user = new Client(deck.url, 'cookie');
  const username = `ck${Date.now() % 1e6}`;
  await user.post('/api/auth/register', { username, email: `${username}@example.test`, password: 'a long password' });
  await user.post('/api/auth/login', { username, password: 'a long password' });
  t.truthy(user.cookie);
  const ok: PoolSocket = io(deck.url, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie: user.cookie!, origin: deck.url } });
  sockets.push(ok);
  await new Promise<void>((resolve, reject) => {
    ok.once('connect', resolve);
    ok.once('connect_error', reject);
  });
  t.deepEqual(await ask(ok, 'container:list'), []);
  const evil: PoolSocket = io(deck.url, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie: user.cookie!, origin: 'http://evil.example' } });
  sockets.push(evil);
  const refused = await new Promise<Error>((resolve) => evil.once('connect_error', resolve));
  t.is(refused.message, 'cross-site connection refused');

  const ended = new Promise<{ reason: string }>((resolve) => ok.once('session:ended', resolve));
  const closed = new Promise<void>((resolve) => ok.once('disconnect', () => resolve()));
  const loggedOutAt = Date.now();
  await user.post('/api/auth/logout');
  // A logout tells the live sockets of that user at once (not at the 15 s sweep).
  t.is((await ended).reason, 'credentials no longer valid');
  await closed;
  t.false(ok.connected);
  t.true(Date.now() - loggedOutAt < 2000, `the socket ended ${Date.now() - loggedOutAt} ms after the logout`);
});

test.serial('When a user revokes an API token or changes the password, then the sockets using the old credentials end at once and the current session keeps its socket', async (t) => {
  const user = new Client(deck.url, 'cookie');
  const username = `rv${Date.now() % 1e6}`;
  await user.post('/api/auth/register', { username, email: `${username}@example.test`, password: 'a long password' });
  await user.post('/api/auth/login', { username, password: 'a long password' });
  const made = await user.post('/api/tokens', { name: 'script' });
  t.is(made.status, 201, JSON.stringify(made.body));
  const connect = async (options: Parameters<typeof io>[1]) => {
    const socket: PoolSocket = io(deck.url, { transports: ['websocket'], reconnection: false, ...options });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  };
  const byToken = await connect({ auth: { token: made.body.token } });
  const bySession = await connect({ extraHeaders: { cookie: user.cookie!, origin: deck.url } });
  const other = new Client(deck.url, 'cookie');
  await other.post('/api/auth/login', { username, password: 'a long password' });
  const byOtherSession = await connect({ extraHeaders: { cookie: other.cookie!, origin: deck.url } });
  const endedReasons = (socket: PoolSocket) => new Promise<string>((resolve) => socket.once('session:ended', (e) => resolve(e.reason)));

  const within = (since: number, what: string) => t.true(Date.now() - since < 2000, `${what} ended its socket ${Date.now() - since} ms later (the sweep runs every 15 s)`);
  const tokenEnded = endedReasons(byToken);
  let since = Date.now();
  t.is((await user.del(`/api/tokens/${made.body.id}`)).status, 200);
  t.is(await tokenEnded, 'credentials no longer valid');
  within(since, 'the revocation');
  t.deepEqual(await ask(bySession, 'container:list'), [], 'the session socket is untouched by the token revocation');

  const otherEnded = endedReasons(byOtherSession);
  since = Date.now();
  const changed = await user.put('/api/me/password', { current: 'a long password', password: 'another long password' });
  t.is(changed.status, 200, JSON.stringify(changed.body));
  t.is(await otherEnded, 'credentials no longer valid');
  within(since, 'the password change');
  t.deepEqual(await ask(bySession, 'container:list'), [], 'the session that changed the password keeps its socket');
});
