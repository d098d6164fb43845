/** The audit log on a real server: who did what and when, filters, admins only, never a secret. */
import test from 'ava';
import { docker } from '../support/docker.ts';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, adminClient, form, newUser } from './client.ts';

let deck: TestDeck;
let admin: Client;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2', POOLDECK_HISTORY_SAMPLE: '1' });
  admin = await adminClient(deck);
});

test.after.always(async () => {
  await deck?.destroy();
});

type Entry = { id: number; at: string; actor: string; actorId: number | null; action: string; target: string | null; ok: boolean; status: number | null; ip: string | null; detail: Record<string, any> };
const audit = async (query = '') => {
  const reply = await admin.get<{ entries: Entry[]; next: number | null }>(`/api/admin/audit${query}`);
  if (reply.status !== 200) throw new Error(`audit: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
};

test.serial('When a user registers, fails a login, launches, uploads and releases, then each is one audit row with who, what and the outcome', async (t) => {
  const user = await newUser(deck, 'aud');
  const wrong = await new Client(deck.url).post('/api/auth/login', { username: user.name, password: 'not the password at all' });
  t.is(wrong.status, 401);
  const launched = await user.post('/api/containers', { type: 'nginx' });
  t.is(launched.status, 201);
  const id = launched.body.container.id as number;
  const name = launched.body.container.name as string;
  t.is((await user.post(`/api/containers/${id}/files`, form({ 'index.html': 'hello audit' }))).status, 201);
  t.is((await user.del(`/api/containers/${id}`)).status, 200);

  const mine = (await audit(`?actor=${user.name}`)).entries.reverse();
  t.deepEqual(
    mine.map((e) => [e.action, e.ok]),
    [['user.register', true], ['auth.login', true], ['auth.login', false], ['container.launch', true], ['files.upload', true], ['container.release', true]],
  );
  const [register, , failed, launch, upload, release] = mine;
  t.is(register!.detail.email, `${user.name}@example.test`);
  t.is(failed!.status, 401);
  t.is(failed!.actorId, null, 'a failed login is recorded under the name that was tried, with no user id');
  t.is(launch!.target, name);
  t.is(launch!.detail.type, 'nginx');
  t.is(launch!.actorId, release!.actorId);
  t.deepEqual(upload!.detail.files, [{ name: 'index.html', size: 'hello audit'.length }]);
  t.is(release!.target, String(id));
  t.truthy(launch!.ip);
  t.false(JSON.stringify(mine).includes('correct horse battery'), 'no password in the audit log');
  t.false(JSON.stringify(mine).includes('not the password at all'), 'not even a wrong one');
});

test.serial('When an admin resizes the pool, then the audit log shows the resize with its size and result, and filters find it', async (t) => {
  t.is((await admin.post('/api/admin/pool/resize', { type: 'nginx', size: 3 })).status, 200);
  t.is((await admin.post('/api/admin/pool/resize', { type: 'nope', size: 3 })).status, 400);
  const { entries } = await audit('?action=admin.*&limit=10');
  const [refused, resized] = entries;
  t.is(resized!.action, 'admin.pool.resize');
  t.is(resized!.actor, 'admin');
  t.true(resized!.ok);
  t.is(resized!.detail.size, 3);
  t.is(resized!.detail.type, 'nginx');
  t.deepEqual(resized!.detail.added, ['pool_nginx_2_' + (Number(deck.env.POOLDECK_PORTS_NGINX!.split('-')[0]) + 2)]);
  t.false(refused!.ok);
  t.is(refused!.status, 400);
  t.regex(String(refused!.detail.error), /unknown container type/);
  t.true(entries.every((e) => e.action.startsWith('admin.')));
  t.deepEqual((await audit('?ok=false&action=admin.pool.resize')).entries.map((e) => e.id), [refused!.id]);
  t.is((await audit(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).entries.length, 0);
});

test.serial('When the audit log is paged or queried with bad filters, then pages chain and bad filters are 400 with a sentence', async (t) => {
  const first = await audit('?limit=2');
  t.is(first.entries.length, 2);
  t.is(first.next, first.entries[1]!.id);
  const second = await audit(`?limit=2&before=${first.next}`);
  t.true(second.entries.every((e) => e.id < first.next!));
  for (const bad of ['?limit=0', '?limit=abc', '?since=yesterday', '?ok=maybe', '?actor=%1b%5b31m']) {
    const reply = await admin.get(`/api/admin/audit${bad}`);
    t.is(reply.status, 400, bad);
    t.is(typeof reply.body.error, 'string');
  }
});

test.serial('When a held container is killed and rebuilt by the supervisor, then the recovery is in the audit log as system', async (t) => {
  const user = await newUser(deck, 'rec');
  const launched = await user.post('/api/containers', { type: 'nginx' });
  t.is(launched.status, 201);
  const name = launched.body.container.name as string;
  const slot = deck.runtime.slots().find((s) => s.name === name)!;
  await docker('kill', slot.containerId!);
  const found = await eventually(async () => (await audit(`?action=pool.recovered&target=${name}`)).entries.length === 1, 60_000, 200);
  t.true(found.ok, 'a pool.recovered row for the killed slot');
  const [row] = (await audit(`?action=pool.recovered&target=${name}`)).entries;
  t.is(row!.actor, 'system');
  t.is(row!.detail.user, user.name);
  t.is(typeof row!.detail.durationMs, 'number');
});

type Sample = { at: number; ms: number; recoveries: number };
const history = async () => (await admin.get<{ samples: Sample[] }>('/api/admin/history?hours=1')).body.samples;
const metric = async (name: string) => {
  const reply = await admin.get<string>('/metrics');
  if (reply.status !== 200) throw new Error(`metrics: ${reply.status}`);
  const line = String(reply.body).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
};

test.serial('When an admin restarts and then recreates a held slot, then each rebuild is the admin\'s in the audit log and no recovery in history, /metrics or the log; a later death is a recovery again', async (t) => {
  const user = await newUser(deck, 'rst');
  const launched = await user.post('/api/containers', { type: 'nginx' });
  t.is(launched.status, 201);
  const name = launched.body.container.name as string;
  const recoveries = 'pooldeck_recoveries_total{type="nginx"}';
  const recoveredBefore = await metric(recoveries);
  // History from here on: wait for a sample that starts after now.
  const start = Date.now();
  t.true((await eventually(async () => (await history()).some((s) => s.at - s.ms >= start), 10_000, 100)).ok);
  const baseline = (await history()).at(-1)!.at;
  const heard: string[] = [];
  const onRecovery = (e: { name: string }) => heard.push(e.name);
  deck.runtime.on('recovery', onRecovery);
  t.teardown(() => deck.runtime.off('recovery', onRecovery));

  for (const kind of ['restart', 'recreate'] as const) {
    const before = deck.runtime.slots().find((s) => s.name === name)!.containerId;
    t.is((await admin.post(`/api/admin/slots/${name}/${kind}`, {})).status, 200);
    const action = kind === 'restart' ? 'admin.slot.restarted' : 'admin.slot.recreated';
    const done = await eventually(async () => (await audit(`?action=${action}&target=${name}`)).entries.length === 1, 60_000, 100);
    t.true(done.ok, `an ${action} row once ${name} is back`);
    const now = deck.runtime.slots().find((s) => s.name === name)!;
    t.is(now.state, 'assigned');
    if (kind === 'recreate') t.not(now.containerId, before, 'recreated: a new container');
  }
  const rows = (await audit(`?target=${name}&action=admin.slot.`)).entries.reverse();
  t.deepEqual(rows.map((r) => [r.action, r.actor]), [
    ['admin.slot.restart', 'admin'],
    ['admin.slot.restarted', 'admin'],
    ['admin.slot.recreate', 'admin'],
    ['admin.slot.recreated', 'admin'],
  ]);
  t.is(rows[1]!.detail.user, user.name);
  t.is(typeof rows[1]!.detail.durationMs, 'number');
  t.is((await audit(`?action=pool.recovered&target=${name}`)).entries.length, 0, 'no recovery in the audit log');
  t.deepEqual(heard, [], 'the runtime reported no recovery (history and metrics are fed by it)');
  t.is(await metric(recoveries), recoveredBefore, '/metrics counts no recovery');
  t.is(await metric('pooldeck_slot_restarts_total{type="nginx",kind="restart"}'), 1);
  t.is(await metric('pooldeck_slot_restarts_total{type="nginx",kind="recreate"}'), 1);
  const after = Date.now();
  t.true((await eventually(async () => (await history()).some((s) => s.at - s.ms >= after), 10_000, 100)).ok);
  const since = (await history()).filter((s) => s.at > baseline);
  t.true(since.length > 0);
  t.is(since.reduce((sum, s) => sum + s.recoveries, 0), 0, 'the history charts count no recovery');

  // The admin's restart is spent: the next death of the same slot is the supervisor's recovery.
  await docker('kill', deck.runtime.slots().find((s) => s.name === name)!.containerId!);
  t.true((await eventually(async () => (await audit(`?action=pool.recovered&target=${name}`)).entries.length === 1, 60_000, 100)).ok);
  t.deepEqual(heard, [name]);
  t.is(await metric(recoveries), recoveredBefore + 1);
});
