/**
 * Every container route with a second user: someone else's container is "no such container"
 * (404, the same answer as an id nobody has), and nothing they try changes it.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fetchText, startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, adminClient, form, newTokenUser, newUser } from './client.ts';

let deck: TestDeck;
let alice: Client;
let bob: Client;
let web: { id: number; name: string; host_port: number };
let ssh: { id: number; name: string; host_port: number; ssh: string };

const keyDir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-key-'));
const keyFile = path.join(keyDir, 'id_ed25519');

test.before(async () => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@tests', '-f', keyFile]);
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2,ssh=1' });
  alice = await newUser(deck, 'alice');
  const saved = await alice.post('/api/me/keys', { key: readFileSync(`${keyFile}.pub`, 'utf8') });
  if (saved.status !== 201) throw new Error(`saving the key: ${JSON.stringify(saved.body)}`);
  bob = await newTokenUser(deck, 'bob');
  web = (await alice.post('/api/containers', { type: 'nginx' })).body.container;
  ssh = (await alice.post('/api/containers', { type: 'ssh' })).body.container;
  await alice.post(`/api/containers/${web.id}/files`, form({ 'index.html': 'alice was here' }));
});

test.after.always(async () => {
  await deck?.destroy();
  rmSync(keyDir, { recursive: true, force: true });
});

const has = (command: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
};
const sshOptions = (port: number) => ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', '-p', String(port)];

const NOT_FOUND = { error: 'no such container' };

test("When another user calls every container route with someone else's id, then each answers 404 exactly like a missing id", async (t) => {
  const missing = 999_999;
  const routes: Array<[string, (id: number) => Promise<{ status: number; body: unknown }>]> = [
    ['GET /containers/:id', (id) => bob.get(`/api/containers/${id}`)],
    ['GET /containers/:id/credentials', (id) => bob.get(`/api/containers/${id}/credentials`)],
    ['GET /containers/:id/files', (id) => bob.get(`/api/containers/${id}/files`)],
    ['POST /containers/:id/files', (id) => bob.post(`/api/containers/${id}/files`, form({ 'index.html': 'bob was here' }))],
    ['DELETE /containers/:id/files/:name', (id) => bob.del(`/api/containers/${id}/files/index.html`)],
    ['DELETE /containers/:id', (id) => bob.del(`/api/containers/${id}`)],
  ];
  for (const [what, call] of routes) {
    for (const id of [web.id, ssh.id]) {
      const theirs = await call(id);
      t.is(theirs.status, 404, `${what} on alice's ${id}`);
      t.deepEqual(theirs.body, NOT_FOUND, `${what}: no hint`);
    }
    const gone = await call(missing);
    t.is(gone.status, 404, `${what} on a missing id`);
    t.deepEqual(gone.body, NOT_FOUND);
    const junk = await bob.get('/api/containers/abc');
    t.is(junk.status, 404);
  }
  const list = await bob.get('/api/containers');
  t.deepEqual(list.body.containers, [], "bob's list holds nothing of alice's");
  t.false(JSON.stringify(list.body).includes(String(web.host_port)));

  // Alice's containers are untouched.
  const mine = await alice.get('/api/containers');
  t.deepEqual(mine.body.containers.map((c: { id: number }) => c.id).sort(), [web.id, ssh.id].sort());
  t.is((await fetchText(`http://127.0.0.1:${web.host_port}/`)).body, 'alice was here');
  t.true((await alice.get(`/api/containers/${web.id}/files`)).body.files.some((f: { name: string }) => f.name === 'index.html'));
});

test("When the admin uses the user routes on someone else's container, then those are owner-only too (admins use /api/admin)", async (t) => {
  const admin = await adminClient(deck);
  t.is((await admin.get(`/api/containers/${web.id}`)).status, 404);
  t.is((await admin.get(`/api/containers/${ssh.id}/credentials`)).status, 404);
  t.is((await admin.del(`/api/containers/${web.id}`)).status, 404);
});

test('When nobody is logged in, then every container route answers 401', async (t) => {
  const anon = new Client(deck.url);
  for (const [method, path] of [
    ['GET', '/api/pool'], ['GET', '/api/containers'], ['POST', '/api/containers'], ['GET', `/api/containers/${web.id}`],
    ['DELETE', `/api/containers/${web.id}`], ['GET', `/api/containers/${ssh.id}/credentials`], ['GET', `/api/containers/${web.id}/files`],
    ['POST', `/api/containers/${web.id}/files`], ['DELETE', `/api/containers/${web.id}/files/index.html`], ['GET', '/api/me'], ['GET', '/api/tokens'], ['GET', '/api/me/keys'],
  ]) {
    const reply = await anon.call(method, path);
    t.is(reply.status, 401, `${method} ${path}`);
    t.regex(reply.body.error, /log in/);
  }
});

test('When the owner asks for ssh credentials, then they get the login and password; web containers have none', async (t) => {
  const creds = await alice.get(`/api/containers/${ssh.id}/credentials`);
  t.is(creds.status, 200);
  t.is(creds.body.username, 'user');
  t.true(creds.body.password.length >= 12);
  t.is(creds.body.ssh, `ssh -p ${ssh.host_port} user@127.0.0.1`);
  t.is(ssh.ssh, creds.body.ssh);
  t.is(creds.headers.get('cache-control'), 'no-store');
  const webCreds = await alice.get(`/api/containers/${web.id}/credentials`);
  t.is(webCreds.status, 400);

  // The saved key (PoolDeps.userKeys) and the password both open the container.
  if (!has('ssh') || !has('sshpass')) {
    t.log('ssh or sshpass is not installed: the logins themselves were not tried');
    return;
  }
  const byKey = execFileSync('ssh', [...sshOptions(ssh.host_port), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', keyFile, 'user@127.0.0.1', 'echo key-ok'], { timeout: 20_000 }).toString();
  t.is(byKey.trim(), 'key-ok');
  const byPassword = execFileSync('sshpass', ['-e', 'ssh', ...sshOptions(ssh.host_port), '-o', 'PubkeyAuthentication=no', 'user@127.0.0.1', 'echo password-ok'], { timeout: 20_000, env: { ...process.env, SSHPASS: creds.body.password } }).toString();
  t.is(byPassword.trim(), 'password-ok');
});

test('When another user releases or lists, then only their own containers are affected', async (t) => {
  const own = await bob.post('/api/containers', { type: 'nginx' });
  t.is(own.status, 201);
  t.deepEqual((await bob.get('/api/containers')).body.containers.map((c: { id: number }) => c.id), [own.body.container.id]);
  t.is((await alice.del(`/api/containers/${own.body.container.id}`)).status, 404, "alice cannot release bob's");
  t.is((await bob.del(`/api/containers/${own.body.container.id}`)).status, 200);
  t.is((await alice.get(`/api/containers/${web.id}`)).status, 200, "alice's still there");
});
