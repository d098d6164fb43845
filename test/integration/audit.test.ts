/** The audit log on a real server: who did what and when, filters, admins only, never a secret. */
import test from 'ava';
import { docker } from '../support/docker.ts';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, adminClient, form, newUser } from './client.ts';

let deck: TestDeck;
let admin: Client;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2' });
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
