/** /api/admin: refused to everyone but admins; each action does what it says on a real pool. */
import test from 'ava';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, adminClient, newTokenUser, newUser } from './client.ts';
import { poolContainers } from '../support/docker.ts';

let deck: TestDeck;
let admin: Client;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2' });
  admin = await adminClient(deck);
});

test.after.always(async () => {
  await deck?.destroy();
});

const nginx = () => deck.runtime.slots().filter((s) => s.type === 'nginx');
const settled = (size: number) => eventually(() => nginx().length === size && nginx().every((s) => (s.state === 'available' && s.phase === 'ready') || s.state === 'assigned'), 60_000, 50);

const ADMIN_ROUTES: Array<[string, string, unknown?]> = [
  ['GET', '/api/admin/users'],
  ['DELETE', '/api/admin/users/1'],
  ['GET', '/api/admin/pool'],
  ['POST', '/api/admin/pool/resize', { type: 'nginx', size: 0 }],
  ['POST', '/api/admin/pool/reinit', {}],
  ['POST', '/api/admin/pool/add', { type: 'nginx', count: 1 }],
  ['DELETE', '/api/admin/containers/pool_nginx_0_1'],
  ['DELETE', '/api/admin/slots/pool_nginx_0_1'],
  ['POST', '/api/admin/slots/pool_nginx_0_1/restart', {}],
  ['POST', '/api/admin/slots/pool_nginx_0_1/recreate', {}],
  ['GET', '/api/admin/history'],
  ['GET', '/api/admin/monitor'],
  ['GET', '/api/admin/audit'],
  ['POST', '/api/admin/monitor/run', {}],
  ['POST', '/api/admin/monitor/pause', {}],
  ['POST', '/api/admin/monitor/resume', {}],
  ['PUT', '/api/admin/monitor/interval', { seconds: 1 }],
];

test.serial('When a non-admin (cookie or token) or nobody calls any admin route, then it is refused 403 / 401 and nothing changes', async (t) => {
  const before = JSON.stringify(nginx().map((s) => [s.name, s.containerId]));
  for (const user of [await newUser(deck, 'na'), await newTokenUser(deck, 'nt')]) {
    for (const [method, path, body] of ADMIN_ROUTES) {
      const reply = await user.call(method, path, body);
      t.is(reply.status, 403, `${method} ${path}`);
      t.deepEqual(reply.body, { error: 'only an admin may do this' });
    }
  }
  for (const [method, path, body] of ADMIN_ROUTES) t.is((await new Client(deck.url).call(method, path, body)).status, 401, `${method} ${path}`);
  t.is(JSON.stringify(nginx().map((s) => [s.name, s.containerId])), before);
  t.false(deck.runtime.monitor().paused);
});

test.serial('When the admin lists users and the pool, then every slot is shown with its owner and users with their container count', async (t) => {
  const user = await newUser(deck, 'own');
  const launched = (await user.post('/api/containers', { type: 'nginx' })).body.container;
  const users = (await admin.get('/api/admin/users')).body.users;
  t.like(users.find((u: { username: string }) => u.username === 'admin'), { is_admin: true });
  t.like(users.find((u: { username: string }) => u.username === user.name), { is_admin: false, containers: 1 });
  t.false(JSON.stringify(users).includes('password'), 'no hashes');
  const pool = (await admin.get('/api/admin/pool')).body;
  const slot = pool.slots.find((s: { name: string }) => s.name === launched.name);
  t.like(slot, { type: 'nginx', state: 'assigned', phase: 'serving', host_port: launched.host_port, owner: user.name, assignment_id: launched.id });
  t.regex(slot.container_id, /^[0-9a-f]{12}$/);
  t.regex(slot.since, /^\d{4}-/);
  t.is(typeof slot.index, 'number');
  t.like(pool.counts.nginx, { assigned: 1, available: 1 });

  const released = await admin.del(`/api/admin/containers/${launched.name}`);
  t.is(released.status, 200);
  t.like(released.body, { name: launched.name, user: user.name });
  t.deepEqual((await user.get('/api/containers')).body.containers, []);
  t.is((await admin.del(`/api/admin/containers/${launched.name}`)).status, 409, 'not assigned any more');
  t.is((await admin.del('/api/admin/containers/pool_nginx_99_1')).status, 404);
  t.true((await settled(2)).ok);
});

test.serial('When the admin grows, shrinks and reinitialises the pool, then the slots follow; bad sizes are 400', async (t) => {
  const added = await admin.post('/api/admin/pool/add', { type: 'nginx', count: 1 });
  t.is(added.status, 200);
  t.is(added.body.result.added.length, 1);
  t.true((await settled(3)).ok, 'grew to 3');
  const shrunk = await admin.post('/api/admin/pool/resize', { type: 'nginx', size: 1 });
  t.is(shrunk.status, 200);
  t.is(shrunk.body.result.retired.length, 2);
  t.deepEqual(Object.keys(shrunk.body.result).sort(), ['added', 'kept', 'retired', 'size', 'type'], 'no request ids or event names in the answer');
  t.like(shrunk.body.result, { type: 'nginx', size: 1 });
  t.true((await settled(1)).ok, 'shrank to 1');
  t.is((await admin.post('/api/admin/pool/resize', { type: 'nginx', size: 2 })).status, 200);
  t.true((await settled(2)).ok);

  const before = new Map(nginx().map((s) => [s.name, s.containerId]));
  const reinit = await admin.post('/api/admin/pool/reinit', {});
  t.is(reinit.status, 200);
  t.deepEqual([...reinit.body.result.recreated].sort(), [...before.keys()].sort());
  t.deepEqual(Object.keys(reinit.body.result).sort(), ['recreated', 'skipped']);
  t.true((await eventually(() => nginx().every((s) => s.state === 'available' && s.phase === 'ready' && s.containerId !== before.get(s.name)), 60_000, 50)).ok, 'every free container was rebuilt');

  for (const [body, message] of [
    [{ type: 'php', size: 1 }, /unknown container type/],
    [{ type: 'nginx', size: -1 }, /from 0 to 20/],
    [{ type: 'nginx', size: 21 }, /from 0 to 20/],
    [{ type: 'nginx', size: '2' }, /whole number/],
    [{ type: 'nginx' }, /missing field: size/],
    [{ size: 2 }, /missing field: type/],
  ] as const) {
    const reply = await admin.post('/api/admin/pool/resize', body);
    t.is(reply.status, 400, JSON.stringify(body));
    t.regex(reply.body.error, message);
  }
  t.is((await admin.post('/api/admin/pool/add', { type: 'nginx', count: 19 })).status, 400, 'beyond the port range');
  t.is((await admin.post('/api/admin/pool/add', { type: 'nginx', count: 0 })).status, 400);
  t.is(nginx().length, 2);
});

test.serial('When the admin shrinks 4→2 and 20 ms later grows back to 4, then the pool settles at 4 slots and 4 containers', async (t) => {
  t.is((await admin.post('/api/admin/pool/resize', { type: 'nginx', size: 4 })).status, 200);
  t.true((await settled(4)).ok, 'grew to 4');
  const shrink = admin.post('/api/admin/pool/resize', { type: 'nginx', size: 2 });
  await new Promise((r) => setTimeout(r, 20)); // the scenario of the bug report, not a wait for a condition
  const grow = await admin.post('/api/admin/pool/resize', { type: 'nginx', size: 4 });
  const shrunk = await shrink;
  t.is(shrunk.status, 200);
  t.is(grow.status, 200);
  t.true((await eventually(() => nginx().length === 4 && nginx().every((s) => s.state === 'available' && s.phase === 'ready'), 60_000, 50)).ok, 'back at 4');
  const names = nginx().map((s) => s.name).sort();
  t.true((await eventually(async () => JSON.stringify((await poolContainers(deck.config.poolName)).map((c) => c.name).sort()) === JSON.stringify(names), 30_000, 100)).ok, '4 containers, one per slot');
  const sweep = (await admin.post('/api/admin/monitor/run', {})).body.sweep;
  t.deepEqual([sweep.containers, sweep.findings, sweep.orphans], [4, [], []]);
  t.is((await admin.post('/api/admin/pool/resize', { type: 'nginx', size: 2 })).status, 200);
  t.true((await settled(2)).ok);
});

test.serial('When the admin removes a held container from the pool, then it is released, its container is gone and the type shrinks', async (t) => {
  const user = await newTokenUser(deck, 'rm');
  const launched = await user.post('/api/containers', { type: 'nginx' });
  t.is(launched.status, 201);
  const held = nginx().find((s) => s.assignment?.id === launched.body.container.id)!;
  const removed = await admin.call('DELETE', `/api/admin/slots/${held.name}`);
  t.is(removed.status, 200, JSON.stringify(removed.body));
  t.truthy(removed.body.released);
  t.true((await eventually(() => !nginx().some((s) => s.name === held.name), 30_000, 50)).ok, 'slot gone');
  t.is((await user.get('/api/containers')).body.containers.length, 0, 'the user no longer holds it');
  t.is((await admin.call('DELETE', `/api/admin/slots/${held.name}`)).status, 404);
  t.is((await admin.post('/api/admin/pool/add', { type: 'nginx', count: 1 })).status, 200);
  t.true((await settled(2)).ok);
});

test.serial('When the admin restarts a free slot and recreates a held one, then the free one runs its own container again and the held one gets a new container with its files', async (t) => {
  t.true((await settled(2)).ok);
  const [first] = nginx();
  const restarted = await admin.post(`/api/admin/slots/${first.name}/restart`, {});
  t.is(restarted.status, 200, JSON.stringify(restarted.body));
  t.true((await eventually(() => nginx().find((s) => s.name === first.name)!.phase === 'restarting', 20_000, 20)).ok, 'the pool saw the stop');
  t.true((await settled(2)).ok);
  t.is(nginx().find((s) => s.name === first.name)!.containerId, first.containerId, 'started again, not replaced');

  const user = await newTokenUser(deck, 'rc');
  const launched = await user.post('/api/containers', { type: 'nginx' });
  t.is(launched.status, 201);
  const held = nginx().find((s) => s.assignment?.id === launched.body.container.id)!;
  const form = new FormData();
  form.append('files', new Blob(['kept']), 'index.html');
  t.is((await user.call('POST', `/api/containers/${held.assignment!.id}/files`, form)).status, 201);
  const recreated = await admin.post(`/api/admin/slots/${held.name}/recreate`, {});
  t.is(recreated.status, 200, JSON.stringify(recreated.body));
  t.true((await eventually(() => {
    const now = nginx().find((s) => s.name === held.name)!;
    return now.state === 'assigned' && now.containerId !== held.containerId && now.containerId !== null;
  }, 60_000, 50)).ok, 'a new container for the same assignment');
  const files = await user.get(`/api/containers/${held.assignment!.id}/files`);
  t.deepEqual(files.body.files.map((f: { name: string }) => f.name), ['index.html']);

  t.is((await admin.post('/api/admin/slots/nope_0/restart', {})).status, 404);
  await user.del(`/api/containers/${held.assignment!.id}`);
  t.true((await settled(2)).ok);
});

test.serial('When the admin runs, pauses, resumes and retimes the monitor, then its status says so', async (t) => {
  const run = await admin.post('/api/admin/monitor/run', {});
  t.is(run.status, 200);
  t.is(run.body.sweep.containers, 2);
  t.deepEqual(run.body.sweep.findings, []);
  const monitor = await admin.get('/api/admin/monitor');
  t.is(monitor.status, 200);
  t.true(monitor.body.sweeps.length >= 1);
  t.true(Array.isArray(monitor.body.recoveries));
  t.like(monitor.body.monitor, { paused: false });
  t.like((await admin.post('/api/admin/monitor/pause', {})).body.monitor, { paused: true });
  t.true(deck.runtime.monitor().paused);
  t.like((await admin.post('/api/admin/monitor/resume', {})).body.monitor, { paused: false });
  t.like((await admin.put('/api/admin/monitor/interval', { seconds: 7 })).body.monitor, { intervalMs: 7000 });
  t.is((await admin.put('/api/admin/monitor/interval', { seconds: 0 })).status, 400);
  t.is((await admin.put('/api/admin/monitor/interval', { seconds: 'x' })).status, 400);
  t.is((await admin.put('/api/admin/monitor/interval', {})).status, 400);
});

test.serial('When the admin deletes a user, then their containers are released first and their credentials stop working; never yourself', async (t) => {
  const user = await newTokenUser(deck, 'del');
  const launched = (await user.post('/api/containers', { type: 'nginx' })).body.container;
  const id = (await user.get('/api/me')).body.user.id;
  const deleted = await admin.del(`/api/admin/users/${id}`);
  t.is(deleted.status, 200);
  t.deepEqual(deleted.body.released, [launched.name]);
  t.is(deck.runtime.slots().find((s) => s.name === launched.name)?.assignment, null);
  t.is((await user.get('/api/me')).status, 401);
  t.false((await admin.get('/api/admin/users')).body.users.some((u: { id: number }) => u.id === id));
  t.is((await admin.del(`/api/admin/users/${id}`)).status, 404);
  const self = (await admin.get('/api/me')).body.user.id;
  const refused = await admin.del(`/api/admin/users/${self}`);
  t.is(refused.status, 400);
  t.regex(refused.body.error, /your own account/);
  t.true((await settled(2)).ok);
});
