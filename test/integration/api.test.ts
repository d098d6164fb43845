/** The main story over HTTP, on a real server and real containers: register → launch → upload → release. */
import test from 'ava';
import { eventually, fetchText, startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, form, uniqueName } from './client.ts';

let deck: TestDeck;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2', POOLDECK_USER_LIMIT: '1' });
});

test.after.always(async () => {
  await deck?.destroy();
});

test('When a user registers, logs in, launches nginx, uploads index.html and releases, then the page is served live and is gone after release', async (t) => {
  const username = uniqueName('flow');
  const user = new Client(deck.url);
  t.is((await user.post('/api/auth/register', { username, email: `${username}@example.test`, password: 'a good password' })).status, 201);
  t.is((await user.post('/api/auth/login', { username, password: 'a good password' })).status, 200);

  const before = await user.get('/api/pool');
  t.deepEqual(Object.keys(before.body.pool.nginx).sort(), ['assigned', 'available', 'failed', 'stopped']);

  const launched = await user.post('/api/containers', { type: 'nginx' });
  t.is(launched.status, 201);
  const container = launched.body.container;
  t.like(container, { type: 'nginx', status: 'assigned' });
  t.true(Number.isInteger(container.id));
  t.is(container.url, `http://127.0.0.1:${container.host_port}/`);
  t.regex(container.created_at, /^\d{4}-\d\d-\d\dT/);
  const listed = await user.get('/api/containers');
  t.deepEqual(listed.body.containers.map((c: { id: number }) => c.id), [container.id]);

  const welcome = await fetchText(`http://127.0.0.1:${container.host_port}/`);
  t.is(welcome.status, 200);
  t.regex(welcome.body, /Pooldeck nginx container/);

  const page = `<h1>hello from ${username}</h1>`;
  const upload = await user.post(`/api/containers/${container.id}/files`, form({ 'index.html': page, 'style.css': 'h1{color:red}' }));
  t.is(upload.status, 201);
  t.deepEqual(upload.body.files.map((f: { name: string }) => f.name).sort(), ['index.html', 'style.css']);
  const served = await fetchText(`http://127.0.0.1:${container.host_port}/`);
  t.is(served.body, page, 'served at once, no restart');
  t.is((await fetchText(`http://127.0.0.1:${container.host_port}/style.css`)).body, 'h1{color:red}');
  const files = await user.get(`/api/containers/${container.id}/files`);
  t.like(files.body.files.find((f: { name: string }) => f.name === 'index.html'), { size: page.length });
  t.regex(files.body.files[0].modified, /^\d{4}-/);

  const released = await user.del(`/api/containers/${container.id}`);
  t.is(released.status, 200);
  t.deepEqual((await user.get('/api/containers')).body.containers, []);
  t.is((await user.get(`/api/containers/${container.id}`)).status, 404);

  const slotOf = () => deck.runtime.slots().find((s) => s.name === container.name);
  const back = await eventually(() => slotOf()?.state === 'available' && slotOf()?.phase === 'ready', 60_000, 50);
  t.true(back.ok, 'the container is back in the pool');
  const after = await fetchText(`http://127.0.0.1:${container.host_port}/`);
  t.is(after.status, 200);
  t.false(after.body.includes(username), "the next holder does not see the previous holder's file");
  t.regex(after.body, /Pooldeck nginx container/);
  t.is((await fetchText(`http://127.0.0.1:${container.host_port}/style.css`)).status, 404);
  t.log(`back in the pool after ${back.ms} ms`);
});

test('When launches are refused, then unknown type is 400, none free is 409 and over the limit is 429, each with a sentence', async (t) => {
  const user = new Client(deck.url);
  const username = uniqueName('ref');
  await user.post('/api/auth/register', { username, email: `${username}@example.test`, password: 'a good password' });
  await user.post('/api/auth/login', { username, password: 'a good password' });
  const unknown = await user.post('/api/containers', { type: 'php' });
  t.is(unknown.status, 400);
  t.regex(unknown.body.error, /unknown container type "php"/);
  t.is((await user.post('/api/containers', {})).status, 400);
  t.is((await user.post('/api/containers', { type: 5 })).status, 400);
  const none = await user.post('/api/containers', { type: 'apache' });
  t.is(none.status, 409);
  t.regex(none.body.error, /no free apache container/);
  const first = await user.post('/api/containers', { type: 'nginx' });
  t.is(first.status, 201);
  const limited = await user.post('/api/containers', { type: 'nginx' });
  t.is(limited.status, 429);
  t.regex(limited.body.error, /the limit is 1 per user/);
  t.is((await user.del(`/api/containers/${first.body.container.id}`)).status, 200);
});
