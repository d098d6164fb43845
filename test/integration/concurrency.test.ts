/** The launch race over HTTP: 200 simultaneous requests from 20 users for 15 free containers. */
import test from 'ava';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { adminClient, newTokenUser, type Client } from './client.ts';

let deck: TestDeck;
const SIZES = { nginx: 5, apache: 3, python: 3, node: 2, ssh: 2 };
const TYPES = Object.keys(SIZES) as Array<keyof typeof SIZES>;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: Object.entries(SIZES).map(([t, n]) => `${t}=${n}`).join(','), POOLDECK_USER_LIMIT: '0' });
});

test.after.always(async () => {
  await deck?.destroy();
});

test('When 20 users send 200 launch requests at once for 15 free containers, then exactly 15 succeed, none twice, and the rest get a clear 409', async (t) => {
  let started = Date.now();
  const users: Client[] = await Promise.all(Array.from({ length: 20 }, (_, i) => newTokenUser(deck, `c${i}x`)));
  t.log(`20 users registered, logged in and given tokens in ${Date.now() - started} ms`);
  started = Date.now();
  const replies = await Promise.all(
    Array.from({ length: 200 }, (_, i) => users[i % 20].post('/api/containers', { type: TYPES[i % TYPES.length] }).then((reply) => ({ reply, user: users[i % 20] }))),
  );
  t.log(`200 launches answered in ${Date.now() - started} ms`);

  const won = replies.filter(({ reply }) => reply.status === 201);
  const lost = replies.filter(({ reply }) => reply.status !== 201);
  t.is(won.length, 15);
  t.true(lost.every(({ reply }) => reply.status === 409), `statuses: ${[...new Set(lost.map(({ reply }) => reply.status))].join(',')}`);
  t.true(lost.every(({ reply }) => /^no free (nginx|apache|python|node|ssh) container right now/.test(reply.body.error)));

  const names = won.map(({ reply }) => reply.body.container.name);
  const ports = won.map(({ reply }) => reply.body.container.host_port);
  const ids = won.map(({ reply }) => reply.body.container.id);
  t.is(new Set(names).size, 15, 'no slot handed out twice');
  t.is(new Set(ports).size, 15);
  t.is(new Set(ids).size, 15);
  for (const type of TYPES) t.is(won.filter(({ reply }) => reply.body.container.type === type).length, SIZES[type], type);

  started = Date.now();
  // Each winner sees exactly what it won; the server agrees on who holds what.
  for (const user of users) {
    const mine = won.filter((w) => w.user === user).map(({ reply }) => reply.body.container.id).sort();
    const listed = (await user.get('/api/containers')).body.containers.map((c: { id: number }) => c.id).sort();
    t.deepEqual(listed, mine, user.name);
  }
  const admin = await adminClient(deck);
  const slots = (await admin.get('/api/admin/pool')).body.slots;
  t.is(slots.filter((s: { state: string }) => s.state === 'assigned').length, 15);
  for (const { reply, user } of won) t.is(slots.find((s: { name: string }) => s.name === reply.body.container.name).owner, user.name);
  const active = await deck.db.all<Array<{ slot_name: string }>>('SELECT slot_name FROM assignments WHERE released_at IS NULL AND pool_name = ?', deck.config.poolName);
  t.deepEqual(active.map((a) => a.slot_name).sort(), [...names].sort(), 'one stored assignment per handed-out slot');
  t.log(`checks took ${Date.now() - started} ms`);
});
