/**
 * The socket.io layer over a PoolRuntime on the recording FakeEngine: a real socket.io server
 * on port 0 and typed socket.io-client connections, with an `authenticate` that knows three
 * tokens. No Docker, no accounts database: what is tested here is the relay, the rooms, the
 * validation and the inspector's serialisation.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { io as connect, type Socket } from 'socket.io-client';
import { silentLogger } from '../../runtime/logger.ts';
import { attachRealtime, type Realtime, type RealtimeUser } from '../../runtime/realtime/socket-server.ts';
import { jsonSafe } from '../../runtime/realtime/inspector.ts';
import { stateText } from '../../shared/pool.ts';
import type { Ack, ClientToServerEvents, InspectBatch, ServerToClientEvents } from '../../shared/events.ts';
import { eventually } from '../support/server.ts';
import { harness, type Harness } from './harness.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const USERS: Record<string, RealtimeUser> = {
  'pd_ann': { id: 1, username: 'ann', isAdmin: false },
  'pd_bob': { id: 2, username: 'bob', isAdmin: false },
  'pd_root': { id: 3, username: 'root', isAdmin: true },
};

interface Rig {
  h: Harness;
  http: Server;
  realtime: Realtime;
  url: string;
  clients: Client[];
  client(token?: string, options?: Parameters<typeof connect>[1]): Promise<Client>;
  /** Make a token stop authenticating (revoked, user deleted). */
  revoke(token: string): void;
  close(): Promise<void>;
}

async function rig(t: ExecutionContext, options: { recheckMs?: number; recheckCacheMs?: number; env?: Record<string, string> } = {}): Promise<Rig> {
  const h = await harness(options.env ?? {});
  await h.db.run(`INSERT OR IGNORE INTO users (id, username, email, password_hash, is_admin) VALUES (3, 'root', 'root@x', 'x', 1)`);
  const http = createServer();
  const valid = new Set(Object.keys(USERS));
  const realtime = attachRealtime(http, {
    runtime: h.runtime,
    config: h.config,
    log: silentLogger,
    inspectEveryMs: 50,
    recheckMs: options.recheckMs ?? 3_600_000,
    recheckCacheMs: options.recheckCacheMs,
    console: null,
    authenticate: async ({ authorization, cookie }) => {
      const token = authorization?.replace(/^Bearer /, '') ?? /pooldeck_session=([^;]+)/.exec(cookie ?? '')?.[1];
      return token && valid.has(token) ? USERS[token] : null;
    },
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const clients: Client[] = [];
  let closed = false;
  t.teardown(async () => {
    if (!closed) await self.close();
  });
  const self: Rig = {
    h, http, realtime, url, clients,
    async client(token, options = {}) {
      const socket: Client = connect(url, { auth: token ? { token } : {}, transports: ['websocket'], reconnection: false, ...options });
      clients.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      return socket;
    },
    async close() {
      closed = true;
      for (const c of clients) c.close();
      await realtime.close();
      await new Promise((r) => http.close(r));
      await h.runtime.stop();
    },
    revoke: (token: string) => valid.delete(token),
  };
  return self;
}

/** Emit and resolve with the raw acknowledgement. */
function ask(socket: Client, event: string, ...args: unknown[]): Promise<Ack<any>> {
  return (socket.timeout(5000) as unknown as { emitWithAck(e: string, ...a: unknown[]): Promise<Ack<any>> }).emitWithAck(event, ...args);
}

/** Wait until `check` holds (a condition, not a time). */
async function until(check: () => boolean, ms = 3000): Promise<void> {
  if (!(await eventually(check, ms, 10)).ok) throw new Error(`condition not met within ${ms} ms`);
}

function next<E extends keyof ServerToClientEvents>(socket: Client, event: E, ms = 3000): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    (socket as unknown as { once(e: string, fn: (p: unknown) => void): void }).once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload as Parameters<ServerToClientEvents[E]>[0]);
    });
  });
}

test('When a socket connects without credentials or with a bad token, then it is refused with a sentence', async (t) => {
  const r = await rig(t);
  const none = await t.throwsAsync(r.client());
  t.is(none?.message, 'not logged in');
  const bad = await t.throwsAsync(r.client('pd_nope'));
  t.is(bad?.message, 'the API token is not valid');
  await r.close();
});

test('When a session cookie comes from a foreign Origin, then the socket is refused', async (t) => {
  const r = await rig(t);
  const foreign = await t.throwsAsync(r.client(undefined, { extraHeaders: { cookie: 'pooldeck_session=pd_ann', origin: 'http://evil.example' } }));
  t.is(foreign?.message, 'cross-site connection refused');
  const same = await r.client(undefined, { extraHeaders: { cookie: 'pooldeck_session=pd_ann', origin: r.url } });
  t.true(same.connected);
  await r.close();
});

test('When the server sits behind a trusted proxy, then a cookie socket from the public origin is accepted', async (t) => {
  const headers = { cookie: 'pooldeck_session=pd_ann', origin: 'https://deck.example', 'x-forwarded-host': 'deck.example' };
  const direct = await rig(t);
  const refused = await t.throwsAsync(direct.client(undefined, { extraHeaders: headers }));
  t.is(refused?.message, 'cross-site connection refused', 'X-Forwarded-Host is ignored unless the proxy is trusted');
  const proxied = await rig(t, { env: { POOLDECK_TRUST_PROXY: 'true' } });
  t.true((await proxied.client(undefined, { extraHeaders: headers })).connected);
});

test('When ann launches, lists and releases over the socket, then only ann hears about her container', async (t) => {
  const r = await rig(t);
  const ann = await r.client('pd_ann');
  const bob = await r.client('pd_bob');
  const bobHeard: string[] = [];
  bob.onAny((event) => bobHeard.push(event));

  const updated = next(ann, 'container:updated');
  const launched = await ask(ann, 'container:launch', { type: 'nginx' });
  t.true('data' in launched);
  const container = (launched as { data: { id: number; name: string; status: string; url: string } }).data;
  t.is(container.status, 'assigned');
  t.regex(container.url, /^http:\/\/.+:8000\/$/);
  t.is((await updated).id, container.id);

  const list = await ask(ann, 'container:list');
  t.deepEqual((list as { data: Array<{ id: number }> }).data.map((c) => c.id), [container.id]);
  t.deepEqual(await ask(bob, 'container:list'), { data: [] });

  const stolen = await ask(bob, 'container:release', { id: container.id });
  t.deepEqual(stolen, { error: 'you have no container with that id' });

  const mark = bobHeard.length;
  const released = next(ann, 'container:released');
  t.deepEqual(await ask(ann, 'container:release', { id: container.id }), { data: { id: container.id, name: container.name } });
  t.is((await released).id, container.id);
  // Counts go to everyone about 100 ms after a change, after any container event: wait for them.
  await until(() => bobHeard.slice(mark).includes('pool:counts'));
  t.false(bobHeard.some((e) => e.startsWith('container:')), `bob heard ${bobHeard.join(', ')}`);
  t.true(bobHeard.includes('pool:counts'));
  await r.close();
});

test('When an admin launches and releases, then the ack reaches the caller before the broadcasts about that slot', async (t) => {
  const r = await rig(t);
  const root = await r.client('pd_root');
  // Recorded as they arrive: acks in their callbacks, events in onAny (an awaited ack would resume too late to tell).
  const heard: Array<{ event: string; payload: { name?: string; id?: number; state?: string } }> = [];
  root.onAny((event, payload) => heard.push({ event, payload }));
  const command = <T>(event: string, payload: unknown) =>
    new Promise<T>((resolve) =>
      (root as unknown as { emit(e: string, p: unknown, ack: (a: Ack<T>) => void): void }).emit(event, payload, (answer) => {
        heard.push({ event: `ack ${event}`, payload: {} });
        if ('data' in answer) resolve(answer.data);
        else throw new Error(answer.error);
      }),
    );
  const order = (name: string) => heard.filter((h) => h.event.startsWith('ack ') || (h.payload?.name === name && /^(slot|container):/.test(h.event))).map((h) => h.event);

  const { id, name } = await command<{ id: number; name: string }>('container:launch', { type: 'nginx' });
  await until(() => heard.some((h) => h.event === 'slot:updated' && h.payload.name === name && h.payload.state === 'assigned'));
  await until(() => heard.some((h) => h.event === 'container:updated' && h.payload.id === id));
  t.is(order(name)[0], 'ack container:launch', `heard ${order(name).join(', ')}`);

  heard.length = 0;
  await command('container:release', { id });
  await until(() => heard.some((h) => h.event === 'container:released' && h.payload.id === id));
  t.is(order(name)[0], 'ack container:release', `heard ${order(name).join(', ')}`);
  t.true(order(name).includes('slot:updated'));
  await r.close();
});

test('When a client sends bad payloads, then each is refused with a sentence and nothing else happens', async (t) => {
  const r = await rig(t);
  const ann = await r.client('pd_ann');
  t.deepEqual(await ask(ann, 'container:launch', { type: 5 }), { error: 'type must be the name of a container type, e.g. "nginx"' });
  t.deepEqual(await ask(ann, 'container:launch', 'nginx'), { error: 'the payload must be an object' });
  t.deepEqual(await ask(ann, 'container:launch', null), { error: 'the payload must be an object' });
  t.deepEqual(await ask(ann, 'container:launch', { type: 'cobol' }), { error: 'unknown container type "cobol"; known: nginx, apache, python, node, ssh' });
  t.deepEqual(await ask(ann, 'container:release', { id: '1' }), { error: "id must be the container's id (a positive whole number)" });
  t.deepEqual(await ask(ann, 'container:release', { id: 1.5 }), { error: "id must be the container's id (a positive whole number)" });
  t.deepEqual(await ask(ann, 'container:release', { id: 999 }), { error: 'you have no container with that id' });
  t.deepEqual(await ask(ann, 'monitor:run'), { error: 'only an admin may do this' });
  t.deepEqual(await ask(ann, 'inspect:subscribe'), { error: 'only an admin may do this' });
  // No acknowledgement callback: ignored, the connection stays usable.
  (ann as unknown as { emit(event: string, payload: unknown): void }).emit('container:launch', { type: 'nginx' });
  t.deepEqual(await ask(ann, 'container:list'), { data: [] });
  t.true(r.h.runtime.slots().every((s) => s.assignment === null));
  await r.close();
});

test('When the admin changes the monitor over the socket, then admins hear it and users do not', async (t) => {
  const r = await rig(t);
  const root = await r.client('pd_root');
  const ann = await r.client('pd_ann');
  const annHeard: string[] = [];
  ann.onAny((event) => annHeard.push(event));

  const status = next(root, 'monitor:status');
  const changed = await ask(root, 'monitor:interval', { seconds: 12 });
  t.like(changed, { data: { intervalMs: 12_000, paused: false } });
  t.like(await status, { intervalMs: 12_000 });
  t.deepEqual(await ask(root, 'monitor:interval', { seconds: 0 }), { error: 'seconds must be a number from 1 to 86400' });
  t.like(await ask(root, 'monitor:pause'), { data: { paused: true } });
  t.like(await ask(root, 'monitor:resume'), { data: { paused: false } });
  const sweep = next(root, 'monitor:sweep');
  const ran = (await ask(root, 'monitor:run')) as { data: { containers: number; dockerCalls: number } };
  t.is(ran.data.dockerCalls, 1);
  t.is((await sweep).containers, ran.data.containers);
  const got = (await ask(root, 'monitor:get')) as { data: { sweeps: unknown[]; status: { intervalMs: number } } };
  t.is(got.data.status.intervalMs, 12_000);
  t.true(got.data.sweeps.length >= 1);
  t.false(annHeard.some((e) => e.startsWith('monitor:') || e.startsWith('slot:')), `ann heard ${annHeard.join(', ')}`);
  await r.close();
});

test('When a slot changes, then admins get slot:updated with the owner and ann gets her container', async (t) => {
  const r = await rig(t);
  const root = await r.client('pd_root');
  const ann = await r.client('pd_ann');
  const slots = (await ask(root, 'slot:list')) as { data: Array<{ name: string; owner: string | null }> };
  t.is(slots.data.length, 3);
  const adminSaw = new Promise<{ name: string; owner: string | null; state: string }>((resolve) =>
    root.on('slot:updated', (s) => {
      if (s.owner === 'ann') resolve(s);
    }),
  );
  await r.h.runtime.launch({ id: 1, username: 'ann' }, 'nginx');
  t.like(await adminSaw, { owner: 'ann', state: 'assigned' });
  t.deepEqual(((await ask(ann, 'container:list')) as { data: unknown[] }).data.length, 1);
  await r.close();
});

test('When ann\'s container dies and is rebuilt, then she sees failed, then assigned, then recovered', async (t) => {
  const r = await rig(t);
  const ann = await r.client('pd_ann');
  const first = next(ann, 'container:updated');
  const { slot } = await r.h.runtime.launch({ id: 1, username: 'ann' }, 'nginx');
  t.is((await first).status, 'assigned');
  const seen: string[] = [];
  ann.on('container:updated', (c) => seen.push(`${c.status}/${c.phase}`));
  const recovered = next(ann, 'container:recovered');
  r.h.engine.kill(slot.name);
  const news = await recovered;
  t.is(news.name, slot.name);
  t.is(news.attempts, 1);
  t.deepEqual(seen, ['failed/recovering', 'assigned/serving']);
  await r.close();
});

test('When a token is revoked, then the next command ends the session', async (t) => {
  // Credentials are trusted for `recheckCacheMs` between commands; 0 makes every command check them.
  const r = await rig(t, { recheckCacheMs: 0 });
  const bob = await r.client('pd_bob');
  t.deepEqual(await ask(bob, 'container:list'), { data: [] });
  r.revoke('pd_bob');
  const ended = next(bob, 'session:ended');
  const closed = new Promise<string>((resolve) => bob.once('disconnect', resolve));
  t.deepEqual(await ask(bob, 'container:list'), { error: 'your session has ended; log in again' });
  t.truthy((await ended).reason);
  t.is(await closed, 'io server disconnect');
  t.false(bob.connected);
  await r.close();
});

test('When a token is revoked, then the periodic check ends the session without any command', async (t) => {
  const r = await rig(t, { recheckMs: 200 });
  const bob = await r.client('pd_bob');
  const ann = await r.client('pd_ann');
  const ended = next(bob, 'session:ended');
  const closed = new Promise<string>((resolve) => bob.once('disconnect', resolve));
  r.revoke('pd_bob');
  t.is((await ended).reason, 'credentials no longer valid');
  t.is(await closed, 'io server disconnect');
  // A later periodic check passes ann: she still connects and is answered.
  await until(() => ann.connected);
  t.deepEqual(await ask(ann, 'container:list'), { data: [] });
  t.true(ann.connected, 'other sockets stay');
});

test('When an admin subscribes to the inspector, then every actor comes JSON-safe with its machine drawing, and changes follow', async (t) => {
  const r = await rig(t);
  const root = await r.client('pd_root');
  const snapshot = (await ask(root, 'inspect:subscribe')) as { data: import('../../shared/events.ts').InspectSnapshot };
  const { machines, actors } = snapshot.data;
  t.deepEqual(Object.keys(machines).sort(), ['container', 'pool']);
  t.true(machines.container.nodes.some((n) => n.id === 'container.assigned.serving'));
  t.true(machines.container.edges.some((e) => e.source === 'container.available.ready' && e.event === 'slot.assign' && e.targets[0] === 'container.assigned.persisting'));
  const pool = actors.find((a) => a.parent === null)!;
  t.is(pool.name, 'pool');
  t.is(pool.machine, 'pool');
  const slotActors = actors.filter((a) => a.machine === 'container');
  t.deepEqual(slotActors.map((a) => a.name).sort(), ['pool_nginx_0_8000', 'pool_nginx_1_8001', 'pool_ssh_0_2200']);
  t.true(slotActors.every((a) => stateText(a.value) === 'available.ready' && a.parent === pool.id));

  // An ssh launch stores a password in the actors' context: it must not leave the server.
  const batches: InspectBatch[] = [];
  root.on('inspect:event', (b) => batches.push(b));
  await r.h.runtime.launch({ id: 1, username: 'ann' }, 'ssh');
  const ssh = r.h.runtime.slots().find((s) => s.type === 'ssh')!;
  const password = ssh.assignment!.credentials!.password;
  const sshId = slotActors.find((a) => a.name === ssh.name)?.id;
  await until(() => batches.flatMap((b) => b.actors).some((a) => a.id === sshId && stateText(a.value) === 'assigned.serving'));
  const wire = JSON.stringify(batches);
  t.false(wire.includes(password), 'the ssh password leaked into the inspector');
  t.true(wire.includes('[redacted]'));
  const sshActor = slotActors.find((a) => a.name === ssh.name)!;
  const states = batches.flatMap((b) => b.actors).filter((a) => a.id === sshActor.id).map((a) => stateText(a.value));
  t.is(states.at(-1), 'assigned.serving');
  const records = batches.flatMap((b) => b.records).filter((rec) => rec.actor === sshActor.id);
  t.true(records.some((rec) => rec.type === 'slot.assign' && rec.source === 'pool' && rec.state === 'assigned.persisting' && rec.changed));
  const tasks = batches.flatMap((b) => b.actors).filter((a) => a.src === 'persistAssignment');
  t.true(tasks.length > 0, 'the persistAssignment task shows up');
  t.false(JSON.stringify(await ask(root, 'inspect:subscribe')).includes(password));

  t.deepEqual(await ask(root, 'inspect:unsubscribe'), { data: true });
  await r.close();
});

test('jsonSafe drops functions, replaces actor refs, breaks cycles and redacts secrets', (t) => {
  const ref = { id: 'child', sessionId: 'x:9', send() {} };
  const cyclic: Record<string, unknown> = { name: 'a' };
  cyclic.self = cyclic;
  const out = jsonSafe({
    fn: () => 1,
    ref,
    cyclic,
    credentials: { password: 'hunter2' },
    nested: { password: 'p', ok: 1, keys: ['ssh-ed25519 AAAA'] },
    nothing: null,
    big: 10n,
    when: new Date(0),
    error: new Error('boom'),
    list: Array.from({ length: 150 }, (_, i) => i),
    long: 'x'.repeat(1000),
  }) as Record<string, any>;
  t.false('fn' in out);
  t.deepEqual(out.ref, { $actor: 'child' });
  t.deepEqual(out.cyclic, { name: 'a', self: '[circular]' });
  t.is(out.credentials, '[redacted]');
  t.deepEqual(out.nested, { password: '[redacted]', ok: 1, keys: '[redacted]' });
  t.is(out.nothing, null);
  t.is(out.big, '10');
  t.is(out.when, '1970-01-01T00:00:00.000Z');
  t.deepEqual(out.error, { error: 'boom' });
  t.is(out.list.length, 101);
  t.is(out.long.length, 401);
  t.notThrows(() => JSON.stringify(out));
});

test('When ann\'s container cannot be rebuilt or moved, then she hears it is stranded in words of ours, never Docker\'s', async (t) => {
  const r = await rig(t);
  const ann = await r.client('pd_ann');
  const { slot } = await r.h.runtime.launch({ id: 1, username: 'ann' }, 'nginx');
  await r.h.runtime.launch({ id: 2, username: 'bob' }, 'nginx');
  const stranded = next(ann, 'container:stranded');
  const logged = new Promise<string>((resolve) => r.h.runtime.once('stranded', (e) => resolve(e.message)));
  r.h.engine.failRuns = 3;
  r.h.engine.kill(slot.name);
  for (let i = 0; i < 3; i++) await r.h.tick(10_000);
  const news = await stranded;
  t.is(news.name, slot.name);
  t.regex(await logged, /simulated/, 'the supervisor\'s own record keeps the engine\'s words (for the log and the audit)');
  t.is(news.message, 'stopped and could not be rebuilt or moved yet; Pooldeck keeps trying and tells you when it is back');
  await r.close();
});
